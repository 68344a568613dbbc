"""Multipart uploads streamed straight to a file: size-capped, never held in memory.

Only the ``file`` part may be large; every other field is capped at ``FIELD_LIMIT`` bytes.
The caller decides the destination; the file is fsynced before the parse returns. A body cut
before its closing boundary is refused, and so is a stored file whose container header does
not parse or raw audio too short to hold one frame (``check_stored_audio``).
"""

from __future__ import annotations

import logging
import mmap
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast

from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header
from starlette.requests import ClientDisconnect

from api.http.errors import ApiError
from voice.containers import fill_unknown_wav_length, parse_header

logger = logging.getLogger(__name__)

FIELD_LIMIT = 64 * 1024
MAX_PARTS = 16
HEAD_BYTES = 65536
HEADER_CHECKED = ("wav", "flac")  # read from their headers alone (Ogg would need every page)
RAW_RATE = 8000  # what a bare input_format decodes at (voice.decode)
RAW_WIDTH = {"pcm_s16le": 2, "mulaw": 1, "alaw": 1}
FRAME_S = 0.02


@dataclass(slots=True)
class Upload:
    """What a multipart upload held: the file (on disk) and the small text fields."""

    path: Path
    size: int = 0
    filename: str | None = None
    head: bytes = b""
    fields: dict[str, str] = field(default_factory=dict)


class _Receiver:
    def __init__(self, destination: Path, max_bytes: int) -> None:
        self.upload = Upload(path=destination)
        self.max_bytes = max_bytes
        self.parts = 0
        self.header_field = b""
        self.headers: dict[bytes, bytes] = {}
        self.name: str | None = None
        self.value = bytearray()
        self.sink: BinaryIO | None = None
        self.has_file = False
        self.ended = False

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise ApiError(400, f"too many form parts (at most {MAX_PARTS})")
        self.headers, self.name, self.value = {}, None, bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        key = self.header_field.lower()
        self.headers[key] = self.headers.get(key, b"") + data[start:end]

    def on_header_end(self) -> None:
        self.header_field = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = options.get(b"name")
        if name is None:
            raise ApiError(400, "a form part has no name")
        self.name = name.decode("utf-8", "replace")
        if self.name == "file":
            if self.has_file:
                raise ApiError(400, "only one file per upload")
            self.has_file = True
            filename = options.get(b"filename")
            self.upload.filename = filename.decode("utf-8", "replace")[:255] if filename else None
            self.sink = self.upload.path.open("wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.sink is not None:
            self.upload.size += len(chunk)
            if self.upload.size > self.max_bytes:
                raise ApiError(413, f"the file is larger than {self.max_bytes} bytes")
            if len(self.upload.head) < HEAD_BYTES:
                self.upload.head += chunk[: HEAD_BYTES - len(self.upload.head)]
            self.sink.write(chunk)
            return
        self.value += chunk
        if len(self.value) > FIELD_LIMIT:
            raise ApiError(413, f"form field {self.name!r} is larger than {FIELD_LIMIT} bytes")

    def on_part_end(self) -> None:
        if self.sink is not None:
            self.sink.flush()
            os.fsync(self.sink.fileno())
            self.sink.close()
            self.sink = None
        elif self.name is not None:
            try:
                self.upload.fields[self.name] = self.value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ApiError(400, f"form field {self.name!r} is not UTF-8") from exc

    def on_end(self) -> None:
        self.ended = True

    def close(self) -> None:
        if self.sink is not None:
            self.sink.close()


async def receive_upload(
    content_type: str | None, body: AsyncIterator[bytes], destination: Path, max_bytes: int
) -> Upload:
    """Parse a ``multipart/form-data`` body, writing its ``file`` part to ``destination``."""
    media, options = parse_options_header(content_type or "")
    if media != b"multipart/form-data" or not options.get(b"boundary"):
        raise ApiError(415, "upload a recording as multipart/form-data with a 'file' part")
    receiver = _Receiver(destination, max_bytes)
    parser = MultipartParser(
        options[b"boundary"],
        {  # type: ignore[arg-type]
            "on_part_begin": receiver.on_part_begin,
            "on_part_data": receiver.on_part_data,
            "on_part_end": receiver.on_part_end,
            "on_header_field": receiver.on_header_field,
            "on_header_value": receiver.on_header_value,
            "on_header_end": receiver.on_header_end,
            "on_headers_finished": receiver.on_headers_finished,
            "on_end": receiver.on_end,
        },
    )
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise ApiError(400, f"malformed multipart body: {exc}") from exc
    except ClientDisconnect:
        logger.info(
            "client went away mid-upload (%d bytes of the file received)", receiver.upload.size
        )
        raise ApiError(400, "the client went away mid-upload") from None
    finally:
        receiver.close()
    if not receiver.ended:  # python-multipart's finalize() does not check this
        raise ApiError(400, "the upload ended before its closing boundary")
    if not receiver.has_file:
        raise ApiError(422, "the upload has no 'file' part")
    return receiver.upload


def check_stored_audio(upload: Upload, fmt: str) -> None:
    """Refuse what the job could not decode and the header already shows: a WAV or FLAC header
    that does not parse (``AudioDecodeError``, 415/422), raw audio that is an odd number of
    16-bit bytes or shorter than one 20 ms frame (422)."""
    if fmt in RAW_WIDTH:
        width, frame = RAW_WIDTH[fmt], round(RAW_RATE * FRAME_S) * RAW_WIDTH[fmt]
        if upload.size % width:
            raise ApiError(
                422, f"{fmt} audio is whole {width}-byte samples; got {upload.size} bytes"
            )
        if upload.size < frame:
            raise ApiError(
                422,
                f"{fmt} audio of {upload.size} bytes is shorter than one 20 ms frame"
                f" ({frame} bytes at {RAW_RATE} Hz)",
            )
    elif fmt in HEADER_CHECKED:
        head = fill_unknown_wav_length(upload.head) if fmt == "wav" else upload.head
        if head != upload.head:  # a recorder left the length unknown: the head is what counts
            parse_header(fmt, head)
            return
        with (
            upload.path.open("rb") as file,
            mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as view,
        ):
            parse_header(fmt, cast(bytes, view))  # reads only the pages the header walk touches
