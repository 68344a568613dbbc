"""Format sniffing from magic bytes and cheap container-header checks (no decoding).

The parsers read only headers (WAV chunks, FLAC STREAMINFO, Ogg page headers) so that broken,
truncated or hostile files are refused with a clear :class:`AudioDecodeError` before any decoder
sees them, and so that over-long files are refused before they are decoded.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass

from pipelines.core.errors import AudioDecodeError

WAV_TAGS = {1: "PCM", 3: "IEEE float", 6: "A-law", 7: "mu-law"}
_WAV_BITS = {1: (8, 16, 24, 32), 3: (32, 64), 6: (8,), 7: (8,)}
_NON_AUDIO = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "gzip data"),
    (b"\x7fELF", "an executable"),
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Header:
    """What a container header declares; ``None`` where it does not say."""

    format: str
    sample_rate: int | None = None
    channels: int | None = None
    frames: int | None = None
    codec: str | None = None

    @property
    def duration_s(self) -> float | None:
        if self.frames is None or not self.sample_rate:
            return None
        return self.frames / self.sample_rate


def _id3_end(data: bytes) -> int:
    """Offset just past an ID3v2 tag at the start of ``data`` (0 if there is none)."""
    if len(data) < 10 or data[:3] != b"ID3":
        return 0
    size_bytes = data[6:10]
    if any(b & 0x80 for b in size_bytes):
        raise AudioDecodeError("invalid header: ID3 tag size is not syncsafe")
    size = int.from_bytes(bytes(b & 0x7F for b in size_bytes), "big")
    end = 10 + size + (10 if data[5] & 0x10 else 0)
    if end > len(data):
        raise AudioDecodeError(f"truncated mp3: ID3 tag declares {size} bytes past end of file")
    return end


def _is_mpeg_frame(data: bytes, offset: int) -> bool:
    if offset + 4 > len(data) or data[offset] != 0xFF or data[offset + 1] & 0xE0 != 0xE0:
        return False
    version, layer = (data[offset + 1] >> 3) & 3, (data[offset + 1] >> 1) & 3
    bitrate, rate = data[offset + 2] >> 4, (data[offset + 2] >> 2) & 3
    return version != 1 and layer != 0 and bitrate not in (0, 15) and rate != 3


def sniff(data: bytes) -> str | None:
    """Name the audio format from magic bytes: wav, flac, ogg, opus, mp3, m4a, or None."""
    head = data[:64]
    if head[:4] in (b"RIFF", b"RIFX") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "opus" if b"OpusHead" in data[:512] else "ogg"
    if head[4:8] == b"ftyp":
        return "m4a"
    if head[:3] == b"ID3":
        end = _id3_end(data)
        return "flac" if data[end : end + 4] == b"fLaC" else "mp3"
    if _is_mpeg_frame(data, 0):
        return "mp3"
    return None


def describe_non_audio(data: bytes) -> str | None:
    """A short description when ``data`` is obviously not audio (an image, text, ...)."""
    for magic, what in _NON_AUDIO:
        if data.startswith(magic):
            return what
    sample = data[:65536]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:
            return None
        text = sample[: exc.start].decode("utf-8")
    if not text:
        return None
    printable = sum(ch.isprintable() or ch in "\t\r\n" for ch in text)
    return "text" if printable >= 0.98 * len(text) else None


_UNKNOWN_LENGTHS = (0, 0xFFFFFFFF)


def fill_unknown_wav_length(data: bytes) -> bytes:
    """Set the sizes that streaming recorders leave unknown (0 or 0xFFFFFFFF) to what is there.

    Only the RIFF size and a data chunk that runs to the end of the file are patched.
    """
    offset = 12
    while offset + 8 <= len(data):
        cid, size = struct.unpack_from("<4sI", data, offset)
        if cid == b"data":
            available = len(data) - offset - 8
            if size not in _UNKNOWN_LENGTHS or available == 0:
                return data
            logger.info("wav with unknown data length: using the %d bytes present", available)
            patched = bytearray(data)
            struct.pack_into("<I", patched, 4, len(data) - 8)
            struct.pack_into("<I", patched, offset + 4, available)
            return bytes(patched)
        if size in _UNKNOWN_LENGTHS and cid != b"data":
            return data
        offset += 8 + size + (size & 1)
    return data


def parse_wav(data: bytes) -> Header:
    """Walk the RIFF chunks; check the fmt chunk and that the data chunk is complete."""
    if data[:4] == b"RIFX":
        raise AudioDecodeError("unsupported wav: big-endian RIFX")
    n, offset = len(data), 12
    fmt: tuple[int, int, int, int, int] | None = None
    while True:
        if offset + 8 > n:
            what = "no data chunk" if fmt else "no fmt chunk"
            raise AudioDecodeError(f"truncated or corrupt wav: {what} before end of file")
        cid, size = struct.unpack_from("<4sI", data, offset)
        body = offset + 8
        if not all(32 <= b < 127 for b in cid):
            raise AudioDecodeError(f"corrupt wav: garbage instead of a chunk at byte {offset}")
        if cid == b"data":
            break
        if size > n - body:
            raise AudioDecodeError(
                f"truncated or corrupt wav: chunk {cid.decode()!r} declares {size} bytes,"
                f" only {n - body} remain"
            )
        if cid == b"fmt ":
            if size < 16:
                raise AudioDecodeError(f"invalid wav header: fmt chunk of {size} bytes")
            tag, channels, rate, _, align, bits = struct.unpack_from("<HHIIHH", data, body)
            if tag == 0xFFFE and size >= 40:
                tag = struct.unpack_from("<H", data, body + 24)[0]
            fmt = (tag, channels, rate, align, bits)
        offset = body + size + (size & 1)
    if fmt is None:
        raise AudioDecodeError("corrupt wav: data chunk comes before the fmt chunk")
    tag, channels, rate, align, bits = fmt
    if channels == 0 or align == 0:
        raise AudioDecodeError(f"invalid wav header: channels={channels}, block align={align}")
    if tag in _WAV_BITS:
        if bits not in _WAV_BITS[tag]:
            raise AudioDecodeError(f"unsupported wav: {bits}-bit {WAV_TAGS[tag]}")
        if align != channels * ((bits + 7) // 8):
            raise AudioDecodeError(
                f"invalid wav header: block align {align} for {channels} x {bits}-bit"
            )
    available = n - body
    if size > available:
        raise AudioDecodeError(
            f"truncated wav: data chunk declares {size} bytes but the file holds {available}"
            f" ({size - available} bytes missing)"
        )
    if size == 0:
        raise AudioDecodeError("empty wav: the data chunk holds 0 samples")
    codec = WAV_TAGS.get(tag, f"format tag 0x{tag:04x}")
    return Header("wav", rate, channels, size // align if tag in _WAV_BITS else None, codec)


def parse_flac(data: bytes) -> Header:
    """Check the metadata blocks and read STREAMINFO (rate, channels, total samples)."""
    offset = _id3_end(data) + 4
    info: Header | None = None
    while True:
        if offset + 4 > len(data):
            raise AudioDecodeError("truncated flac: metadata ends before the audio frames")
        block_type, last, body = data[offset] & 0x7F, data[offset] & 0x80, offset + 4
        length = int.from_bytes(data[offset + 1 : body], "big")
        if body + length > len(data):
            raise AudioDecodeError(
                f"corrupt or truncated flac: metadata block of {length} bytes overruns the file"
            )
        if info is None:
            if block_type != 0 or length != 34:
                raise AudioDecodeError("corrupt flac: first metadata block is not STREAMINFO")
            packed = int.from_bytes(data[body + 10 : body + 18], "big")
            rate, channels = packed >> 44, ((packed >> 36) & 0x7) + 1
            info = Header("flac", rate, channels, (packed & ((1 << 36) - 1)) or None, "FLAC")
        offset = body + length
        if last:
            break
    if data[offset : offset + 2] not in (b"\xff\xf8", b"\xff\xf9"):
        raise AudioDecodeError("corrupt flac: no audio frame after the metadata")
    return info


def parse_ogg(data: bytes, name: str = "ogg") -> Header:
    """Walk every Ogg page header; read the Vorbis/Opus id header and the last granule."""
    n, offset, serial, granule = len(data), 0, None, -1
    first_body = b""
    while offset < n:
        if data[offset : offset + 4] != b"OggS":
            raise AudioDecodeError(f"corrupt {name}: garbage instead of a page at byte {offset}")
        if offset + 27 > n or offset + 27 + data[offset + 26] > n:
            raise AudioDecodeError(f"truncated {name}: the last page header is cut off")
        segments = data[offset + 27 : offset + 27 + data[offset + 26]]
        body, end = offset + 27 + len(segments), offset + 27 + len(segments) + sum(segments)
        if end > n:
            raise AudioDecodeError(f"truncated {name}: last page is {end - n} bytes short")
        page_granule, page_serial = struct.unpack_from("<qI", data, offset + 6)
        if serial is None:
            serial, first_body = page_serial, data[body:end]
        elif page_serial == serial and page_granule != -1:
            granule = page_granule
        offset = end
    if first_body.startswith(b"OpusHead") and len(first_body) >= 19:
        channels, preskip = first_body[9], struct.unpack_from("<H", first_body, 10)[0]
        frames = granule - preskip if granule > preskip else None
        return Header("opus", 48000, channels, frames, "Opus")
    if first_body.startswith(b"\x01vorbis") and len(first_body) >= 16:
        channels, rate = first_body[11], struct.unpack_from("<I", first_body, 12)[0]
        return Header("ogg", rate, channels, granule if granule > 0 else None, "Vorbis")
    return Header("ogg")


def parse_mp4(data: bytes) -> Header:
    """Walk the top-level ISO-BMFF boxes: each must fit in the file and a moov box must exist."""
    n, offset, kinds = len(data), 0, set()
    while offset < n:
        if offset + 8 > n:
            raise AudioDecodeError(f"truncated m4a: box header cut off at byte {offset}")
        size, kind = struct.unpack_from(">I4s", data, offset)
        head = 8
        if size == 1:
            size, head = (
                (struct.unpack_from(">Q", data, offset + 8)[0] if offset + 16 <= n else 0),
                16,
            )
        elif size == 0:
            size = n - offset
        if not all(32 <= b < 127 for b in kind) or size < head:
            raise AudioDecodeError(f"corrupt m4a: garbage instead of a box at byte {offset}")
        if offset + size > n:
            raise AudioDecodeError(
                f"truncated m4a: box {kind.decode()!r} declares {size} bytes,"
                f" {offset + size - n} bytes missing"
            )
        kinds.add(kind)
        offset += size
    if b"moov" not in kinds:
        raise AudioDecodeError("corrupt m4a: no moov box (the index of the media is missing)")
    return Header("m4a")


def parse_header(fmt: str, data: bytes) -> Header:
    """Dispatch to the header check for ``fmt``; formats left to PyAV get an empty header."""
    try:
        if fmt == "wav":
            return parse_wav(data)
        if fmt == "flac":
            return parse_flac(data)
        if fmt in ("ogg", "opus"):
            return parse_ogg(data, fmt)
        if fmt == "m4a":
            return parse_mp4(data)
        if fmt == "mp3":
            start = _id3_end(data)
            if not any(_is_mpeg_frame(data, i) for i in range(start, min(start + 4096, len(data)))):
                raise AudioDecodeError("corrupt mp3: no MPEG audio frame after the header")
    except (struct.error, IndexError, ValueError) as exc:
        raise AudioDecodeError(f"corrupt {fmt}: unreadable header ({exc})") from exc
    return Header(fmt)
