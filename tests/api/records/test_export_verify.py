"""Export bundles and ``callqa verify``: a touched bundle or store names its first break."""

from __future__ import annotations

import argparse
import base64
import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from api.cli.records import add_export_parser, add_verify_parser, run_export, run_verify
from api.records.export import VerifyReport, iter_bundle_chunks, verify_bundle, verify_store
from api.store import audit, ledger
from api.store.db import Store, migrate
from api.store.heads import advance_head, lock_head
from api.store.integrity import Ed25519Signer, HmacSigner, Problem, Signer, parse_key
from pipelines.core.settings import get_settings
from pipelines.core.types import AudioSource, ModelInfo, Segment, Word
from pipelines.record.schema import InteractionRecord, Provenance, record_to_dict

RECORD = Path(__file__).resolve().parents[2] / "data" / "records" / "greeting-mono.json"
SEED = bytes(range(32))
SIGNER = Ed25519Signer.from_seed(SEED)
KEY_SPEC = "ed25519:" + base64.b64encode(SEED).decode()


def real_record(call_id: str, tenant: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(RECORD.read_text())
    record.update(id=call_id, tenant=tenant)
    return record


def small_record(call_id: str, tenant: str) -> dict[str, Any]:
    segment = Segment(
        0, 0.5, 2.0, "Thank you for calling.", (Word(0.5, 2.0, " Thank", 0.9),), "en", 0.9
    )
    return record_to_dict(
        InteractionRecord(
            id=call_id,
            created_at="2024-05-01T10:00:00.000Z",
            tenant=tenant,
            audio=AudioSource("0" * 64, "wav", 8000, 1, 2.5),
            layout="mono",
            languages=("en",),
            participants=(),
            segments=(segment,),
            provenance=Provenance("test", (ModelInfo("asr", "fake", "1", "0" * 64),)),
        )
    )


def fill(
    store: Store,
    tenant: str,
    count: int,
    make: Callable[[str, str], dict[str, Any]] = real_record,
    signer: Signer = SIGNER,
) -> None:
    with store.session() as session:
        for number in range(1, count + 1):
            call_id = f"call-{number}"
            ledger.append_record(session, tenant, call_id, make(call_id, tenant), signer)


def export(store: Store, path: Path, fmt: Any = "jsonl", tenant: str = "acme", **span: Any) -> Path:
    with path.open("wb") as handle:
        chunks = iter_bundle_chunks(store, tenant, span.get("from_"), span.get("to"), fmt, SIGNER)
        for chunk in chunks:
            handle.write(chunk)
    return path


def rezip(path: Path, **members: bytes) -> Path:
    """A copy of a bundle with some members replaced (names: dots as underscores)."""
    out = path.with_name("tampered.zip")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            target.writestr(name, members.get(name.replace(".", "_"), source.read(name)))
    return out


def lines_of(path: Path, name: str = "records.jsonl") -> list[bytes]:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name).splitlines(keepends=True)


def problem_of(report: VerifyReport) -> Problem:
    failure = report.failure
    assert failure is not None and failure.problem is not None, "the bundle verified"
    return failure.problem


@pytest.fixture
def bundle(store: Store, tmp_path: Path) -> Path:
    """Five records of acme, a review of call 3 and the erasure of call 2."""
    fill(store, "acme", 5)
    override = {"score": 55, "by": "ann", "at": "2024-05-01T10:00Z", "reason": "re-scored"}
    with store.session() as session:
        ledger.append_review(session, "acme", "call-3", override, SIGNER)
        ledger.erase_call(session, "acme", "call-2", "GDPR request 17", "admin", SIGNER)
    return export(store, tmp_path / "bundle.zip")


def test_a_bundle_verifies_and_carries_the_stored_records(store: Store, bundle: Path) -> None:
    report = verify_bundle(bundle, [SIGNER])
    assert report.ok and report.count == 7, report.failure
    items = [json.loads(line) for line in lines_of(bundle)]
    assert [item["kind"] for item in items] == ["record"] * 5 + ["review", "erasure"]
    assert items[1]["body"] is None and items[1]["erased"]["reason"] == "GDPR request 17"
    with store.session() as session:
        stored = ledger.find_record(session, "acme", "call-1")
        assert stored is not None and items[0]["body"] == json.loads(stored.body or "")
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["count"] == 7 and manifest["first_prev_sha256"] is None
    assert manifest["public_key"] == SIGNER.public_key and manifest["key_id"] == SIGNER.key_id


