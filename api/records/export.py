"""Auditor export bundles and offline verification.

A bundle is a ZIP written as a stream (sizes unknown up front, bounded memory for any count):

- ``records.jsonl``: one ledger entry a line, ``{"body", "call_id", "created_at", "erased",
  "integrity", "kind", "seq"}``; ``body`` is the stored canonical JSON (null when erased);
  or ``records.csv``: summary columns, ``body_json`` and the integrity columns.
- ``manifest.json``: ``schema: callqa.export/v1``, tenant, filters, format, count, the seq range
  and the hashes it starts after and ends with, the file's SHA-256 and size, the signing key and
  its signature over everything else.

The exported entries are one unbroken piece of the tenant's chain, so a bundle verifies alone.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal
from zipfile import ZIP_DEFLATED, BadZipFile, ZipFile

from api.store.db import Store
from api.store.integrity import (
    ChainLink,
    ChainReport,
    Keyring,
    Problem,
    Signer,
    check_signature,
    document_message,
    iso,
    keyring,
    verify_chain,
)
from api.store.ledger import iter_entries, seq_range
from api.store.schema import LedgerEntry
from pipelines.core.errors import ConfigError
from pipelines.record.schema import canonical_json, utc_now

logger = logging.getLogger(__name__)

SCHEMA = "callqa.export/v1"
MANIFEST = "manifest.json"
Format = Literal["jsonl", "csv"]
FILES: dict[str, Format] = {"records.jsonl": "jsonl", "records.csv": "csv"}
CSV_COLUMNS = (
    "seq", "kind", "call_id", "created_at", "erased_at", "erasure_reason",
    "duration_s", "languages", "score", "passed", "topic",
    "content_sha256", "prev_sha256", "signature", "key_id", "body_json",
)  # fmt: skip


class _Sink:
    """A write-only, non-seekable file for ZipFile that hands its bytes out in chunks."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts, self.size = [], 0
        return data


def _jsonl_line(entry: LedgerEntry) -> bytes:
    rest = {
        "call_id": entry.call_id,
        "created_at": iso(entry.created_at),
        "erased": (
            {"at": iso(entry.erased_at), "reason": entry.erasure_reason}
            if entry.erased_at is not None
            else None
        ),
        "integrity": {
            "content_sha256": entry.content_sha256,
            "key_id": entry.key_id,
            "prev_sha256": entry.prev_sha256,
            "signature": entry.signature,
        },
        "kind": entry.kind,
        "seq": entry.seq,
    }
    # the body goes in as stored, byte for byte; "body" sorts first, so the line stays canonical
    body = entry.body if entry.body is not None else "null"
    return b'{"body":' + body.encode("utf-8") + b"," + canonical_json(rest)[1:] + b"\n"


def _summary(body: Mapping[str, Any]) -> list[Any]:
    compliance = body.get("compliance") or {}
    topics = body.get("topics") or [{}]
    return [
        (body.get("audio") or {}).get("duration_s", ""),
        ";".join(body.get("languages") or ()),
        compliance.get("score", ""),
        compliance.get("passed", ""),
        topics[0].get("label", ""),
    ]


def _csv_line(entry: LedgerEntry) -> bytes:
    body = json.loads(entry.body) if entry.body is not None else {}
    summary = _summary(body) if entry.kind == "record" else [""] * 5
    row = [
        entry.seq,
        entry.kind,
        entry.call_id,
        iso(entry.created_at),
        iso(entry.erased_at) if entry.erased_at is not None else "",
        entry.erasure_reason or "",
        *summary,
        entry.content_sha256,
        entry.prev_sha256 or "",
        entry.signature,
        entry.key_id,
        entry.body or "",
    ]
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(row)
    return text.getvalue().encode("utf-8")


