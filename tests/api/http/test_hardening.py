"""Holes found from outside (issue 13), in-process: unhandled 500s, truncated or wrong bodies,
security headers, CDN docs pages. The keys-in-logs, stalled-body and left-mid-upload cases
need a real server: ``test_hardening_server.py``.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import httpx2
import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import select

from api.store.schema import Call
from tests.api.routes_fixtures import Env, env, error_of

__all__ = ["env"]  # fixture, imported for pytest

DATA = Path(__file__).resolve().parents[2] / "data"
WAV = (DATA / "stereo" / "two-speakers-stereo.wav").read_bytes()
TELEPHONY = DATA / "telephony" / "en_queue-periodic-announce.wav"
BOUNDARY = "hardening-boundary"


def multipart_body(data: bytes) -> bytes:
    """A whole multipart body with one ``file`` part holding ``data``."""
    head = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="call.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    )
    return head.encode("ascii") + data + f"\r\n--{BOUNDARY}--\r\n".encode("ascii")


# --- 2. no unhandled 500s -----------------------------------------------------------------------

FAR_CURSOR = "WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzE0OjAwIiwgIngiXQ"  # ["0001-01-01T00:00:00+14:00","x"]


@pytest.mark.parametrize(
    "metadata",
    ['{"x": ' + "9" * 5000 + "}", "[" * 60000, '{"x": NaN}', '{"x": 1e999}', '{"x": -Infinity}'],
    ids=["5000-digit-int", "deep-nesting", "nan", "overflow-float", "infinity"],
)
def test_metadata_that_json_cannot_hold_is_422(env: Env, metadata: str) -> None:
    answer = env.client.post(
        "/v1/calls",
        files={"file": ("call.wav", WAV)},
        data={"metadata": metadata},
        headers=env.as_("ingest"),
    )
    assert error_of(answer) == (422, "invalid"), answer.text
    assert "Traceback" not in answer.text


def test_cursor_out_of_range_is_422(env: Env) -> None:
    answer = env.client.get(f"/v1/calls?cursor={FAR_CURSOR}", headers=env.as_("qa_analyst"))
    assert error_of(answer) == (422, "invalid"), answer.text
    assert "cursor" in answer.json()["error"]["message"]


# --- 3. truncated or wrong bodies get a 4xx at the door -----------------------------------------


def _post_raw(env: Env, body: bytes) -> httpx2.Response:
    return env.client.post(
        "/v1/calls",
        content=body,
        headers={
            **env.as_("ingest"),
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        },
    )


def _nothing_stored(env: Env) -> None:
    with env.services.store.session() as session:
        assert session.scalars(select(Call)).all() == []
    assert not [p for p in env.audio_root.rglob("*") if p.is_file()]


def test_upload_without_closing_boundary_is_400(env: Env) -> None:
    whole = multipart_body(WAV)
    cuts = {
        "mid-file": whole[: len(whole) // 2],
        "no closing boundary": whole[: whole.rindex(b"\r\n--")],
        "closing boundary cut": whole[:-4],
    }
    for what, body in cuts.items():
        answer = _post_raw(env, body)
        assert error_of(answer) == (400, "bad_request"), (what, answer.text)
        assert answer.json()["error"]["message"] == "the upload ended before its closing boundary"
    _nothing_stored(env)
    assert _post_raw(env, whole).status_code == 202  # the whole body still goes in


def _telephony(subtype: str, fmt: str = "WAV") -> bytes:
    samples, rate = sf.read(TELEPHONY, dtype="float32")
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def _upload(env: Env, data: bytes, **fields: str) -> httpx2.Response:
    return env.client.post(
        "/v1/calls", files={"file": ("call", data)}, data=fields, headers=env.as_("ingest")
    )


def test_header_that_does_not_parse_is_refused(env: Env) -> None:
    good = _telephony("PCM_16")
    data_at = good.index(b"data")
    broken = {
        "junk after WAVE": b"RIFF0000WAVEjunk" + bytes(4000),
        "fmt chunk cut short": good[:12] + b"fmt \x08\x00\x00\x00" + good[20:28] + good[36:],
        "data longer than the file": good[: data_at + 4] + struct.pack("<I", 10**8) + good[44:],
        "no data chunk": good[:data_at],
        "zero channels": good[:22] + b"\x00\x00" + good[24:],
        "flac cut in its metadata": _telephony("PCM_16", "FLAC")[:60],
    }
    for what, data in broken.items():
        answer = _upload(env, data)
        assert answer.status_code in (415, 422), (what, answer.text)
        assert set(answer.json()) == {"error"}, (what, answer.text)
    _nothing_stored(env)


def test_valid_headers_still_pass(env: Env) -> None:
    unknown_length = bytearray(_telephony("PCM_16"))  # as a streaming recorder leaves it
    at = unknown_length.index(b"data") + 4
    unknown_length[at : at + 4] = b"\xff\xff\xff\xff"
    wavs = {
        "pcm16 stereo": WAV,
        "mu-law": _telephony("ULAW"),
        "a-law": _telephony("ALAW"),
        "extensible": _telephony("PCM_16", "WAVEX"),
        "extensible mu-law": _telephony("ULAW", "WAVEX"),
        "unknown data length": bytes(unknown_length),
        "flac": _telephony("PCM_16", "FLAC"),
    }
    for what, data in wavs.items():
        answer = _upload(env, data)
        assert answer.status_code == 202, (what, answer.text)


def _speech_pcm(samples: int) -> bytes:
    audio, _ = sf.read(TELEPHONY, dtype="int16")
    pcm = np.asarray(audio, dtype="<i2").tobytes()
    return pcm[2000 : 2000 + 2 * samples]


def test_raw_audio_too_short_or_odd_is_422(env: Env) -> None:
    from voice import encode_mulaw

    mulaw = encode_mulaw(sf.read(TELEPHONY, dtype="float32")[0])
    refused = {
        "pcm_s16le": [_speech_pcm(159), _speech_pcm(800) + b"\x01"],
        "mulaw": [mulaw[:159]],
        "alaw": [mulaw[:100]],
    }
    for fmt, bodies in refused.items():
        for data in bodies:
            answer = _upload(env, data, input_format=fmt)
            assert error_of(answer) == (422, "invalid"), (fmt, len(data), answer.text)
    _nothing_stored(env)
    accepted = {"pcm_s16le": _speech_pcm(160), "mulaw": mulaw[:160], "alaw": mulaw}
    for fmt, data in accepted.items():
        answer = _upload(env, data, input_format=fmt)
        assert answer.status_code == 202, (fmt, answer.text)
        with env.services.store.session() as session:
            call = session.get(Call, answer.json()["call_id"])
            assert call is not None and call.format == fmt


def test_raw_audio_that_looks_like_an_mp3_frame_stays_raw(env: Env) -> None:
    data = b"\xff\xfb\x90\x00" + _speech_pcm(4000)
    answer = _upload(env, data, input_format="pcm_s16le")
    assert answer.status_code == 202, answer.text
    with env.services.store.session() as session:
        call = session.get(Call, answer.json()["call_id"])
        assert call is not None and call.format == "pcm_s16le"


# --- 4. security headers on every answer --------------------------------------------------------

API_CSP = "default-src 'none'; frame-ancestors 'none'"


def _check_headers(what: str, answer: httpx2.Response, page: bool = False) -> None:
    headers = answer.headers
    assert headers.get("x-content-type-options") == "nosniff", (what, dict(headers))
    assert headers.get("referrer-policy") == "no-referrer", (what, dict(headers))
    if page:  # the page and its files keep their own policy and caching
        assert "script-src 'self'" in headers.get("content-security-policy", ""), what
        assert headers.get("cache-control") == "no-cache", what
    else:
        assert headers.get("content-security-policy") == API_CSP, (what, dict(headers))
        assert headers.get("cache-control") == "no-store", (what, dict(headers))


def test_security_headers_on_every_answer(env: Env) -> None:
    call_id = env.store_call()
    auditor, ingest = env.as_("auditor"), env.as_("ingest")
    table: dict[str, tuple[str, str, dict[str, str], int]] = {
        "liveness": ("GET", "/healthz", {}, 200),
        "metrics": ("GET", "/metrics", {}, 200),
        "schema": ("GET", "/openapi.json", {}, 200),
        "who am I": ("GET", "/v1/me", auditor, 200),
        "list": ("GET", "/v1/calls", auditor, 200),
        "record": ("GET", f"/v1/calls/{call_id}", auditor, 200),
        "transcript": ("GET", f"/v1/calls/{call_id}/transcript.txt", auditor, 200),
        "audio": ("GET", f"/v1/calls/{call_id}/audio", auditor, 200),
        "export (streamed)": ("GET", "/v1/export", auditor, 200),
        "no key": ("GET", "/v1/calls", {}, 401),
        "wrong role": ("GET", "/v1/calls", ingest, 403),
        "unknown call": ("GET", f"/v1/calls/{'0' * 32}", auditor, 404),
        "unknown path": ("GET", "/nowhere", {}, 404),
        "wrong method": ("PATCH", "/v1/calls", auditor, 405),
        "invalid query": ("GET", "/v1/calls?limit=-1", auditor, 422),
        "not multipart": ("POST", "/v1/calls", ingest, 415),
    }
    for what, (method, path, headers, status) in table.items():
        answer = env.client.request(method, path, headers=headers)
        assert answer.status_code == status, (what, answer.status_code, answer.text[:200])
        _check_headers(what, answer)
    _check_headers("page", env.client.get("/"), page=True)
    _check_headers("page file", env.client.get("/static/app.js"), page=True)


def test_security_headers_on_a_500(env: Env) -> None:
    from fastapi.testclient import TestClient

    def broken() -> None:
        raise RuntimeError("a bug")

    env.client.app.add_api_route("/v1/broken", broken)  # type: ignore[attr-defined]
    answer = TestClient(env.client.app, raise_server_exceptions=False).get("/v1/broken")
    assert error_of(answer) == (500, "internal")
    _check_headers("500", answer)


# --- 5. no documentation pages that load scripts from a CDN -------------------------------------


def test_no_cdn_docs_pages_but_the_schema_stays(env: Env) -> None:
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert error_of(env.client.get(path)) == (404, "not_found"), path
    schema = env.client.get("/openapi.json")
    assert schema.status_code == 200 and schema.json()["info"]["title"] == "callqa"
