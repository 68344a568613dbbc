"""Calls stored as the worker stores them, with a summary, a topic, a caller and a date of
our choosing: the insight columns, contact pseudonyms, repeat contact and driver come from the
worker's own `api.jobs.insights.add_insights` (with the real MiniLM embedder)."""

from __future__ import annotations

import uuid
from datetime import datetime

from api.jobs.insights import InsightInput, add_insights
from api.jobs.runner import summary_columns
from api.store.contacts import remember_contacts
from api.store.heads import lock_head
from api.store.ledger import CHAIN, append_record
from api.store.schema import Call
from api.store.seals import seal_call
from models.text_embedding import SentenceEmbedder
from pipelines.analytics.drivers import DriverOptions
from tests.api.routes_fixtures import Env, real_record


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
    call_id = uuid.uuid4().hex
    record = real_record("compliant-return", call_id, tenant)
    record["summary"] = {
        "reason": {"text": reason, "segments": [1]},
        "actions": [],
        "follow_ups": [],
        "text": reason,
        "outcome": outcome,
        "outcome_segments": [],
        "language": "en",
        "english": None,
    }
    record["topics"] = [{"label": topic, "score": 1.0}]
    meta: dict[str, object] = {"agent": agent, **(metadata or {})}
    services = env.services
    keys = services.pseudonyms().caller_keys(tenant, caller) if caller else ()
    with services.store.session() as session:
        call = Call(id=call_id, tenant=tenant, created_at=at, status="running", source="upload",
                    metadata_json=meta, layout=record["layout"])  # fmt: skip
        session.add(call)
        remember_contacts(session, tenant, call_id, keys, at)  # at intake
        session.flush()
        lock_head(session, tenant, CHAIN)
        given = InsightInput(tenant, call_id, at, (), meta, "upload")
        add_insights(session, call, record, given, embedder, 7, DriverOptions())
        entry = append_record(session, tenant, call_id, record, services.signer)
        for column, value in summary_columns(record, meta).items():
            setattr(call, column, value)
        call.status, call.record_seq = "done", entry.seq
        seal_call(call, services.signer)
    return call_id
