"""Re-scoring stored calls without re-transcribing: one call (``POST /v1/calls/{id}/rescore``)
or every stored call of a policy (``POST /v1/policies/{id}/rescore``, a durable job).

A re-score checks the call's *current* transcript and verdict (its newest re-score, else its
analysis) against the target policy version and is appended to the ledger as a ``rescore``
entry; the call's row is refreshed in the same transaction (`api.store.verdicts`). A policy-wide
job skips calls whose current verdict already is that version, so a retried job never scores a
call twice; a dry run stores nothing and reports what would change, with example calls.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.store.db import Store
from api.store.heads import now_utc
from api.store.ledger import RESCORE, append_annotation, find_record
from api.store.policies import latest_policy, stored_policy
from api.store.schema import Call
from api.store.verdicts import overrides_of, refresh_verdict, rescores_of
from api.store.vocabulary import current_vocabulary
from pipelines.compliance.policy import Policy
from pipelines.compliance.vocabulary import Vocabulary, with_vocabulary
from pipelines.core.errors import InvalidRequestError, NotFoundError, PolicyError
from pipelines.record.rescore import Rescore, rescore
from pipelines.record.verdicts import with_current

if TYPE_CHECKING:
    from api.store.integrity import Signer
    from pipelines.compliance.checker import ComplianceChecker

logger = logging.getLogger(__name__)

MAX_EXAMPLES = 5  # example calls per changed rule in a report
MAX_SKIPPED = 20  # calls named among the skipped ones


@dataclass(frozen=True, slots=True)
class Target:
    """The policy version calls are re-scored against (``version``: its stored version)."""

    policy: Policy  # widened by the tenant's vocabulary
    version: int
    vocabulary: Vocabulary = field(default_factory=Vocabulary)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.policy.id, "version": self.version, "sha256": self.policy.sha256}


def resolve_target(session: Session, tenant: str, policy_id: str, version: int | None) -> Target:
    """A stored policy version (the newest when ``version`` is None); 404 when unknown."""
    try:
        number = version if version is not None else latest_policy(session, tenant, policy_id)
        policy = stored_policy(session, tenant, policy_id, number)
    except (InvalidRequestError, PolicyError) as exc:
        raise NotFoundError(str(exc)) from exc
    assert policy is not None
    words = current_vocabulary(session, tenant)  # as an analysis started now would match
    return Target(with_vocabulary(policy, words), number, words)


@dataclass(frozen=True, slots=True)
class Scored:
    """A stored call's record, its re-scores so far, and its re-score against a target."""

    record: dict[str, Any]
    rescores: list[dict[str, Any]]
    result: Rescore

    @property
    def passed_before(self) -> bool | None:
        """The machine's verdict before this re-score (its newest re-score, else analysis)."""
        current = with_current(self.record, self.rescores).get("compliance")
        return current.get("passed") if isinstance(current, Mapping) else None


def score_stored(
    session: Session, tenant: str, call_id: str, target: Target, checker: ComplianceChecker
) -> Scored:
    """The call re-scored against ``target`` (changes against its current verdict), not kept;
    NotFoundError/InvalidRequestError when it has no record or transcript to score."""
    entry = find_record(session, tenant, call_id)
    if entry is None or entry.body is None:
        raise NotFoundError(f"call {call_id} has no stored record")
    record = json.loads(entry.body)
    rescores = rescores_of(session, tenant, call_id)
    result = rescore(with_current(record, rescores), target.policy, checker)
    return Scored(record, rescores, result)


def keep_rescore(
    session: Session, call: Call, scored: Scored, target: Target, signer: Signer, by: str
) -> dict[str, Any]:
    """Keep a re-score (a signed ``rescore`` entry) and refresh the call's row; answers
    ``{call_id, policy, score, passed, checks, changes, policy_version, pass_score, by, at,
    seq}``."""
    from api.store.integrity import iso

    body = {
        **scored.result.outcome(),
        "policy_version": target.version,
        "pass_score": target.policy.pass_score,
        "vocabulary": target.vocabulary.provenance() if target.vocabulary.version else None,
        "by": by,
        "at": iso(now_utc()),
    }
    entry = append_annotation(session, call.tenant, call.id, RESCORE, body, signer)
    kept = {**body, "seq": entry.seq}
    overrides = overrides_of(session, call.tenant, call.id)
    refresh_verdict(session, call, scored.record, [*scored.rescores, kept], overrides)
    return {"call_id": call.id, **kept}


