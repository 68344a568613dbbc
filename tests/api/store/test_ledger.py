"""The ledger and audit chains on SQLite and PostgreSQL: every tampering is caught and named."""

from __future__ import annotations

import copy
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from api.store import audit, ledger
from api.store.db import Store
from api.store.integrity import ChainReport, Ed25519Signer, HmacSigner, Problem, Signer, keyring
from pipelines.record.schema import content_sha256

RECORD = Path(__file__).resolve().parents[2] / "data" / "records" / "greeting-mono.json"
SIGNER = Ed25519Signer.from_seed(bytes(range(32)))
KEYS = keyring([SIGNER])


def make_record(call_id: str, tenant: str = "acme") -> dict[str, Any]:
    """A real record of the greeting call (``callqa analyze``), as another call of ``tenant``."""
    record: dict[str, Any] = json.loads(RECORD.read_text())
    record.update(id=call_id, tenant=tenant)
    return record


def fill(store: Store, tenant: str, count: int, signer: Signer = SIGNER) -> None:
    with store.session() as session:
        for number in range(1, count + 1):
            call_id = f"call-{number}"
            ledger.append_record(session, tenant, call_id, make_record(call_id, tenant), signer)


def verify(store: Store, tenant: str = "acme") -> ChainReport:
    with store.session() as session:
        return ledger.verify_ledger(session, tenant, KEYS)


def sql(store: Store, statement: str, **params: Any) -> None:
    with store.engine.begin() as connection:
        connection.execute(text(statement), params)


def insert_row(store: Store, row: dict[str, Any]) -> None:
    row = {column: value for column, value in row.items() if column != "id"}
    names = ", ".join(row)
    sql(store, f"INSERT INTO ledger ({names}) VALUES ({', '.join(':' + c for c in row)})", **row)


def named(problem: Problem | None) -> tuple[str, int | None, str | None]:
    assert problem is not None, "no problem found"
    return (problem.kind, problem.seq, problem.call_id)


def body_of(store: Store, seq: int, tenant: str = "acme") -> str:
    with store.engine.connect() as connection:
        return str(
            connection.execute(
                text("SELECT body FROM ledger WHERE tenant = :t AND seq = :s"),
                {"t": tenant, "s": seq},
            ).scalar_one()
        )


def test_append_fills_integrity_and_is_idempotent(store: Store) -> None:
    record = make_record("call-1")
    with store.session() as session:
        first = ledger.append_record(session, "acme", "call-1", record, SIGNER)
    assert record["integrity"]["content_sha256"] == content_sha256(record) == first.content_sha256
    assert record["integrity"]["key_id"] == SIGNER.key_id and record["integrity"]["seq"] == 1
    retry = make_record("call-1")
    retry["created_at"] = "2030-01-01T00:00:00.000Z"  # a retried job produced another record
    with store.session() as session:
        again = ledger.append_record(session, "acme", "call-1", retry, SIGNER)
        served = ledger.record_dict(again)
    assert again.seq == 1 and retry == record == served  # the stored record, not the retry
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM ledger")).scalar_one() == 1
    with pytest.raises(ValueError, match="do not match"), store.session() as session:
        ledger.append_record(session, "other", "call-2", make_record("call-2"), SIGNER)


def test_reviews_and_erasure_keep_the_chain_verifying(store: Store) -> None:
    fill(store, "acme", 3)
    override: dict[str, Any] = {"rule_id": "greeting", "by": "ann", "at": "2024-05-01T10:00Z"}
    override.update(reason="heard it", value=True)
    with store.session() as session:
        review = ledger.append_review(session, "acme", "call-2", override, SIGNER)
        assert review.seq == 4 and json.loads(review.body or "")["reason"] == "heard it"
        with pytest.raises(LookupError):
            ledger.append_review(session, "acme", "nope", override, SIGNER)
    with store.session() as session:
        assert ledger.erase_call(session, "acme", "call-2", "GDPR request 17", "admin", SIGNER) == 2
        assert ledger.erase_call(session, "acme", "call-2", "again", "admin", SIGNER) == 0
    with store.session() as session:
        tombstone = ledger.find_record(session, "acme", "call-2")
        assert tombstone is not None and tombstone.body is None
        served = ledger.record_dict(tombstone)
        assert served["erased"]["reason"] == "GDPR request 17" and "segments" not in served
        assert served["integrity"]["content_sha256"] == tombstone.content_sha256
        kinds = [entry.kind for entry in ledger.iter_entries(session, "acme")]
    assert kinds == ["record", "record", "record", "review", "erasure"]
    report = verify(store)
    assert report.ok and report.count == 5, report.problem


