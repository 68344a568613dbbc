"""Shared fixtures: real clips from tests/data and real models loaded once per session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from api.store.db import Store, migrate  # noqa: E402
from pipelines.batch import CallPipeline  # noqa: E402
from pipelines.core.settings import Settings  # noqa: E402
from pipelines.registry import build_pipeline  # noqa: E402

if TYPE_CHECKING:
    from models.text_embedding import SentenceEmbedder


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def base_pipeline(settings: Settings) -> CallPipeline:
    """The default pipeline: whisper base (multilingual), loaded once."""
    return build_pipeline(settings)


# storage: every storage test runs on an SQLite file and on the PostgreSQL server
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_schema_url() -> Iterator[str]:
    """A URL whose connections live in a fresh schema, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty database: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'callqa.db'}"
    else:
        yield from postgres_schema_url()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated, empty store over ``database_url``."""
    opened = Store(database_url)
    migrate(opened.engine)
    yield opened
    opened.dispose()


@pytest.fixture(scope="session")
def embedder() -> Iterator[SentenceEmbedder]:
    """MiniLM for the compliance and topic tests, loaded once."""
    from models.text_embedding import SentenceEmbedder

    yield SentenceEmbedder(threads=1)  # one thread: the cores are shared with other workers
