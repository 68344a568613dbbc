"""An API on a real store (SQLite file or PostgreSQL schema) with keys of two tenants and
real stored records (``tests/data/records``), for the record, analytics and policy routes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.http.app import create_app
from api.http.deps import Services
from api.jobs.runner import summary_columns
from api.store.keys import create_key
from api.store.ledger import append_record
from api.store.schema import Call, Job
from api.store.seals import seal_call
from pipelines.core.settings import ServiceSettings, Settings

RECORDS = Path(__file__).resolve().parents[1] / "data" / "records"
ADMIN = "cqa_routes-admin-key-0123456789abcdefghijklmnop"
ROLES = ("admin", "qa_analyst", "auditor", "ingest")
TENANTS = ("acme", "globex")
REDACTED_WAV = b"RIFF-redacted-audio"
UPLOAD_BYTES = b"RIFF-original-upload-with-card-4111111111111111"


def real_record(name: str, call_id: str, tenant: str) -> dict[str, Any]:
    """A record ``callqa analyze`` wrote for a test call, as another call of ``tenant``."""
    record: dict[str, Any] = json.loads((RECORDS / f"{name}.json").read_text(encoding="utf-8"))
    record.update(id=call_id, tenant=tenant)
    record.pop("integrity", None)
    return record


@dataclass
class Env:
    client: TestClient
    services: Services
    keys: dict[tuple[str, str], dict[str, str]]  # (tenant, role) -> headers

    def as_(self, role: str, tenant: str = "acme") -> dict[str, str]:
        return self.keys[(tenant, role)]

    @property
    def audio_root(self) -> Path:
        return self.services.settings.data_path / "audio"

    def store_call(
        self,
        name: str = "compliant-return",
        *,
        tenant: str = "acme",
        agent: str | None = "agent-7",
        created_at: datetime | None = None,
        edit: dict[str, Any] | None = None,
        call_id: str | None = None,
    ) -> str:
        """A call whose record is stored, as the worker leaves it: ledger entry, summary
        columns, upload and redacted audio on disk, a sealed row."""
        call_id = call_id or uuid.uuid4().hex
        record = real_record(name, call_id, tenant)
        record.update(edit or {})
        folder = self.audio_root / tenant
        folder.mkdir(parents=True, exist_ok=True)
        upload, redacted = folder / f"{call_id}.upload", folder / f"{call_id}.redacted.wav"
        upload.write_bytes(UPLOAD_BYTES)
        redacted.write_bytes(REDACTED_WAV)
        metadata = {"agent": agent} if agent else {}
        with self.services.store.session() as session:
            entry = append_record(session, tenant, call_id, record, self.services.signer)
            call = Call(
                id=call_id,
                tenant=tenant,
                created_at=created_at or datetime.now(UTC),
                status="done",
                source="upload",
                filename=f"{name}.wav",
                audio_path=str(upload),
                size_bytes=len(UPLOAD_BYTES),
                format="wav",
                metadata_json=metadata,
                layout=record["layout"],
                redacted_audio_path=str(redacted),
                record_seq=entry.seq,
                **summary_columns(record, metadata),
            )
            seal_call(call, self.services.signer)
            session.add(call)
        return call_id

    def pending_call(
        self,
        status: str = "running",
        tenant: str = "acme",
        call_id: str | None = None,
        **job: Any,
    ) -> str:
        """A call whose job has not stored a record (queued, running or failed)."""
        call_id, now = call_id or uuid.uuid4().hex, datetime.now(UTC)
        with self.services.store.session() as session:
            call = Call(id=call_id, tenant=tenant, created_at=now, status=status, source="upload")
            seal_call(call, self.services.signer)
            session.add(call)
            session.add(
                Job(
                    id=uuid.uuid4().hex,
                    tenant=tenant,
                    call_id=call_id,
                    status=status,
                    progress=job.pop("progress", 0.0),
                    attempts=1,
                    created_at=now,
                    updated_at=now,
                    lease_until=now + timedelta(minutes=5) if status == "running" else None,
                    **job,
                )
            )
        return call_id


def make_env(tmp_path: Path, database_url: str | None = None, **service: Any) -> Iterator[Env]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        admin_key=SecretStr(ADMIN),
        signing_key=SecretStr("hmac:routes-test-secret"),
        service=ServiceSettings(workers=0, **service),
    )
    with TestClient(create_app(settings, workers=0)) as client:
        services: Services = client.app.state.services  # type: ignore[attr-defined]
        keys: dict[tuple[str, str], dict[str, str]] = {}
        with services.store.session() as session:
            for tenant in TENANTS:
                for role in ROLES:
                    clear = create_key(
                        session, f"{tenant}-{role}", tenant, [role], created_by="test"
                    )
                    keys[(tenant, role)] = {"Authorization": f"Bearer {clear}"}
        yield Env(client, services, keys)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    """The API on an SQLite file in ``tmp_path``."""
    yield from make_env(tmp_path)


@pytest.fixture
def any_db_env(tmp_path: Path, database_url: str) -> Iterator[Env]:
    """The API on an SQLite file, then on a fresh PostgreSQL schema."""
    yield from make_env(tmp_path, database_url)


def error_of(answer: Any) -> tuple[int, str]:
    """The status and error code of an error answer (the JSON error body is checked)."""
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return answer.status_code, body["error"]["code"]
