"""Where model files are cached, and their SHA-256 hashes (for provenance), computed once."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

_CHUNK = 1 << 22
_SOURCE_MARK = "source.sha256"  # in a converted model's directory: what it was made from


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


def converted(kind: str, source: Path, weights: Path, target: Path) -> Path:
    """``target``, converted from ``source`` by ``python -m models.convert KIND`` in a process
    of its own unless it is there already, made from the same ``weights`` (SHA-256 checked).
    Concurrent processes each convert into a directory of their own; the first to finish wins."""
    from pipelines.core.errors import ModelUnavailableError

    digest = file_sha256(weights)
    mark = target / _SOURCE_MARK
    if mark.is_file() and mark.read_text().strip() == digest:
        return target
    logger.info("converting %s into %s (once per model cache)", source, target)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    command = [sys.executable, "-m", "models.convert", kind, str(source), str(partial)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise ModelUnavailableError(str(source), f"conversion failed: {done.stderr[-500:]}")
    (partial / _SOURCE_MARK).write_text(digest + "\n")
    shutil.rmtree(target, ignore_errors=True)
    try:
        partial.replace(target)
    except OSError:  # another process put its conversion there first
        shutil.rmtree(partial, ignore_errors=True)
    return target