def iter_bundle_chunks(
    store: Store,
    tenant: str,
    from_: datetime | None,
    to: datetime | None,
    fmt: Format,
    signer: Signer,
    *,
    chunk_size: int = 1 << 16,
) -> Iterator[bytes]:
    """The bundle's bytes, in chunks of about ``chunk_size``, read from the store as written."""
    name = next(file for file, kind in FILES.items() if kind == fmt)
    sink = _Sink()
    digest = hashlib.sha256()
    size = count = 0
    first: LedgerEntry | None = None
    last: LedgerEntry | None = None
    with store.session() as session, ZipFile(sink, "w", ZIP_DEFLATED) as archive:
        with archive.open(name, "w", force_zip64=True) as member:
            if fmt == "csv":
                header = ",".join(CSV_COLUMNS).encode() + b"\n"
                member.write(header)
                digest.update(header)
                size += len(header)
            span = seq_range(session, tenant, from_, to)
            entries = iter_entries(session, tenant, *span) if span else iter(())
            for entry in entries:
                line = _jsonl_line(entry) if fmt == "jsonl" else _csv_line(entry)
                member.write(line)
                digest.update(line)
                size += len(line)
                count += 1
                first = first or entry
                last = entry
                if sink.size >= chunk_size:
                    yield sink.take()
        manifest: dict[str, Any] = {
            "schema": SCHEMA,
            "tenant": tenant,
            "created_at": utc_now(),
            "filters": {"from": iso(from_) if from_ else None, "to": iso(to) if to else None},
            "format": fmt,
            "count": count,
            "first_seq": first.seq if first else None,
            "last_seq": last.seq if last else None,
            "first_prev_sha256": first.prev_sha256 if first else None,
            "last_sha256": last.content_sha256 if last else None,
            "file": {"name": name, "sha256": digest.hexdigest(), "bytes": size},
            "key_id": signer.key_id,
            "algorithm": signer.algorithm,
            "public_key": signer.public_key,
        }
        manifest["signature"] = signer.sign(document_message(manifest))
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    yield sink.take()
    logger.info("exported %d entries of tenant %s", count, tenant)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What was checked and the first problem found, if any."""

    source: str
    chains: tuple[ChainReport, ...]

    @property
    def failure(self) -> ChainReport | None:
        return next((chain for chain in self.chains if chain.problem is not None), None)

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def count(self) -> int:
        return sum(chain.count for chain in self.chains)


def _bundle_link(fmt: Format, line: bytes) -> ChainLink:
    """One bundle line as a chain link; ValueError when it does not parse."""
    if fmt == "jsonl":
        item = json.loads(line)
        body, integrity = item["body"], item["integrity"]
        body_sha = hashlib.sha256(canonical_json(body)).hexdigest() if body is not None else None
        covers = body.get("seqs", ()) if item["kind"] == "erasure" and body else ()
        return ChainLink(
            seq=int(item["seq"]),
            kind=str(item["kind"]),
            subject=str(item["call_id"]),
            at=str(item["created_at"]),
            content_sha256=str(integrity["content_sha256"]),
            prev_sha256=integrity["prev_sha256"],
            signature=str(integrity["signature"]),
            key_id=str(integrity["key_id"]),
            computed_sha256=body_sha,
            erased=item["erased"] is not None,
            covers=tuple(int(seq) for seq in covers),
        )
    row = dict(zip(CSV_COLUMNS, next(csv.reader([line.decode("utf-8")])), strict=True))
    body_json = row["body_json"]
    return ChainLink(
        seq=int(row["seq"]),
        kind=row["kind"],
        subject=row["call_id"],
        at=row["created_at"],
        content_sha256=row["content_sha256"],
        prev_sha256=row["prev_sha256"] or None,
        signature=row["signature"],
        key_id=row["key_id"],
        computed_sha256=hashlib.sha256(body_json.encode()).hexdigest() if body_json else None,
        erased=bool(row["erased_at"]),
    )


class _Lines:
    """The member's lines as chain links, hashing every byte read; stops at a bad line."""

    def __init__(self, member: IO[bytes], fmt: Format) -> None:
        self.member, self.fmt = member, fmt
        self.digest, self.size, self.bad = hashlib.sha256(), 0, ""

    def __iter__(self) -> Iterator[ChainLink]:
        for number, line in enumerate(self.member, start=1):
            self.digest.update(line)
            self.size += len(line)
            if self.fmt == "csv" and number == 1:
                continue  # the header
            try:
                yield _bundle_link(self.fmt, line)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                self.bad = f"line {number} does not parse ({type(exc).__name__})"
                return


