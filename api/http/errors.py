"""HTTP error bodies: every error is ``{"error": {"code", "message"}}`` with a 4xx/5xx status.

``ApiError`` is raised by routes; callqa's own errors (`pipelines.core.errors`) map to a status
by one table, ``STATUS_OF_ERROR``, and to a WebSocket close code by ``CLOSE_CODE_OF_STATUS``;
request validation becomes 422 and anything unforeseen a logged 500 that still has the JSON body.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from api.http.security_headers import harden
from pipelines.core.errors import (
    AudioDecodeError,
    CallQAError,
    ConfigError,
    ConflictError,
    IntegrityError,
    InvalidRequestError,
    ModelUnavailableError,
    NotFoundError,
    PolicyError,
)

logger = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
}


# callqa's errors as HTTP statuses: the first class that matches wins (AudioDecodeError: see
# `status_of`); anything else of the tree is a 500
STATUS_OF_ERROR: tuple[tuple[type[CallQAError], int], ...] = (
    (NotFoundError, 404),
    (ConflictError, 409),
    (InvalidRequestError, 422),
    (PolicyError, 422),
    (ConfigError, 422),
    (IntegrityError, 409),
    (ModelUnavailableError, 503),
)
# the same errors on a WebSocket (RFC 6455 close codes): a bad message 1007, refused 1008, too
# big 1009, the wrong kind of data 1003; any other status is a server fault, 1011
CLOSE_CODE_OF_STATUS = {
    400: 1007,
    401: 1008,
    403: 1008,
    404: 1008,
    409: 1008,
    413: 1009,
    415: 1003,
    422: 1007,
    429: 1008,
}


class ApiError(Exception):
    """An error answered to the client as it is."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message


def error_response(
    status: int, message: str, code: str | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code or _CODES.get(status, "error"), "message": message}}
    extra = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    return JSONResponse(body, status_code=status, headers={**extra, **(headers or {})})


def status_of(exc: CallQAError) -> int:
    """The HTTP status for one of callqa's own errors (``STATUS_OF_ERROR``)."""
    if isinstance(exc, AudioDecodeError):
        return 415 if "not audio" in str(exc) or "format" in str(exc) else 422
    return next((status for kind, status in STATUS_OF_ERROR if isinstance(exc, kind)), 500)


def answer_of(exc: ApiError | CallQAError) -> tuple[int, str, str]:
    """(status, code, message) of an error answered to a client, HTTP or WebSocket."""
    if isinstance(exc, ApiError):
        return exc.status, exc.code, exc.message
    status = status_of(exc)
    return status, _CODES.get(status, "error"), str(exc)


def close_code_of(exc: ApiError | CallQAError) -> int:
    """The WebSocket close code for an error (``CLOSE_CODE_OF_STATUS``)."""
    return CLOSE_CODE_OF_STATUS.get(answer_of(exc)[0], 1011)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.code)

    @app.exception_handler(CallQAError)
    async def _callqa_error(_request: Request, exc: CallQAError) -> JSONResponse:
        status, code, message = answer_of(exc)
        return error_response(status, message, code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return error_response(422, f"{where}: {first.get('msg', 'invalid')}".strip(": "))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _exc: ClientDisconnect) -> JSONResponse:
        logger.info("client went away mid-request (%s %s)", request.method, request.url.path)
        return error_response(400, "the client went away mid-request")  # nobody reads it

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        response = error_response(500, "internal error; it was logged")
        harden(response.headers, request.url.path, 500)  # sent outside the middleware stack
        return response
