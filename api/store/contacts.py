"""Repeat contacts without keeping who called: keyed pseudonyms of the caller's number and of
the order, account and case numbers said in a call.

Each value becomes ``HMAC-SHA256(tenant secret, kind namespace + normalized value)`` the moment
it arrives (upload metadata, a live call's start, the transcript before redaction); only that
digest is stored (``contact_keys``). The tenant secret is ``HMAC(master, tenant)``, so two
tenants' pseudonyms of one number differ; the master key is ``CALLQA_PSEUDONYM_KEY`` or
``data_path/pseudonym.key`` (32 random bytes, mode 0600, created once), never the database, so
a copy of the database alone cannot be searched for a known number.

A call shares a key with an earlier call of the tenant within ``repeat_window_days``: it is a
repeat contact of the newest such call. Erasing a call deletes its keys (``forget_contacts``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.store.integrity import write_once
from api.store.schema import Call, ContactKey
from pipelines.core.errors import ConfigError
from pipelines.core.settings import Settings

logger = logging.getLogger(__name__)

KEY_FILE = "pseudonym.key"
CALLER = "caller"
# what telephony platforms send for a withheld number: nothing to link
WITHHELD = frozenset({"anonymous", "unknown", "restricted", "private", "unavailable", "blocked"})
_DIGITS = re.compile(r"\d")
NATIONAL_DIGITS = 10  # "+44 7700 900123" and "07700 900123" are one number: its last 10 digits


def caller_value(raw: object) -> str | None:
    """A caller id as one canonical string: a phone number's last ``NATIONAL_DIGITS`` digits,
    else the identity lower-cased (a SIP or client id); None when withheld or empty."""
    text = str(raw).strip()
    if not text or text.lower() in WITHHELD:
        return None
    digits = "".join(_DIGITS.findall(text))
    if len(digits) >= 6 and re.fullmatch(r"[\d\s()+\-.]+", text):
        return digits[-NATIONAL_DIGITS:]
    return text.lower()


def load_master_key(settings: Settings) -> bytes:
    """``CALLQA_PSEUDONYM_KEY``, else ``data_path/pseudonym.key``, created once (mode 0600)."""
    if settings.pseudonym_key is not None:
        secret = settings.pseudonym_key.get_secret_value().encode()
        if not secret:
            raise ConfigError("CALLQA_PSEUDONYM_KEY is empty")
        return secret
    path = settings.data_path / KEY_FILE
    text, created = write_once(path, base64.b64encode(os.urandom(32)).decode() + "\n")
    if created:
        logger.info("created pseudonym key %s", path)
    return base64.b64decode(text.strip())


@dataclass(frozen=True, slots=True)
class Pseudonyms:
    """Keyed pseudonyms under a master key (see the module docstring)."""

    master: bytes

    def key(self, tenant: str, kind: str, value: str) -> str:
        tenant_secret = hmac.new(self.master, b"callqa pseudonym|" + tenant.encode(), "sha256")
        message = f"{'caller' if kind == CALLER else 'said'}:{kind}:{value}".encode()
        return hmac.new(tenant_secret.digest(), message, hashlib.sha256).hexdigest()

    def caller_keys(self, tenant: str, raw: object) -> tuple[tuple[str, str], ...]:
        """``((CALLER, key),)`` for a caller id, ``()`` for a withheld one."""
        value = caller_value(raw)
        return () if value is None else ((CALLER, self.key(tenant, CALLER, value)),)


def remember_contacts(
    session: Session, tenant: str, call_id: str, keys: Iterable[tuple[str, str]], at: datetime
) -> int:
    """Store the call's keys (once each); returns how many are new."""
    have = set(
        session.scalars(
            select(ContactKey.key).where(ContactKey.tenant == tenant, ContactKey.call_id == call_id)
        )
    )
    added = 0
    for kind, key in keys:
        if key in have:
            continue
        have.add(key)
        session.add(ContactKey(tenant=tenant, key=key, kind=kind, call_id=call_id, at=at))
        added += 1
    return added


def previous_contact(
    session: Session, tenant: str, call_id: str, at: datetime, window_days: int
) -> tuple[str, float] | None:
    """The newest earlier call of the tenant sharing a key with this one within the window,
    and how many days before; None for a first contact."""
    mine = select(ContactKey.key).where(ContactKey.tenant == tenant, ContactKey.call_id == call_id)
    row = session.execute(
        select(Call.id, Call.created_at)
        .join(ContactKey, (ContactKey.call_id == Call.id) & (ContactKey.tenant == Call.tenant))
        .where(
            Call.tenant == tenant,
            Call.id != call_id,
            Call.status != "erased",
            ContactKey.key.in_(mine),
            Call.created_at < at,
            Call.created_at >= at - timedelta(days=window_days),
        )
        .order_by(Call.created_at.desc(), Call.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    earlier = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=at.tzinfo)
    return str(row.id), round((at - earlier).total_seconds() / 86400, 2)


def forget_contacts(session: Session, tenant: str, call_id: str) -> None:
    """Delete the call's keys: it links to no other call any more."""
    session.execute(
        delete(ContactKey)
        .where(ContactKey.tenant == tenant, ContactKey.call_id == call_id)
        .execution_options(synchronize_session=False)
    )