def _read_manifest(archive: ZipFile) -> dict[str, Any] | Problem:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except (ValueError, UnicodeDecodeError):
        return Problem("altered", None, None, "manifest.json is not JSON")
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        return Problem("altered", None, None, f"manifest.json is not a {SCHEMA} manifest")
    return manifest


def verify_bundle(path: Path, signers: Iterable[Signer]) -> VerifyReport:
    """Check a bundle: the manifest's signature, every entry's hash, link and signature, and the
    file's hash and size. ConfigError when ``path`` is not a bundle at all."""
    keys = keyring(signers)
    try:
        archive = ZipFile(path)
    except (BadZipFile, OSError) as exc:
        raise ConfigError(f"{path} is not an export bundle ({exc})") from exc
    with archive:
        names = set(archive.namelist())
        name = next((file for file in FILES if file in names), None)
        if MANIFEST not in names or name is None:
            raise ConfigError(f"{path} is not an export bundle (no manifest or records)")
        manifest = _read_manifest(archive)
        if isinstance(manifest, Problem):
            return VerifyReport(str(path), (ChainReport("?", "export", 0, None, None, manifest),))
        report = _verify_members(archive, name, manifest, keys)
    return VerifyReport(str(path), (report,))


def _verify_members(
    archive: ZipFile, name: str, manifest: Mapping[str, Any], keys: Keyring
) -> ChainReport:
    tenant = str(manifest.get("tenant"))

    def failed(problem: Problem, count: int = 0) -> ChainReport:
        return ChainReport(tenant, "export", count, None, None, problem)

    why = check_signature(
        keys, manifest.get("key_id"), document_message(manifest), manifest.get("signature")
    )
    if why:
        return failed(Problem("altered", None, None, f"manifest: {why}"))
    file = manifest.get("file") or {}
    if file.get("name") != name or manifest.get("format") != FILES[name]:
        return failed(Problem("altered", None, None, f"{name} is not the file the manifest signs"))
    first_seq, last_seq = manifest.get("first_seq"), manifest.get("last_seq")
    start = (int(first_seq or 1), manifest.get("first_prev_sha256"))
    end = (int(last_seq), manifest.get("last_sha256")) if last_seq is not None else (0, None)
    with archive.open(name) as member:
        lines = _Lines(member, FILES[name])
        report = verify_chain(
            lines, keys, tenant=tenant, chain="export", start=start, end=end, require_cover=False
        )
    if lines.bad:
        return failed(Problem("altered", None, None, f"{name}: {lines.bad}"), report.count)
    if report.problem is not None:
        return report
    if lines.digest.hexdigest() != file.get("sha256") or lines.size != file.get("bytes"):
        return failed(Problem("altered", None, None, f"{name} differs from its signed hash"))
    if report.count != manifest.get("count"):
        return failed(Problem("altered", None, None, "count differs from the manifest"))
    return report


def verify_store(store: Store, signers: Iterable[Signer]) -> VerifyReport:
    """Check every tenant's ledger and audit chain against their signed heads, and their
    call rows against their seals and the ledger."""
    from sqlalchemy import select, union

    from api.store.audit import verify_audit
    from api.store.ledger import verify_ledger
    from api.store.schema import AuditEntry, Call, ChainHead
    from api.store.seals import verify_calls

    keys = keyring(signers)
    reports: list[ChainReport] = []
    with store.session() as session:
        tenants = session.scalars(
            union(
                select(LedgerEntry.tenant).distinct(),
                select(AuditEntry.tenant).distinct(),
                select(ChainHead.tenant).distinct(),
                select(Call.tenant).distinct(),
            )
        ).all()
        for tenant in sorted(tenants):
            reports.append(verify_ledger(session, tenant, keys))
            reports.append(verify_audit(session, tenant, keys))
            reports.append(verify_calls(session, tenant, keys))
    return VerifyReport(store.engine.url.render_as_string(hide_password=True), tuple(reports))