@dataclass
class Report:
    """What a policy-wide re-score did, or (dry run) would do."""

    target: Target
    dry_run: bool
    calls: int = 0
    rescored: int = 0
    already_current: int = 0
    verdicts_changed: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    skipped_count: int = 0
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, call_id: str, result: Rescore, passed_before: bool | None) -> None:
        self.rescored += 1
        if result.compliance.get("passed") != passed_before:
            self.verdicts_changed += 1
        for change in result.changes:
            rule = self.rules.setdefault(
                change.rule_id, {"changed": 0, "to_pass": 0, "to_fail": 0, "examples": []}
            )
            rule["changed"] += 1
            rule["to_pass"] += change.after is True
            rule["to_fail"] += change.after is False
            if len(rule["examples"]) < MAX_EXAMPLES:
                rule["examples"].append(
                    {"call_id": call_id, "before": change.before, "after": change.after}
                )

    def skip(self, call_id: str, reason: str) -> None:
        self.skipped_count += 1
        if len(self.skipped) < MAX_SKIPPED:
            self.skipped.append({"call_id": call_id, "reason": reason})

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy": self.target.as_dict(),
            "dry_run": self.dry_run,
            "calls": self.calls,
            "rescored" if not self.dry_run else "would_rescore": self.rescored,
            "already_current": self.already_current,
            "verdicts_changed": self.verdicts_changed,
            "rules": dict(sorted(self.rules.items(), key=lambda kv: (-kv[1]["changed"], kv[0]))),
            "skipped": self.skipped_count,
            "skipped_calls": self.skipped,
        }


def matching_calls(
    session: Session, tenant: str, policy_id: str, start: datetime | None, end: datetime | None
) -> list[str]:
    """The ids of the tenant's stored calls whose current verdict is of ``policy_id``, in the
    window, oldest first."""
    query = select(Call.id).where(
        Call.tenant == tenant, Call.status == "done", Call.verdict_policy_id == policy_id
    )
    if start is not None:
        query = query.where(Call.created_at >= start)
    if end is not None:
        query = query.where(Call.created_at < end)
    return list(session.scalars(query.order_by(Call.created_at, Call.id)))


def _bound(params: Mapping[str, Any], name: str) -> datetime | None:
    value = params.get(name)
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def run_policy_rescore(
    store: Store,
    tenant: str,
    params: Mapping[str, Any],
    checker: ComplianceChecker,
    signer: Signer,
    progress: Callable[[float], None] = lambda fraction: None,
) -> dict[str, Any]:
    """Re-score every matching call (one transaction each), or only report (``dry_run``)."""
    from api.store.integrity import as_utc

    dry_run = bool(params.get("dry_run"))
    policy_id = str(params["policy_id"])
    with store.session() as session:
        target = resolve_target(session, tenant, policy_id, params.get("version"))
        start, end = _bound(params, "from"), _bound(params, "to")
        ids = matching_calls(
            session, tenant, policy_id, as_utc(start) if start else None,
            as_utc(end) if end else None,
        )  # fmt: skip
    report = Report(target, dry_run, calls=len(ids))
    for done, call_id in enumerate(ids):
        progress(done / max(len(ids), 1))
        with store.session() as session:
            call = session.get(Call, call_id)
            if call is None or call.status != "done":
                report.skip(call_id, "no longer stored")
                continue
            if (call.verdict_policy_id, call.verdict_policy_version) == (policy_id, target.version):
                report.already_current += 1
                continue
            try:
                scored = score_stored(session, tenant, call_id, target, checker)
            except (NotFoundError, InvalidRequestError) as exc:
                report.skip(call_id, str(exc))
                continue
            if not dry_run:
                keep_rescore(session, call, scored, target, signer, str(params["by"]))
            report.add(call_id, scored.result, scored.passed_before)
    progress(1.0)
    logger.info(
        "rescore of %s v%d for %s: %d calls, %d %s, %d verdicts changed",
        policy_id, target.version, tenant, report.calls, report.rescored,
        "would change" if dry_run else "re-scored", report.verdicts_changed,
    )  # fmt: skip
    return report.as_dict()
