"""Signing keys and the pure check of a hash chain (records, reviews, erasures, audit entries).

Every chain entry is signed over :func:`entry_message` (tenant, kind, subject, seq, time,
content hash and the previous entry's content hash); a chain head is signed over
:func:`head_message`. :func:`verify_chain` streams entries once and names the first one that
was altered, removed or inserted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pipelines.core.errors import ConfigError
from pipelines.core.settings import Settings
from pipelines.record.schema import canonical_json

logger = logging.getLogger(__name__)

KEY_FILE = "signing.key"
ProblemKind = Literal["altered", "removed", "inserted"]


class Signer(Protocol):
    """Signs and checks chain messages; ``key_id`` is stored next to every signature."""

    @property
    def key_id(self) -> str: ...

    @property
    def algorithm(self) -> str: ...

    @property
    def public_key(self) -> str | None: ...

    def sign(self, message: bytes) -> str: ...

    def verify(self, message: bytes, signature: str) -> bool: ...


class HmacSigner:
    """HMAC-SHA256 with a shared secret (whoever can verify can also sign)."""

    algorithm = "hmac-sha256"
    public_key = None

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ConfigError("the HMAC signing secret is empty")
        self._secret = secret
        tag = hmac.new(secret, b"callqa key id", hashlib.sha256).hexdigest()
        self.key_id = f"hmac-{tag[:16]}"

    def sign(self, message: bytes) -> str:
        return base64.b64encode(hmac.new(self._secret, message, hashlib.sha256).digest()).decode()

    def verify(self, message: bytes, signature: str) -> bool:
        return hmac.compare_digest(self.sign(message), signature)


class Ed25519Signer:
    """Ed25519; built from a public key alone it can only verify."""

    algorithm = "ed25519"

    def __init__(self, public: Ed25519PublicKey, private: Ed25519PrivateKey | None = None) -> None:
        self._public = public
        self._private = private
        raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_key = base64.b64encode(raw).decode()
        self.key_id = f"ed25519-{hashlib.sha256(raw).hexdigest()[:16]}"

    @classmethod
    def from_seed(cls, seed: bytes) -> Ed25519Signer:
        if len(seed) != 32:
            raise ConfigError("an Ed25519 seed must be 32 bytes (base64)")
        private = Ed25519PrivateKey.from_private_bytes(seed)
        return cls(private.public_key(), private)

    @classmethod
    def from_public(cls, raw: bytes) -> Ed25519Signer:
        if len(raw) != 32:
            raise ConfigError("an Ed25519 public key must be 32 bytes (base64)")
        return cls(Ed25519PublicKey.from_public_bytes(raw))

    def sign(self, message: bytes) -> str:
        if self._private is None:
            raise ConfigError(f"key {self.key_id} is a public key: it can verify but not sign")
        return base64.b64encode(self._private.sign(message)).decode()

    def verify(self, message: bytes, signature: str) -> bool:
        try:
            self._public.verify(base64.b64decode(signature, validate=True), message)
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{what} is not valid base64") from exc


def parse_key(spec: str) -> Signer:
    """``ed25519:<base64 seed>``, ``ed25519-public:<base64 key>``, ``hmac:<secret>`` or a bare
    secret (HMAC)."""
    spec = spec.strip()
    scheme, _, value = spec.partition(":")
    if scheme == "ed25519":
        return Ed25519Signer.from_seed(_b64(value, "the Ed25519 seed"))
    if scheme == "ed25519-public":
        return Ed25519Signer.from_public(_b64(value, "the Ed25519 public key"))
    if scheme == "hmac":
        return HmacSigner(value.encode())
    return HmacSigner(spec.encode())


def read_key_file(path: Path) -> Signer | None:
    """The key stored in ``path`` (as written by :func:`load_signer`), None when absent."""
    try:
        return parse_key(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def load_signer(settings: Settings, *, create: bool = True) -> Signer:
    """``CALLQA_SIGNING_KEY``, else the Ed25519 key in ``data_path/signing.key``, created once
    (mode 0600) when ``create``."""
    if settings.signing_key is not None:
        return parse_key(settings.signing_key.get_secret_value())
    path = settings.data_path / KEY_FILE
    signer = read_key_file(path)
    if signer is not None:
        return signer
    if not create:
        raise ConfigError(f"no signing key: set CALLQA_SIGNING_KEY or create {path}")
    if settings.database_url:
        logger.warning("no CALLQA_SIGNING_KEY with a shared database: every host gets its own key")
    spec, created = write_once(path, "ed25519:" + base64.b64encode(os.urandom(32)).decode() + "\n")
    if created:
        logger.info("created signing key %s", path)
    return parse_key(spec)


def write_once(path: Path, text: str) -> tuple[str, bool]:
    """Create ``path`` (mode 0600) holding ``text`` unless it exists; the file's text either way
    (another process may have created it first), and whether this call created it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8"), False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return text, True


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; naive times are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """A stored time as signed: UTC ISO 8601 with microseconds (naive times are UTC)."""
    return as_utc(moment).isoformat(timespec="microseconds")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry_message(
    tenant: str,
    kind: str,
    subject: str,
    seq: int,
    at: str,
    content_sha256: str,
    prev_sha256: str | None,
) -> bytes:
    """What an entry's signature covers; ``subject`` is the call id (audit: the target)."""
    return canonical_json(
        ["callqa.entry/v1", tenant, kind, subject, seq, at, content_sha256, prev_sha256]
    )


