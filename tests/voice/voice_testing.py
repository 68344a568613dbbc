"""Helpers for the voice tests: the copied real clips, encoders that build other formats from
them, and similarity measures. Nothing here reads outside ``tests/data``."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import soundfile as sf

DATA = Path(__file__).resolve().parents[1] / "data"
JFK = DATA / "en" / "jfk.wav"
STEREO = DATA / "stereo" / "two-speakers-stereo.wav"
TELEPHONY_EN = DATA / "telephony" / "en_queue-periodic-announce.wav"

Array = npt.NDArray[np.float32]


def read_clip(path: Path) -> tuple[Array, int]:
    """A clip as float32 (frames, channels) and its rate."""
    samples, rate = sf.read(path, dtype="float32", always_2d=True)
    return samples, int(rate)


def encode_pyav(samples: Array, rate: int, codec: str, container: str, out_rate: int) -> bytes:
    """Encode (frames, channels) float32 with FFmpeg through PyAV; returns the file's bytes."""
    layout = "mono" if samples.shape[1] == 1 else "stereo"
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as output:
        stream = output.add_stream(codec, rate=out_rate, layout=layout)
        assert isinstance(stream, av.AudioStream)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples.T), format="fltp", layout=layout
        )
        frame.sample_rate = rate
        resampler = av.AudioResampler(
            format=stream.codec_context.format, layout=layout, rate=out_rate
        )
        for source in (frame, None):
            for converted in resampler.resample(source):
                output.mux(stream.encode(converted))
        output.mux(stream.encode(None))
    return buffer.getvalue()


def write_sf(samples: Array, rate: int, fmt: str, subtype: str) -> bytes:
    """Write with soundfile into bytes (``fmt`` like WAV, FLAC, OGG)."""
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def best_correlation(reference: Array, test: Array, max_lag: int = 4000) -> float:
    """Largest normalised cross-correlation over lags up to ``max_lag`` samples (codec delay)."""
    n = min(len(reference), len(test))
    a = reference[:n].astype(np.float64)
    b = test[:n].astype(np.float64)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    xcorr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    lags = np.concatenate((xcorr[: max_lag + 1], xcorr[-max_lag:]))
    return float(np.max(lags) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def snr_db(reference: Array, test: Array) -> float:
    """Signal-to-noise ratio of ``test`` against ``reference`` (same length), in dB."""
    noise = np.sum((reference.astype(np.float64) - test) ** 2)
    signal = np.sum(reference.astype(np.float64) ** 2)
    return float(10 * np.log10(signal / noise)) if noise > 0 else float("inf")


def envelope(samples: Array, rate: int, window_s: float = 0.05) -> npt.NDArray[np.float64]:
    """Frame RMS energy profile (dB) of one channel."""
    size = int(rate * window_s)
    count = len(samples) // size
    blocks = samples[: count * size].astype(np.float64).reshape(count, size)
    return np.asarray(10 * np.log10(np.mean(blocks**2, axis=1) + 1e-10), dtype=np.float64)
