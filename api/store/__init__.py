"""The record store: SQLite embedded by default, PostgreSQL by ``CALLQA_DATABASE_URL``."""