def test_a_csv_bundle_verifies_and_catches_an_edited_byte(store: Store, tmp_path: Path) -> None:
    fill(store, "acme", 3)
    path = export(store, tmp_path / "bundle.zip", "csv")
    assert verify_bundle(path, [SIGNER]).ok
    rows = lines_of(path, "records.csv")
    assert rows[0].startswith(b"seq,kind,call_id") and b"Thank you for calling" in rows[2]
    rows[2] = rows[2].replace(b"Anna", b"Anne", 1)
    problem = problem_of(verify_bundle(rezip(path, records_csv=b"".join(rows)), [SIGNER]))
    assert (problem.kind, problem.seq, problem.call_id) == ("altered", 2, "call-2")


def flip_one_byte(lines: list[bytes]) -> list[bytes]:
    line = lines[2]
    at = line.index(b"Anna")
    lines[2] = line[:at] + bytes([line[at] ^ 1]) + line[at + 1 :]
    return lines


def foreign_line(store: Store, tmp_path: Path) -> bytes:
    fill(store, "globex", 2)
    return lines_of(export(store, tmp_path / "globex.zip", tenant="globex"))[1]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (flip_one_byte, ("altered", 3)),
        (lambda lines: lines[:3] + lines[4:], ("removed", 4)),
        (lambda lines: lines[1:], ("removed", 1)),
        (lambda lines: lines[:-1], ("removed", 7)),
        (lambda lines: [*lines[:4], lines[3], *lines[4:]], ("inserted", 4)),
        (lambda lines: [*lines[:4], lines[-1], *lines[4:]], ("inserted", 7)),
        ("foreign", ("inserted", 2)),
    ],
)
def test_a_changed_bundle_names_its_first_broken_entry(
    store: Store, bundle: Path, tmp_path: Path, change: Any, expected: tuple[str, int]
) -> None:
    lines = lines_of(bundle)
    if change == "foreign":  # globex's validly signed seq 2, slipped in after acme's seq 4
        lines = [*lines[:4], foreign_line(store, tmp_path), *lines[4:]]
    else:
        lines = change(list(lines))
    problem = problem_of(verify_bundle(rezip(bundle, records_jsonl=b"".join(lines)), [SIGNER]))
    assert (problem.kind, problem.seq) == expected, problem


def test_a_changed_manifest_or_unknown_key_is_caught(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    manifest["count"] = 6
    changed = rezip(bundle, manifest_json=json.dumps(manifest).encode())
    assert "manifest" in problem_of(verify_bundle(changed, [SIGNER])).reason
    assert "unknown key" in problem_of(verify_bundle(bundle, [HmacSigner(b"other")])).reason
    public_only = parse_key(f"ed25519-public:{SIGNER.public_key}")
    assert verify_bundle(bundle, [public_only]).ok  # auditors need only the public key


def test_a_time_window_exports_an_unbroken_piece(store: Store, tmp_path: Path) -> None:
    fill(store, "acme", 6)
    with store.session() as session:
        entries = list(ledger.iter_entries(session, "acme"))
    start, end = entries[2].created_at, entries[4].created_at
    path = export(store, tmp_path / "window.zip", from_=start, to=end)
    report = verify_bundle(path, [SIGNER])
    assert report.ok and report.count == 2 and report.chains[0].last_seq == 4
    assert [json.loads(line)["seq"] for line in lines_of(path)] == [3, 4]
    lines = lines_of(path)
    problem = problem_of(verify_bundle(rezip(path, records_jsonl=lines[1]), [SIGNER]))
    assert (problem.kind, problem.seq) == ("removed", 3)


def test_ten_thousand_records_stream_in_chunks(store: Store, tmp_path: Path) -> None:
    signer = HmacSigner(b"bulk")
    with store.session() as session:  # one batch of appends, as ledger.append_record chains them
        head = lock_head(session, "acme", "ledger")
        prev: str | None = None
        for seq in range(1, 10_001):
            call_id = f"call-{seq}"
            record = small_record(call_id, "acme")
            record.pop("integrity")
            entry = ledger.new_entry("acme", "record", call_id, record, seq, prev, signer)
            session.add(entry)
            prev = entry.content_sha256
            if seq % 1000 == 0:
                session.flush()
        advance_head(head, 10_000, prev or "", signer)
    assert verify_store(store, [signer]).ok
    chunks = iter_bundle_chunks(store, "acme", None, None, "jsonl", signer, chunk_size=1 << 14)
    first = next(chunks)
    assert b"manifest.json" not in first  # out before the last record was read
    sizes = [len(first)]
    path = tmp_path / "big.zip"
    with path.open("wb") as handle:
        handle.write(first)
        for chunk in chunks:
            sizes.append(len(chunk))
            handle.write(chunk)
    assert len(sizes) > 20 and max(sizes) < 4 * (1 << 14), (len(sizes), max(sizes))
    report = verify_bundle(path, [signer])
    assert report.ok and report.count == 10_000


def test_verify_store_checks_every_tenant_ledger_audit_and_calls(store: Store) -> None:
    fill(store, "acme", 3)
    fill(store, "globex", 2)
    with store.session() as session:
        for tenant in ("acme", "globex"):
            audit.append_audit(session, tenant, "ann", "read", "call-1", None, "ok", signer=SIGNER)
    report = verify_store(store, [SIGNER])
    assert report.ok and len(report.chains) == 6 and report.count == 7
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE audit SET actor = 'bob' WHERE tenant = 'globex'"))
    failure = verify_store(store, [SIGNER]).failure
    assert failure is not None and (failure.tenant, failure.chain) == ("globex", "audit")


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="callqa")
    commands = parser.add_subparsers(dest="command", required=True)
    add_export_parser(commands)
    add_verify_parser(commands)
    args = parser.parse_args(argv)
    return run_export(args) if args.command == "export" else run_verify(args)


