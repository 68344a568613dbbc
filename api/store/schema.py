"""Tables of the record store (SQLAlchemy 2, typed ORM). Migrations live in ``migrations/``.

Every row carries its tenant; nothing is ever read without a tenant filter.

- ``ledger``: the tamper-evident chain per tenant. ``kind`` is ``record`` (an interaction
  record), ``review`` (a review override), ``rescore`` (a stored call scored again against
  another policy version) or ``erasure``. ``body`` is the canonical JSON the
  ``content_sha256`` covers; erasure sets it to NULL and keeps the hashes (a tombstone).
- ``audit``: append-only, hash-chained log of reads, exports, overrides and deletions.
- ``chain_heads``: the signed last hash and length of each chain (catches a removed tail)
  and the row writers lock to append one at a time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Tenant(Base):
    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    retention_days: Mapped[int | None] = mapped_column(Integer)
    score_agents: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("tenant", "name", name="uq_api_keys_tenant_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))  # unique within its tenant
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    roles: Mapped[str] = mapped_column(String(128))  # comma-separated
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Call(Base):
    """An uploaded or streamed call and the searchable summary of its record.

    ``seal`` signs what the row says of the call's origin and fate (`api.call_seal`), so
    ``callqa verify`` names a row rewritten outside the code paths that own it.
    """

    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("tenant", "idempotency_key", name="uq_calls_tenant_idempotency_key"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    status: Mapped[str] = mapped_column(String(16))  # live queued running done failed erased
    source: Mapped[str] = mapped_column(String(16), default="upload")  # upload | stream
    filename: Mapped[str | None] = mapped_column(String(255))
    audio_path: Mapped[str | None] = mapped_column(Text)
    audio_sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    format: Mapped[str | None] = mapped_column(String(32))
    metadata_json: Mapped[dict[str, object] | None] = mapped_column(JSON)
    policy_id: Mapped[str | None] = mapped_column(String(64))
    policy_version: Mapped[int | None] = mapped_column(Integer)
    layout: Mapped[str | None] = mapped_column(String(32))
    redacted_audio_path: Mapped[str | None] = mapped_column(Text)
    # searchable summary, filled when the record is stored
    agent: Mapped[str | None] = mapped_column(String(128), index=True)
    passed: Mapped[bool | None] = mapped_column(Boolean)  # the current verdict, as reviewed
    score: Mapped[float | None] = mapped_column(Float)
    # the policy of the current verdict (its analysis or newest re-score) and its close calls
    verdict_policy_id: Mapped[str | None] = mapped_column(String(64))
    verdict_policy_version: Mapped[int | None] = mapped_column(Integer)
    close_calls: Mapped[int | None] = mapped_column(Integer)
    topic: Mapped[str | None] = mapped_column(String(32))
    customer_emotion: Mapped[str | None] = mapped_column(String(16))
    negative_emotion: Mapped[bool | None] = mapped_column(Boolean)
    duration_s: Mapped[float | None] = mapped_column(Float)
    search_text: Mapped[str | None] = mapped_column(Text)  # redacted transcript
    record_seq: Mapped[int | None] = mapped_column(Integer)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the client's Idempotency-Key of the upload (a retried POST answers with this call)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    seal: Mapped[str | None] = mapped_column(String(256))
    seal_key_id: Mapped[str | None] = mapped_column(String(64))
    # what the contact center learns (api.records.insights): summary outcome, stated reason
    # (redacted, English) and its embedding, discovered driver, repeat contact, fairness groups
    outcome: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    reason_vector: Mapped[list[float] | None] = mapped_column(JSON)
    driver_id: Mapped[str | None] = mapped_column(String(32), index=True)
    repeat_of: Mapped[str | None] = mapped_column(String(64), index=True)
    repeat_days: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str | None] = mapped_column(String(16))
    accent_group: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(64))
    asr_confidence: Mapped[float | None] = mapped_column(Float)
    escalated: Mapped[bool | None] = mapped_column(Boolean)


class Driver(Base):
    """A discovered call driver: a cluster of customers' stated reasons. Its id never changes;
    calls join it by nearness to ``centroid`` (the mean of its members' unit embeddings)."""

    __tablename__ = "drivers"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    centroid: Mapped[list[float]] = mapped_column(JSON)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ContactKey(Base):
    """A keyed pseudonym (HMAC-SHA256 under the tenant's secret) of who called: the caller's
    number or an order, account or case number said in the call. Never the value itself."""

    __tablename__ = "contact_keys"
    __table_args__ = (
        UniqueConstraint("tenant", "key", "call_id", name="uq_contact_keys_tenant_key_call"),
        Index("ix_contact_keys_tenant_key", "tenant", "key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # caller | order | account | case
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="analyze")  # analyze | rescore
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued running done failed
    step: Mapped[str | None] = mapped_column(String(32))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    params: Mapped[dict[str, object] | None] = mapped_column(JSON)  # a re-score's request
    result: Mapped[dict[str, object] | None] = mapped_column(JSON)  # and its report


class LedgerEntry(Base):
    __tablename__ = "ledger"
    __table_args__ = (UniqueConstraint("tenant", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # record | review | rescore | erasure
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    # unique per record: a retried job can never store a call's record twice
    record_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    content_sha256: Mapped[str] = mapped_column(String(64))
    prev_sha256: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(256))
    key_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str | None] = mapped_column(Text)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    erasure_reason: Mapped[str | None] = mapped_column(Text)


class AuditEntry(Base):
    __tablename__ = "audit"
    __table_args__ = (
        UniqueConstraint("tenant", "seq"),
        Index("ix_audit_tenant_at", "tenant", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(String(255))
    origin: Mapped[str | None] = mapped_column(String(128))
    result: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, object] | None] = mapped_column(JSON)
    prev_sha256: Mapped[str | None] = mapped_column(String(64))
    entry_sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(256))
    key_id: Mapped[str] = mapped_column(String(64))


class ChainHead(Base):
    __tablename__ = "chain_heads"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    chain: Mapped[str] = mapped_column(String(16), primary_key=True)  # ledger | audit
    seq: Mapped[int] = mapped_column(Integer, default=0)
    head_sha256: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(String(256))
    key_id: Mapped[str | None] = mapped_column(String(64))


class Policy(Base):
    __tablename__ = "policies"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)  # the YAML or JSON as uploaded


class Vocabulary(Base):
    """A version of a tenant's own words: ``terms`` is ``[{term, spoken: [...]}]``."""

    __tablename__ = "vocabularies"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    terms: Mapped[list[dict[str, object]]] = mapped_column(JSON)