@pytest.mark.parametrize(
    ("column", "change"),
    [
        ("body", lambda body: body.replace("Anna", "Anne", 1)),
        ("content_sha256", lambda digest: ("0" if digest[0] != "0" else "1") + digest[1:]),
        ("signature", lambda sig: ("A" if sig[0] != "A" else "B") + sig[1:]),
        ("call_id", lambda call_id: call_id + "x"),
        ("created_at", None),
    ],
)
def test_an_altered_entry_is_named(store: Store, column: str, change: Any) -> None:
    fill(store, "acme", 5)
    if column == "created_at":
        moved = datetime(2020, 1, 1, tzinfo=UTC)
        sql(store, "UPDATE ledger SET created_at = :t WHERE seq = 3", t=moved)
    else:
        with store.engine.connect() as connection:
            query = text(f"SELECT {column} FROM ledger WHERE seq = 3")
            value = connection.execute(query).scalar_one()
        sql(store, f"UPDATE ledger SET {column} = :v WHERE seq = 3", v=change(value))
    problem = verify(store).problem
    assert problem is not None and problem.kind == "altered" and problem.seq == 3, problem
    assert problem.call_id in ("call-3", "call-3x")


def test_one_changed_byte_of_a_body_is_caught(store: Store) -> None:
    fill(store, "acme", 4)
    body = body_of(store, 2)
    middle = len(body) // 2
    flipped = body[:middle] + chr(ord(body[middle]) ^ 1) + body[middle + 1 :]
    sql(store, "UPDATE ledger SET body = :b WHERE tenant = 'acme' AND seq = 2", b=flipped)
    problem = verify(store).problem
    assert named(problem) == ("altered", 2, "call-2")
    assert problem is not None and "hash" in problem.reason


@pytest.mark.parametrize("seq", [1, 3, 5])
def test_a_removed_entry_is_caught(store: Store, seq: int) -> None:
    fill(store, "acme", 5)
    sql(store, "DELETE FROM ledger WHERE tenant = 'acme' AND seq = :s", s=seq)
    problem = verify(store).problem
    assert problem is not None and problem.kind == "removed" and problem.seq == seq, problem


def test_removing_the_tail_and_rewinding_the_head_is_caught(store: Store) -> None:
    fill(store, "acme", 5)
    with store.engine.connect() as connection:
        prev = connection.execute(text("SELECT content_sha256 FROM ledger WHERE seq = 4")).scalar()
    sql(store, "DELETE FROM ledger WHERE seq = 5")
    sql(store, "UPDATE chain_heads SET seq = 4, head_sha256 = :h WHERE chain = 'ledger'", h=prev)
    problem = verify(store).problem
    assert problem is not None and problem.kind == "altered" and "head" in problem.reason


def test_a_forged_entry_is_caught(store: Store) -> None:
    fill(store, "acme", 3)
    forger = HmacSigner(b"not the key")
    with store.engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM ledger WHERE seq = 3")).mappings().one()
    fake = {**row, "seq": 4, "call_id": "forged", "record_key": "x" * 64}
    fake.update(prev_sha256=row["content_sha256"], key_id=forger.key_id)
    fake["signature"] = forger.sign(b"anything")
    insert_row(store, fake)
    problem = verify(store).problem
    assert named(problem) == ("inserted", 4, "forged")


def test_an_entry_copied_from_another_tenant_is_caught(store: Store) -> None:
    fill(store, "acme", 4)
    fill(store, "globex", 2)
    # make room at seq 3 of acme and slip globex's (validly signed) second entry in
    sql(store, "UPDATE ledger SET seq = seq + 100 WHERE tenant = 'acme' AND seq >= 3")
    sql(store, "UPDATE ledger SET seq = seq - 99 WHERE tenant = 'acme' AND seq >= 100")
    with store.engine.connect() as connection:
        query = text("SELECT * FROM ledger WHERE tenant = 'globex' AND seq = 2")
        row = dict(connection.execute(query).mappings().one())
    row.update(tenant="acme", seq=3, record_key="y" * 64)
    insert_row(store, row)
    problem = verify(store).problem
    assert problem is not None and (problem.kind, problem.seq) == ("inserted", 3), problem
    assert verify(store, "globex").ok