@pytest.fixture
def settings_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings read from a fresh data directory only (no key of the developer's own)."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("CALLQA_DATA_DIR", str(folder))
    monkeypatch.setenv("CALLQA_TENANT", "acme")
    for name in ("CALLQA_SIGNING_KEY", "CALLQA_DATABASE_URL", "CALLQA_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


@pytest.fixture
def data_dir(settings_in: Path) -> Path:
    """A data directory as ``callqa serve`` leaves it: callqa.db and signing.key."""
    folder = settings_in
    (folder / "signing.key").write_text(KEY_SPEC + "\n")
    store = Store(f"sqlite:///{folder / 'callqa.db'}")
    migrate(store.engine)
    fill(store, "acme", 3)
    store.dispose()
    return folder


def test_cli_export_then_verify(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.zip"
    assert cli("export", "--out", str(out), "--format", "csv") == 0
    assert verify_bundle(out, [SIGNER]).ok
    assert cli("verify", str(out)) == 0
    assert cli("verify", str(data_dir)) == 0  # the export itself is now in the audit chain
    assert cli("verify", str(data_dir / "callqa.db")) == 0
    assert "intact" in capsys.readouterr().out
    store = Store(f"sqlite:///{data_dir / 'callqa.db'}")
    with store.session() as session:
        actions = [entry.action for entry in audit.iter_audit(session, "acme")]
    store.dispose()
    assert actions == ["export"]


def test_cli_verify_names_the_broken_record(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(f"sqlite:///{data_dir / 'callqa.db'}")
    bundle = export(store, tmp_path / "b.zip")
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE ledger SET body = replace(body, 'Anna', 'Anne')"))
    store.dispose()
    capsys.readouterr()
    assert cli("verify", str(data_dir)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "altered" in err and "seq 1" in err and "call-1" in err
    lines = lines_of(bundle)
    assert cli("verify", str(rezip(bundle, records_jsonl=lines[0] + lines[2]))) == 1
    err = capsys.readouterr().err
    assert "removed" in err and "seq 2" in err and "call-3" in err


def test_cli_verify_bad_input_exits_2(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    for target in (
        str(tmp_path / "missing.zip"),
        str(tmp_path / "notes.txt"),
        str(tmp_path),  # a folder without callqa.db
        "mysql://root@localhost/db",
        "postgresql://nobody@127.0.0.1:1/none",
    ):
        assert cli("verify", target) == 2, target
        assert capsys.readouterr().err.startswith("callqa: ")


def test_cli_verify_a_database_url(
    store: Store, settings_in: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(store, "acme", 2)
    url = store.engine.url.render_as_string(hide_password=False)
    assert cli("verify", url, "--key", KEY_SPEC) == 0
    assert cli("verify", url, "--key", "hmac:wrong") == 1
    assert "unknown key" in capsys.readouterr().err
