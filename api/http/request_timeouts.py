"""A request body that stops arriving ends in a 408 instead of holding its connection.

uvicorn has no timeout while a request body is read: a client that sends headers and part
of a body, then nothing, would hold the connection and the route forever. ``BodyIdleTimeout``
bounds each wait for the next piece of the body; once the body is complete, ``receive`` is
left alone (a streamed answer waits on it for the disconnect, however long that takes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)


class BodyIdleTimeout:
    """ASGI middleware: no body data for ``timeout_s()`` seconds raises a 408 in the route
    (``Connection: close``, as the rest of the body is never read)."""

    def __init__(self, app: ASGIApp, timeout_s: Callable[[], float]) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.timeout_s()
        complete = False

        async def timed_receive() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            try:
                async with asyncio.timeout(limit):
                    message = await receive()
            except TimeoutError:
                logger.info(
                    "%s %s: no body data for %g s, answered 408",
                    scope["method"],
                    scope["path"],
                    limit,
                )
                raise HTTPException(
                    408,
                    f"the request body stopped arriving (nothing for {limit:g} s)",
                    headers={"Connection": "close"},
                ) from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, timed_receive, send)
