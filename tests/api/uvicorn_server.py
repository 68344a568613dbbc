"""A real uvicorn server on a free local port, in a thread, for the WebSocket and
socket-level tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from api.cli.main import WS_PING_TIMEOUT_S


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(app: FastAPI, **config: Any) -> Iterator[int]:
    """Run ``app`` until the block ends; yields its port."""
    port = free_port()
    options: dict[str, Any] = {"log_level": "warning", "ws_ping_timeout": WS_PING_TIMEOUT_S}
    server = uvicorn.Server(uvicorn.Config(app, port=port, **(options | config)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(30)
