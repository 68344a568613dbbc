"""The record store: SQLite embedded by default, PostgreSQL by ``CALLQA_DATABASE_URL``."""

KEY_PREFIX = "cqa_"  # API keys start with it (`api.store.keys`); logs mask what follows