def head_message(tenant: str, chain: str, seq: int, head_sha256: str | None) -> bytes:
    """What a chain head's signature covers: the chain's length and last content hash."""
    return canonical_json(["callqa.head/v1", tenant, chain, seq, head_sha256])


def document_message(document: Mapping[str, Any]) -> bytes:
    """What a signed document (an export manifest) covers: all of it but ``signature``."""
    return canonical_json({k: v for k, v in document.items() if k != "signature"})


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One stored entry as the verifier sees it.

    ``computed_sha256`` is the hash of the stored content (None for an erased entry);
    ``covers`` lists the seqs an erasure entry vouches for.
    """

    seq: int
    kind: str
    subject: str
    at: str
    content_sha256: str
    prev_sha256: str | None
    signature: str
    key_id: str
    computed_sha256: str | None
    erased: bool = False
    covers: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Problem:
    """The first break in a chain: what happened, where, and why."""

    kind: ProblemKind
    seq: int | None
    call_id: str | None
    reason: str

    def __str__(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else "chain"
        who = f" call {self.call_id}" if self.call_id else ""
        return f"{self.kind}: {where}{who}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ChainReport:
    tenant: str
    chain: str
    count: int
    last_seq: int | None
    last_sha256: str | None
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


Keyring = Mapping[str, Signer]


def keyring(signers: Iterable[Signer]) -> dict[str, Signer]:
    return {signer.key_id: signer for signer in signers}


def check_signature(
    keys: Keyring, key_id: str | None, message: bytes, signature: str | None
) -> str:
    """Empty when ``signature`` verifies, else why not."""
    signer = keys.get(key_id or "")
    if signer is None:
        return f"signed by unknown key {key_id}"
    if not signature or not signer.verify(message, signature):
        return f"signature does not verify with key {key_id}"
    return ""


def _short(digest: str | None) -> str:
    return digest[:12] if digest else "none"


def _link_problem(
    link: ChainLink,
    following: ChainLink | None,
    tenant: str,
    keys: Keyring,
    expect: tuple[int, str | None],
    end_seq: int | None,
) -> Problem | None:
    seq, prev = expect
    if end_seq is not None and link.seq > end_seq:
        return Problem("inserted", link.seq, link.subject, f"beyond the signed end (seq {end_seq})")
    if link.computed_sha256 is not None and link.computed_sha256 != link.content_sha256:
        return Problem("altered", link.seq, link.subject, "content does not match its hash")
    if link.computed_sha256 is None and not link.erased:
        return Problem("altered", link.seq, link.subject, "content missing but not erased")
    skipped = following is not None and following.prev_sha256 == prev
    if link.seq != seq or link.prev_sha256 != prev:
        if skipped:
            return Problem("inserted", link.seq, link.subject, "the next entry links past it")
        if link.prev_sha256 == prev:
            return Problem("altered", link.seq, link.subject, f"seq changed (expected {seq})")
        return Problem(
            "removed",
            seq,
            None,
            f"missing: seq {link.seq} (call {link.subject}) links to {_short(link.prev_sha256)}, "
            f"not to {_short(prev)}",
        )
    message = entry_message(
        tenant, link.kind, link.subject, link.seq, link.at, link.content_sha256, link.prev_sha256
    )
    why = check_signature(keys, link.key_id, message, link.signature)
    if why:
        kind: ProblemKind = "inserted" if skipped or why.startswith("signed by") else "altered"
        return Problem(kind, link.seq, link.subject, why)
    return None


def verify_chain(
    links: Iterable[ChainLink],
    keys: Keyring,
    *,
    tenant: str,
    chain: str,
    start: tuple[int, str | None] = (1, None),
    end: tuple[int, str | None] | None = None,
    require_cover: bool = True,
) -> ChainReport:
    """Check entries in seq order against ``start`` (first seq, its prev hash) and ``end``
    (signed last seq and hash; None: unknown). Erased entries must be vouched for by a later
    erasure entry when ``require_cover``. Reads ``links`` once, one entry ahead."""
    expect = start
    count = 0
    last: ChainLink | None = None
    uncovered: dict[int, str] = {}
    problem: Problem | None = None
    iterator = iter(links)
    link = next(iterator, None)
    while link is not None:
        following = next(iterator, None)
        problem = _link_problem(link, following, tenant, keys, expect, end[0] if end else None)
        if problem is not None:
            break
        if link.erased:
            uncovered[link.seq] = link.subject
        for covered in link.covers:
            uncovered.pop(covered, None)
        count += 1
        last = link
        expect = (link.seq + 1, link.content_sha256)
        link = following
    if problem is None and require_cover and uncovered:
        seq = min(uncovered)
        problem = Problem("altered", seq, uncovered[seq], "erased without a signed erasure entry")
    if problem is None and end is not None:
        problem = _end_problem(last, end)
    return ChainReport(
        tenant=tenant,
        chain=chain,
        count=count,
        last_seq=last.seq if last else None,
        last_sha256=last.content_sha256 if last else None,
        problem=problem,
    )


def _end_problem(last: ChainLink | None, end: tuple[int, str | None]) -> Problem | None:
    end_seq, end_sha = end
    last_seq = last.seq if last else 0
    if last_seq < end_seq:
        first_missing = last_seq + 1
        return Problem(
            "removed",
            first_missing,
            None,
            f"missing: the chain stops at seq {last_seq} but its signed end is seq {end_seq}",
        )
    if last is not None and last.content_sha256 != end_sha:
        return Problem("altered", last.seq, last.subject, "last entry differs from the signed end")
    return None
