"""Personal data never reaches a log: ``PiiLogFilter`` redacts each record with the default
redactor (``pipelines.pii.redactor``) before any handler writes it; until the recognizers have
loaded, with ``rough_redaction``."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

from pipelines.pii.redactor import (
    PatternPiiRedactor,
    PiiRedactor,
    default_redactor,
    mask_numbers,
)

LONG_NUMBER = re.compile(r"\d(?:[\d \-]*\d)?")
AT_SIGN = re.compile(r"\S+@\S+")
_loading = threading.Lock()
_loader: threading.Thread | None = None


def _loaded_redactor() -> PatternPiiRedactor | None:
    """The default redactor once it is built; until then None, and it is being built in a
    thread (a few seconds: logging must not wait for it)."""
    global _loader
    if default_redactor.cache_info().currsize:
        return default_redactor()
    with _loading:
        if _loader is None:
            _loader = threading.Thread(target=default_redactor, name="callqa-pii-load", daemon=True)
            _loader.start()
    return None


def _cleaned_in_shape(
    record: logging.LogRecord, clean: Callable[[str], str], redacted: str
) -> tuple[object, Any]:
    """The record's message and arguments with personal data removed, keeping a tuple of
    arguments a tuple of the same length (uvicorn's access formatter unpacks its five): each
    string cleaned on its own, unless something personal only shows across them, then the
    whole ``redacted`` message without arguments."""
    args = record.args
    if isinstance(args, tuple) and args and isinstance(record.msg, str):
        shaped = tuple(clean(a) if isinstance(a, str) else a for a in args)
        msg = clean(record.msg)
        try:
            joined = msg % shaped
        except (TypeError, ValueError):
            return redacted, None
        if clean(joined) == joined:
            return msg, shaped
    return redacted, None


def rough_redaction(text: str) -> str:
    """What logs get while the recognizers load: every number of six digits or more and
    everything around an ``@`` masked (ports and IP addresses stay readable)."""
    return AT_SIGN.sub("[EMAIL]", mask_numbers(text, 6, LONG_NUMBER))


class PiiLogFilter(logging.Filter):
    """A logging filter that redacts personal data from messages, arguments and tracebacks.

    Attach it to handlers (or loggers) in the entry points. Until the recognizers have loaded
    (in a thread started by the first message), messages get `rough_redaction`, which masks
    more than it must, so that no log call waits seconds for them.
    """

    def __init__(self, redactor: PiiRedactor | None = None, name: str = "") -> None:
        super().__init__(name)
        self._redactor = redactor
        self._busy = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(self._busy, "on", False):
            return True
        self._busy.on = True
        try:
            self._redact(record)
        except Exception:  # never let logging fail; drop what could not be checked
            record.msg, record.args = "<log message withheld: PII check failed>", None
        finally:
            self._busy.on = False
        return True

    def _redact(self, record: logging.LogRecord) -> None:
        redactor = self._redactor or _loaded_redactor()

        def clean(text: str) -> str:
            return redactor.redact_text(text)[0] if redactor else rough_redaction(text)

        message = record.getMessage()
        redacted = clean(message)
        if redacted != message:
            record.msg, record.args = _cleaned_in_shape(record, clean, redacted)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = clean(record.exc_text)
        if record.stack_info:
            record.stack_info = clean(record.stack_info)
