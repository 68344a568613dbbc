"""Alembic environment: runs on the connection handed over by ``api.store.db.migrate``."""

from __future__ import annotations

from alembic import context

from api.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through api.store.db.migrate
    raise RuntimeError("run migrations through api.store.db.migrate(engine)")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
