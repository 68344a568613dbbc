"""The one exception tree of callqa.

::

    CallQAError                      base of everything callqa raises on purpose
    ├── ConfigError                  bad settings or command-line options
    ├── AudioDecodeError             input is not usable audio (corrupt, empty, silent, truncated,
    │                                non-audio, over-long, unsupported rate or channel count)
    ├── ModelUnavailableError        a model's weights are not installed; says what to install
    ├── StageError(stage, call_id)   a pipeline stage failed on a call
    ├── PolicyError                  a compliance policy does not parse or validate
    ├── IntegrityError               a record or bundle fails hash, chain or signature checks
    ├── NotFoundError                what a request names does not exist (for its tenant)
    ├── ConflictError                a request clashes with the state of what it names
    └── InvalidRequestError          a request's values are invalid (the message says which)

The CLI maps ``CallQAError`` subclasses caused by input (``ConfigError``, ``AudioDecodeError``,
``PolicyError``, ``InvalidRequestError``) to exit code 2 with a one-line reason; the API maps
every one of them to a status and a JSON error body in one table (`api.http.errors`), and the
last three are raised by the records, jobs and store rooms instead of HTTP errors.
"""

from __future__ import annotations


class CallQAError(Exception):
    """Base class of all errors callqa raises on purpose."""


class ConfigError(CallQAError):
    """Settings or command-line options are invalid."""


class AudioDecodeError(CallQAError):
    """The input cannot be used as call audio; the message says why in one line."""


class ModelUnavailableError(CallQAError):
    """A model is not available offline; the message names the package or file to install."""

    def __init__(self, model: str, remedy: str) -> None:
        super().__init__(f"model {model!r} is not available offline: {remedy}")
        self.model = model
        self.remedy = remedy


class StageError(CallQAError):
    """A pipeline stage failed while processing a call."""

    def __init__(self, stage: str, call_id: str, message: str) -> None:
        super().__init__(f"stage {stage} failed on call {call_id}: {message}")
        self.stage = stage
        self.call_id = call_id


class PolicyError(CallQAError):
    """A compliance policy is malformed or fails validation."""


class IntegrityError(CallQAError):
    """A record or export bundle was altered, removed or inserted."""


class NotFoundError(CallQAError):
    """What a request names (a call, a rule, a policy) does not exist, or not for its tenant."""


class ConflictError(CallQAError):
    """A request clashes with the state of what it names (a call being analyzed, say)."""


class InvalidRequestError(CallQAError):
    """A request's values are invalid; the message names the field and what is expected."""


INPUT_ERRORS: tuple[type[CallQAError], ...] = (
    ConfigError,
    AudioDecodeError,
    PolicyError,
    InvalidRequestError,
)
"""Errors caused by what the user gave us (CLI exit code 2, HTTP 4xx)."""
