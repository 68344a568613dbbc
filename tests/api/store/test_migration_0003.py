"""Revision 0003 on a store made by 0002: calls already scored get their verdict's policy,
the new tables and columns exist, and nothing stored before is lost."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from api.store.db import MIGRATIONS, make_engine, migrate


def upgrade_to(engine: sa.Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_upgrade_from_0002_fills_the_current_verdict_policy(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade_to(engine, "0002")
    insert = sa.text(
        "INSERT INTO calls (id, tenant, created_at, status, source, policy_id, policy_version,"
        " score, passed) VALUES (:id, 'acme', '2026-12-01 10:00:00', 'done', 'upload', :policy,"
        " :version, :score, :passed)"
    )
    with engine.begin() as connection:
        connection.execute(insert, {"id": "a" * 32, "policy": "p", "version": 2, "score": 90.0,
                                    "passed": True})  # fmt: skip
        connection.execute(insert, {"id": "b" * 32, "policy": "p", "version": 2, "score": None,
                                    "passed": None})  # fmt: skip
    migrate(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT id, verdict_policy_id, verdict_policy_version, close_calls, score"
                    " FROM calls ORDER BY id")
        ).all()  # fmt: skip
        assert [tuple(row) for row in rows] == [
            ("a" * 32, "p", 2, None, 90.0),  # scored: its verdict is its analysis'
            ("b" * 32, None, None, None, None),  # never scored: no verdict
        ]
        tables = set(sa.inspect(connection).get_table_names())
        jobs = {c["name"] for c in sa.inspect(connection).get_columns("jobs")}
    assert "vocabularies" in tables and {"params", "result"} <= jobs
    engine.dispose()
