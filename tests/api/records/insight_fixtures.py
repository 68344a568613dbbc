"""Calls stored as the worker stores them, with a summary, a topic, a caller and a date of
our choosing: the insight columns, contact pseudonyms, repeat contact and driver come from the
worker's own `api.jobs.insights.learn_from_call` (with the real MiniLM embedder)."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from api.http.deps import Services
from api.jobs.insights import learn_from_call
from api.jobs.runner import summary_columns
from api.store.contacts import remember_contacts
from api.store.ledger import append_record
from api.store.schema import Call
from api.store.seals import seal_call
from models.text_embedding import SentenceEmbedder
from tests.api.routes_fixtures import Env, real_record


def summary_of(reason: str, outcome: str = "resolved") -> dict[str, Any]:
    """A record's summary whose reason is ``reason`` (segment 1)."""
    return {
        "reason": {"text": reason, "segments": [1]},
        "actions": [],
        "follow_ups": [],
        "text": reason,
        "outcome": outcome,
        "outcome_segments": [],
        "language": "en",
        "english": None,
    }


def store_as_worker(
    services: Services,
    embedder: SentenceEmbedder,
    record: dict[str, Any],
    *,
    at: datetime,
    caller: str | None = None,
    metadata: dict[str, object] | None = None,
    redacted_audio: Path | None = None,
) -> str:
    """Store ``record`` (its ``id`` and ``tenant`` set) as the intake and the worker would:
    the caller keyed at intake, then insights, the ledger entry and the summary columns."""
    call_id, tenant = record["id"], record["tenant"]
    meta = dict(metadata or {})
    keys = services.pseudonyms().caller_keys(tenant, caller) if caller else ()
    with services.store.session() as session:
        audio = str(redacted_audio) if redacted_audio else None
        call = Call(id=call_id, tenant=tenant, created_at=at, status="running", source="upload")
        call.metadata_json, call.layout, call.redacted_audio_path = meta, record["layout"], audio
        session.add(call)
        remember_contacts(session, tenant, call_id, keys, at)  # at intake
        session.flush()
        window_days = services.settings.service.repeat_window_days
        learn_from_call(session, tenant, call_id, record, (), meta, embedder, window_days)
        entry = append_record(session, tenant, call_id, record, services.signer)
        for column, value in summary_columns(record, meta).items():
            setattr(call, column, value)
        call.status, call.record_seq = "done", entry.seq
        seal_call(call, services.signer)
    return str(call_id)


def store_insight_call(
    env: Env,
    embedder: SentenceEmbedder,
    *,
    at: datetime,
    reason: str,
    outcome: str = "resolved",
    topic: str = "returns",
    caller: str | None = None,
    tenant: str = "acme",
    agent: str = "agent-7",
    metadata: dict[str, object] | None = None,
) -> str:
    record = real_record("compliant-return", uuid.uuid4().hex, tenant)
    record["summary"] = summary_of(reason, outcome)
    record["topics"] = [{"label": topic, "score": 1.0}]
    meta: dict[str, object] = {"agent": agent, **(metadata or {})}
    return store_as_worker(env.services, embedder, record, at=at, caller=caller, metadata=meta)
