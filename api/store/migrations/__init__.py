"""Alembic migrations of the record store (``api.store.db.migrate`` runs them)."""
