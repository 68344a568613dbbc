"""Where model files are cached, and their SHA-256 hashes (for provenance), computed once."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

_CHUNK = 1 << 22


def default_cache_dir() -> Path:
    """``$CALLQA_MODEL_CACHE``, else ``$XDG_CACHE_HOME/callqa/models``, else ``~/.cache/...``."""
    explicit = os.environ.get("CALLQA_MODEL_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "callqa" / "models"


def read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def file_sha256(path: Path, cache: Path | None = None) -> str:
    """SHA-256 of a weights file, memoised in the process and on disk by (path, size, mtime)."""
    stat = path.stat()
    return _file_sha256(str(path.resolve()), stat.st_size, stat.st_mtime_ns, cache)


@functools.lru_cache(maxsize=32)
def _file_sha256(path: str, size: int, mtime_ns: int, cache: Path | None) -> str:
    key = hashlib.sha256(f"{path}|{size}|{mtime_ns}".encode()).hexdigest()
    memo = (cache if cache is not None else default_cache_dir()) / "hashes" / key
    if memo.is_file():
        return memo.read_text().strip()
    digest = hashlib.sha256()
    for chunk in read_chunks(Path(path)):
        digest.update(chunk)
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        memo.write_text(digest.hexdigest() + "\n")
    except OSError:  # read-only cache: hash again in the next process
        logger.debug("cannot memoise the hash of %s in %s", path, memo)
    return digest.hexdigest()
