"""Revision 0004 on a store made by 0003: the insight columns and tables exist, calls stored
before keep everything (their new columns empty), and it downgrades cleanly."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from api.store.db import MIGRATIONS, make_engine, migrate
from tests.api.store.test_migration_0003 import upgrade_to


def test_upgrade_from_0003_keeps_calls_and_adds_insights(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade_to(engine, "0003")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO calls (id, tenant, created_at, status, source, topic, score, passed)"
                " VALUES ('c1', 'acme', '2026-12-01 10:00:00', 'done', 'upload', 'returns',"
                " 90.0, 1)"
            )
        )
    migrate(engine)
    with engine.connect() as connection:
        row = connection.execute(
            sa.text("SELECT topic, score, outcome, driver_id, repeat_of, language FROM calls")
        ).one()
        inspector = sa.inspect(connection)
        tables = set(inspector.get_table_names())
        columns = {c["name"] for c in inspector.get_columns("calls")}
    assert tuple(row) == ("returns", 90.0, None, None, None, None)
    assert {"drivers", "contact_keys"} <= tables
    assert {"reason", "reason_vector", "accent_group", "channel", "asr_confidence"} <= columns
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    with engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        columns = {c["name"] for c in sa.inspect(connection).get_columns("calls")}
    assert "drivers" not in tables and "contact_keys" not in tables and "outcome" not in columns
    engine.dispose()
