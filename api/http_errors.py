"""HTTP error bodies: every error is ``{"error": {"code", "message"}}`` with a 4xx/5xx status.

``ApiError`` is raised by routes; callqa's own errors map by kind (bad input 400/415/422,
integrity 409, missing model 503); request validation becomes 422 and anything unforeseen a
logged 500 that still has the JSON body.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from api.security_headers import harden
from pipelines.core.errors import (
    AudioDecodeError,
    CallQAError,
    ConfigError,
    IntegrityError,
    ModelUnavailableError,
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
    """The HTTP status for one of callqa's own errors."""
    if isinstance(exc, AudioDecodeError):
        return 415 if "not audio" in str(exc) or "format" in str(exc) else 422
    if isinstance(exc, PolicyError | ConfigError):
        return 422
    if isinstance(exc, IntegrityError):
        return 409
    if isinstance(exc, ModelUnavailableError):
        return 503
    return 500


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.code)

    @app.exception_handler(CallQAError)
    async def _callqa_error(_request: Request, exc: CallQAError) -> JSONResponse:
        return error_response(status_of(exc), str(exc))

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
