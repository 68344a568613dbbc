"""``callqa export`` and ``callqa verify``: auditor bundles and offline checks.

``verify`` exits 0 when intact, 1 with the first broken record on stderr (one line), and 2 when
its input is not a bundle or record store (missing file, bad URL, no key to check with).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.core.errors import ConfigError

if TYPE_CHECKING:
    from api.records.export import VerifyReport
    from api.store.db import Store
    from api.store.integrity import Signer

    Commands = argparse._SubParsersAction[argparse.ArgumentParser]

EXIT_OK, EXIT_BROKEN, EXIT_BAD_INPUT = 0, 1, 2


def parse_time(text: str) -> datetime:
    """An ISO 8601 date or time; without a zone it is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"{text!r} is not an ISO 8601 date or time") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def add_export_parser(commands: Commands) -> argparse.ArgumentParser:
    export = commands.add_parser("export", help="write a signed export bundle of the records")
    export.add_argument("--out", type=Path, required=True, help="bundle to write (.zip)")
    export.add_argument("--from", dest="from_", type=parse_time, help="created at or after (ISO)")
    export.add_argument("--to", type=parse_time, help="created before (ISO)")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--tenant", help="tenant to export (default: CALLQA_TENANT)")
    return export


def add_verify_parser(commands: Commands) -> argparse.ArgumentParser:
    verify = commands.add_parser("verify", help="check a record store or an export bundle")
    verify.add_argument(
        "path", help="bundle .zip, data directory, SQLite .db file or postgresql:// URL"
    )
    verify.add_argument(
        "--key",
        action="append",
        default=[],
        help="a key to check with (ed25519:SEED, ed25519-public:KEY, hmac:SECRET or a file "
        "holding one); also used: CALLQA_SIGNING_KEY and signing.key files beside the store",
    )
    return verify


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"callqa: {message}\n")
    return code


def _open_store(url: str) -> Store:
    from sqlalchemy import inspect
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from api.store.db import Store

    try:
        store = Store(url)
        tables = set(inspect(store.engine).get_table_names())
    except (ArgumentError, SQLAlchemyError, ValueError, ImportError) as exc:
        raise ConfigError(f"cannot open record store: {type(exc).__name__}") from exc
    if not {"ledger", "audit", "chain_heads"} <= tables:
        store.dispose()
        raise ConfigError("not a callqa record store (no ledger tables)")
    return store


def run_export(args: argparse.Namespace) -> int:
    """Write a bundle atomically and record the export in the audit log."""
    from api.records.export import iter_bundle_chunks
    from api.store.audit import append_audit
    from api.store.integrity import load_signer
    from pipelines.core.settings import get_settings

    settings = get_settings()
    try:
        if not settings.database_url and not (settings.data_path / "callqa.db").is_file():
            raise ConfigError(f"no record store in {settings.data_path}")
        signer = load_signer(settings, create=False)
        store = _open_store(settings.resolved_database_url)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    tenant = args.tenant or settings.tenant
    out: Path = args.out
    partial = out.with_name(out.name + ".part")
    try:
        with partial.open("wb") as handle:
            for chunk in iter_bundle_chunks(
                store, tenant, args.from_, args.to, args.format, signer
            ):
                handle.write(chunk)
        os.replace(partial, out)
        with zipfile.ZipFile(out) as archive:
            manifest = json.loads(archive.read("manifest.json"))
        with store.session() as session:
            detail = {
                "from": manifest["filters"]["from"],
                "to": manifest["filters"]["to"],
                "format": args.format,
                "count": manifest["count"],
                "sha256": manifest["file"]["sha256"],
            }
            origin = f"cli:{socket.gethostname()}"
            append_audit(
                session, tenant, f"cli:{getpass.getuser()}", "export", str(out.name), origin,
                "ok", detail, signer=signer,
            )  # fmt: skip
    except OSError as exc:
        partial.unlink(missing_ok=True)
        return _fail(f"{exc.filename or out}: {exc.strerror or exc}", EXIT_BROKEN)
    finally:
        store.dispose()
    sys.stdout.write(f"exported {manifest['count']} entries of tenant {tenant} to {out}\n")
    return EXIT_OK


def _signers(specs: list[str], beside: Path | None) -> list[Signer]:
    from api.store.integrity import KEY_FILE, parse_key, read_key_file
    from pipelines.core.settings import get_settings

    signers: list[Signer] = []
    for spec in specs:
        path = Path(spec)
        signers.append(parse_key(path.read_text(encoding="utf-8") if path.is_file() else spec))
    settings = get_settings()
    if settings.signing_key is not None:
        signers.append(parse_key(settings.signing_key.get_secret_value()))
    for folder in (beside, settings.data_path):
        signer = read_key_file(folder / KEY_FILE) if folder is not None else None
        if signer is not None:
            signers.append(signer)
    if not signers:
        raise ConfigError("no key to verify with: pass --key or set CALLQA_SIGNING_KEY")
    return signers


def _verify(target: str, specs: list[str]) -> VerifyReport:
    """Check ``target``; ConfigError when it is neither a bundle nor a record store."""
    from api.records.export import verify_bundle, verify_store

    if "://" in target:
        if not target.startswith(("postgresql", "sqlite")):
            raise ConfigError(f"unsupported database URL scheme in {target.split('://')[0]!r}")
        store = _open_store(target)
        try:
            return verify_store(store, _signers(specs, None))
        finally:
            store.dispose()
    path = Path(target)
    if not path.exists():
        raise ConfigError(f"{path}: no such file or directory")
    if path.is_dir():
        path, folder = path / "callqa.db", path
        if not path.is_file():
            raise ConfigError(f"{folder} holds no callqa.db")
    if zipfile.is_zipfile(path):
        return verify_bundle(path, _signers(specs, path.parent))
    with path.open("rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise ConfigError(f"{path} is neither an export bundle nor a record store")
    store = _open_store(f"sqlite:///{path.resolve()}")
    try:
        return verify_store(store, _signers(specs, path.parent))
    finally:
        store.dispose()


def run_verify(args: argparse.Namespace) -> int:
    """0 intact, 1 broken (first broken record on stderr), 2 bad input."""
    try:
        report = _verify(args.path, list(args.key))
    except ConfigError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    except OSError as exc:
        return _fail(f"{exc.filename or args.path}: {exc.strerror or exc}", EXIT_BAD_INPUT)
    failure = report.failure
    if failure is not None:
        where = f"{failure.chain} of tenant {failure.tenant}"
        return _fail(f"{report.source}: {where}: {failure.problem}", EXIT_BROKEN)
    chains = len(report.chains)
    sys.stdout.write(f"intact: {report.source}: {report.count} entries in {chains} chains\n")
    return EXIT_OK
