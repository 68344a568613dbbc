"""Secrets never reach a log: API keys in request lines are masked before any handler runs.

uvicorn writes each request's path with its query string, through ``uvicorn.access`` for HTTP
and ``uvicorn.error`` for WebSocket handshakes (``"WebSocket /v1/stream?token=..."``); the live
endpoints take their key as ``?token=``. ``SecretsFilter`` on those loggers masks the value of
every ``...token=``/``...key=`` parameter and anything shaped like a callqa key.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from api.store import KEY_PREFIX  # not api.store.keys: the CLI's logging would load the ORM

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
MASK = "***"
_PARAMETER = re.compile(r"(?i)([\w.-]*(?:token|key)=)[^&\s\"'#;]*")
_KEY = re.compile(re.escape(KEY_PREFIX) + r"[\w-]+")


def mask_secrets(text: str) -> str:
    """``text`` with key-like query values and callqa keys replaced by ``***``."""
    if "=" not in text and KEY_PREFIX not in text:
        return text
    return _KEY.sub(KEY_PREFIX + MASK, _PARAMETER.sub(r"\g<1>" + MASK, text))


def _masked(value: Any) -> Any:
    return mask_secrets(value) if isinstance(value, str) else value


class SecretsFilter(logging.Filter):
    """Masks secrets in a record's message and in each string argument (keeping the
    arguments' shape, which uvicorn's access formatter unpacks)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _masked(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _masked(arg) for key, arg in record.args.items()}
        return True


def install_secrets_filter(names: tuple[str, ...] = UVICORN_LOGGERS) -> None:
    """Put a ``SecretsFilter`` on each named logger once (logging config keeps filters)."""
    for name in names:
        target = logging.getLogger(name)
        if not any(isinstance(existing, SecretsFilter) for existing in target.filters):
            target.addFilter(SecretsFilter())
