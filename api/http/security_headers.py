"""Security headers on every HTTP answer: JSON, text, audio, streamed exports, errors, the page.

A pure ASGI middleware that only touches ``http.response.start`` (bodies stream through as
they are; WebSocket scopes pass untouched). API data is never cached and never rendered as a
document; the review page and its files keep the policy and caching ``routes/web.py`` sets.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CSP = "default-src 'none'; frame-ancestors 'none'"


def harden(headers: MutableHeaders, path: str, status: int) -> None:
    """Add the security headers an answer to ``path`` with ``status`` must carry."""
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Content-Security-Policy", API_CSP)
    if status >= 400 or path == "/v1" or path.startswith("/v1/"):
        headers["Cache-Control"] = "no-store"
    else:
        headers.setdefault("Cache-Control", "no-store")


class SecurityHeaders:
    """ASGI middleware applying :func:`harden` to each HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                harden(MutableHeaders(scope=message), path, message["status"])
            await send(message)

        await self.app(scope, receive, send_hardened)