def test_erasure_faked_in_the_database_is_caught(store: Store) -> None:
    fill(store, "acme", 3)
    erase = "UPDATE ledger SET body = NULL, erased_at = :t, erasure_reason = 'x' WHERE seq = 2"
    sql(store, erase, t=datetime.now(UTC))
    problem = verify(store).problem
    assert problem is not None and (problem.kind, problem.seq) == ("altered", 2)
    assert "erasure" in problem.reason


def test_concurrent_appenders_never_fork_the_chain(store: Store) -> None:
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            for index in range(8):
                call_id = f"w{number}-{index}"
                with store.session() as session:
                    ledger.append_record(session, "acme", call_id, make_record(call_id), SIGNER)
                with store.session() as session:  # a retry of the same job stores nothing new
                    ledger.append_record(session, "acme", call_id, make_record(call_id), SIGNER)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    report = verify(store)
    assert report.ok and report.count == 32 and report.last_seq == 32, report.problem


def test_iter_entries_and_seq_range(store: Store) -> None:
    fill(store, "acme", 6)
    with store.session() as session:
        assert [e.seq for e in ledger.iter_entries(session, "acme", 2, 4)] == [2, 3, 4]
        times = [e.created_at for e in ledger.iter_entries(session, "acme")]
        start = times[2] if times[2].tzinfo else times[2].replace(tzinfo=UTC)
        assert ledger.seq_range(session, "acme", start, None) == (3, 6)
        assert ledger.seq_range(session, "acme", None, start) == (1, 2)
        assert ledger.seq_range(session, "nobody", None, None) is None


def audit_log(store: Store, count: int, tenant: str = "acme") -> None:
    with store.session() as session:
        for number in range(count):
            target, detail = f"call-{number}", {"n": number}
            audit.append_audit(
                session, tenant, "ann", "read", target, "10.0.0.1", "ok", detail, signer=SIGNER
            )


def verify_audit(store: Store, tenant: str = "acme") -> ChainReport:
    with store.session() as session:
        return audit.verify_audit(session, tenant, KEYS)


def test_audit_chain_verifies_and_catches_tampering(store: Store) -> None:
    audit_log(store, 5)
    report = verify_audit(store)
    assert report.ok and report.count == 5
    with store.session() as session:
        served = [audit.audit_dict(e) for e in audit.iter_audit(session, "acme")]
    assert [entry["seq"] for entry in served] == [1, 2, 3, 4, 5] and served[0]["detail"] == {"n": 0}
    sql(store, "UPDATE audit SET result = 'denied' WHERE seq = 2")
    problem = verify_audit(store).problem
    assert named(problem) == ("altered", 2, "call-1")
    sql(store, "UPDATE audit SET result = 'ok' WHERE seq = 2")
    sql(store, "DELETE FROM audit WHERE seq = 4")
    problem = verify_audit(store).problem
    assert problem is not None and (problem.kind, problem.seq) == ("removed", 4)


def test_audit_purge_keeps_the_rest_verifying(store: Store) -> None:
    audit_log(store, 4)
    sql(store, "UPDATE audit SET at = :t WHERE seq <= 2", t=datetime.now(UTC) - timedelta(days=400))
    # moving times breaks the hashes of 1 and 2, but those are exactly the ones purged
    with store.session() as session:
        removed = audit.purge_audit(session, datetime.now(UTC) - timedelta(days=366), signer=SIGNER)
    assert removed == 2
    report = verify_audit(store)
    assert report.ok and report.count == 3 and report.last_seq == 5, report.problem
    sql(store, "DELETE FROM audit WHERE seq = 3")  # the first entry after the purge
    problem = verify_audit(store).problem
    assert problem is not None and (problem.kind, problem.seq) == ("removed", 3)


def test_audit_fields_are_clipped_and_detail_normalised(store: Store) -> None:
    with store.session() as session:
        long_actor, long_target = "a" * 100, "t" * 300
        entry = audit.append_audit(
            session,
            "acme",
            long_actor,
            "export",
            long_target,
            None,
            "ok",
            {"range": (1, 2)},
            signer=SIGNER,
        )
    assert (
        len(entry.actor) == 64 and entry.target == "t" * 255 and entry.detail == {"range": [1, 2]}
    )
    assert verify_audit(store).ok


def test_a_record_dict_matches_the_stored_content(store: Store) -> None:
    record = copy.deepcopy(make_record("call-1"))
    with store.session() as session:
        entry = ledger.append_record(session, "acme", "call-1", record, SIGNER)
        served = ledger.record_dict(entry)
    assert content_sha256(served) == served["integrity"]["content_sha256"]
