"""A scripted two-party stereo call built at test time with espeak-ng and sox.

The agent (English, loud) is on the left channel; the caller (Spanish, ``espeak-ng -v es``) is on
the right channel, much quieter and band-limited like a telephone leg (``sox sinc 300-3400``).
Both channels are clean (no leak of one party into the other) with a low noise floor. The caller's
turns follow the agent's with a short gap, except the last one, which the agent talks over.

Everything is deterministic: espeak-ng synthesizes the same samples each run, sox runs with
``-R`` (repeatable) and without dither on float WAVs, and the noise comes from a seeded generator.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

RATE = 16000
FloatArray = npt.NDArray[np.float32]
Span = tuple[float, float]

AGENT_LINES = (
    "Thank you for calling Northwind after sales, my name is Joe. How can I help you today?",
    "I am sorry to hear that. Could you tell me when you placed the order, please?",
    "Thank you. I can see the parcel is held at our depot. Can you confirm your address?",
    "Would you like us to send a replacement, or would you prefer a refund?",
    "Certainly. I have issued the refund, it should reach your account within five working days.",
    "You are very welcome. Thank you for calling, and have a nice day.",
)
CALLER_LINES = (
    "Hola, buenas tardes. Llamo porque mi pedido todavía no ha llegado y ya pasaron dos semanas.",
    "Lo compré en la tienda en línea a principios de mes, con la tarjeta de mi marido.",
    "Sí, la dirección es correcta. Vivo en la calle mayor, cerca de la farmacia del centro.",
    "Prefiero que me devuelvan el dinero, porque ya compré otro regalo para mi hermana.",
    "De acuerdo, muchas gracias por su ayuda. Espero recibir el reembolso pronto, adiós.",
)


@dataclass(frozen=True, slots=True)
class StereoCallSpec:
    """How loud each leg is and how the turns are laid out."""

    agent_peak: float = 0.8
    caller_peak: float = 0.1
    noise_dbfs: float = -47.0
    band_hz: tuple[int, int] = (300, 3400)
    gap_s: float = 0.5
    overtalk_s: float = 1.2  # the agent's last turn starts this long before the caller ends
    lead_s: float = 0.4
    tail_s: float = 0.8
    seed: int = 15


@dataclass(frozen=True, slots=True)
class StereoCall:
    """The built call: a stereo WAV (left agent, right caller) and where each party spoke."""

    path: Path
    agent_turns: tuple[Span, ...]
    caller_turns: tuple[Span, ...]
    spec: StereoCallSpec

    @property
    def caller_speech_s(self) -> float:
        return sum(end - start for start, end in self.caller_turns)


def require_tools() -> None:
    """Skip the calling test when espeak-ng or sox is not installed."""
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"building the stereo call needs {', '.join(missing)}")


def _run(args: list[str]) -> None:
    subprocess.run(args, check=True, capture_output=True)


def speak(text: str, voice: str, workdir: Path, name: str) -> FloatArray:
    """``text`` spoken by espeak-ng ``voice``, at 16 kHz float32, leading/trailing silence cut."""
    raw, wav = workdir / f"{name}.espeak.wav", workdir / f"{name}.wav"
    _run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(raw), text])
    _run(
        ["sox", "-R", "-D", str(raw), "-r", str(RATE), "-e", "floating-point", "-b", "32", str(wav)]
    )
    samples, rate = sf.read(wav, dtype="float32")
    assert rate == RATE
    voiced = np.flatnonzero(np.abs(samples) > 1e-3)
    return np.asarray(samples[voiced[0] : voiced[-1] + 1], dtype=np.float32)


def band_limit(samples: FloatArray, band_hz: tuple[int, int], workdir: Path) -> FloatArray:
    """A telephone leg: ``sox sinc LOW-HIGH`` (no dither, repeatable)."""
    before, after = workdir / "leg.wav", workdir / "leg-band.wav"
    sf.write(before, samples, RATE, subtype="FLOAT")
    low, high = band_hz
    _run(["sox", "-R", "-D", str(before), str(after), "sinc", f"{low}-{high}"])
    filtered, _ = sf.read(after, dtype="float32")
    return np.asarray(filtered[: len(samples)], dtype=np.float32)


def _peak(samples: FloatArray, peak: float) -> FloatArray:
    return np.asarray(samples * (peak / float(np.max(np.abs(samples)))), dtype=np.float32)


def build_stereo_call(workdir: Path, spec: StereoCallSpec | None = None) -> StereoCall:
    """Synthesize the call into ``workdir/call.wav`` (PCM16 stereo, 16 kHz)."""
    spec = spec or StereoCallSpec()
    workdir.mkdir(parents=True, exist_ok=True)
    agent = [
        _peak(speak(t, "en-us", workdir, f"agent{i}"), spec.agent_peak)
        for i, t in enumerate(AGENT_LINES)
    ]
    caller = [speak(t, "es", workdir, f"caller{i}") for i, t in enumerate(CALLER_LINES)]
    placed: list[tuple[str, int, FloatArray]] = []
    at = spec.lead_s
    for i, clip in enumerate(agent):
        placed.append(("agent", round(at * RATE), clip))
        at += len(clip) / RATE + spec.gap_s
        if i < len(caller):
            placed.append(("caller", round(at * RATE), caller[i]))
            at += len(caller[i]) / RATE + spec.gap_s
            if i == len(caller) - 1:  # the agent's goodbye runs over the caller's last words
                at -= spec.gap_s + spec.overtalk_s
    length = max(offset + len(clip) for _, offset, clip in placed) + round(spec.tail_s * RATE)
    tracks = {"agent": np.zeros(length, np.float32), "caller": np.zeros(length, np.float32)}
    turns: dict[str, list[Span]] = {"agent": [], "caller": []}
    for party, offset, clip in placed:
        tracks[party][offset : offset + len(clip)] += clip
        turns[party].append((offset / RATE, (offset + len(clip)) / RATE))
    rng = np.random.default_rng(spec.seed)
    noise_rms = 10 ** (spec.noise_dbfs / 20)
    left = tracks["agent"] + rng.normal(0, noise_rms, length).astype(np.float32)
    # the caller leg's noise is on the line too, so it goes through the band filter with the voice
    in_band = (spec.band_hz[1] - spec.band_hz[0]) / (RATE / 2)
    line_noise = rng.normal(0, noise_rms / np.sqrt(in_band), length).astype(np.float32)
    caller_speech = _peak(tracks["caller"], 1.0)
    right = band_limit(caller_speech + line_noise / spec.caller_peak, spec.band_hz, workdir)
    right = np.asarray(right * spec.caller_peak, dtype=np.float32)
    path = workdir / "call.wav"
    sf.write(path, np.stack([left, right], axis=1), RATE, subtype="PCM_16")
    return StereoCall(path, tuple(turns["agent"]), tuple(turns["caller"]), spec)
