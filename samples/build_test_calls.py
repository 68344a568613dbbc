"""Builds the labelled test calls in tests/data/calls/ (needs Debian's espeak-ng).

Each call mixes a scripted agent (espeak-ng voice) with a real human caller (clips from
tests/data). Its JSON label lists every turn with its role, time and text, so tests can check
speaker turns and roles. Run from the repository root: ``python samples/build_test_calls.py``.
"""

from __future__ import annotations

import json
import logging
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
OUT = DATA / "calls"
RATE = 16000
CLIP_TEXT = {
    "en/jfk.wav": "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country.",
    "en/librispeech-1995-1837-0001.wav": "It was the first great sorrow of his life. It was not "
    "so much the loss of the cotton itself, but the fantasy, the hopes, the dreams built "
    "around it.",
    "en/librispeech-1272-128104-0000.wav": "Mr. Quilter is the apostle of the middle classes "
    "and we are glad to welcome his gospel.",
    "en/ljspeech-LJ050-0131.wav": "unless a system is established for the frequent formal "
    "review of activities thereunder. in this regard",
}


@dataclass(frozen=True)
class Line:
    role: str  # agent | customer
    text: str = ""  # spoken by espeak-ng when clip is empty
    clip: str = ""  # a real recording in tests/data
    gap_s: float = 0.6  # silence before this line (negative: talks over the previous line)


CALLS: dict[str, tuple[str, tuple[Line, ...]]] = {
    "greeting-mono": (
        "en-us+m3",
        (
            Line(
                "agent",
                "Thank you for calling Northwind Shop, my name is Anna. How can I help you today?",
                gap_s=0.4,
            ),
            Line("customer", clip="en/librispeech-1995-1837-0001.wav"),
            Line(
                "agent",
                "I am sorry to hear that. Let me check your order. "
                "Can I have your order number, please?",
            ),
            Line("customer", clip="en/jfk.wav"),
            Line(
                "agent", "Thank you. Is there anything else I can help you with? Have a great day."
            ),
        ),
    ),
    "caller-first-mono": (
        "en-gb+f3",
        (
            Line("customer", clip="en/librispeech-1272-128104-0000.wav", gap_s=0.3),
            Line(
                "agent",
                "Thank you for holding. You are speaking with Mark from Northwind "
                "support. This call is recorded for quality and training. "
                "How may I assist you?",
            ),
            Line("customer", clip="en/ljspeech-LJ050-0131.wav"),
            Line("agent", "I can help you with that. Let me look that up for you."),
        ),
    ),
}


def espeak(text: str, voice: str) -> np.ndarray:
    with tempfile.NamedTemporaryFile(suffix=".wav") as handle:
        subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "-w", handle.name, text], check=True)
        samples, rate = sf.read(handle.name, dtype="float32")
    return np.asarray(soxr.resample(samples, rate, RATE) * 0.8, dtype=np.float32)


def clip(name: str) -> np.ndarray:
    samples, rate = sf.read(DATA / name, dtype="float32")
    return np.asarray(
        soxr.resample(samples, rate, RATE) if rate != RATE else samples, dtype=np.float32
    )


def build(name: str, voice: str, lines: tuple[Line, ...]) -> None:
    pieces: list[tuple[int, np.ndarray]] = []
    turns = []
    at = 0
    for line in lines:
        audio = clip(line.clip) if line.clip else espeak(line.text, voice)
        at = max(0, at + int(line.gap_s * RATE))
        pieces.append((at, audio))
        turns.append(
            {
                "role": line.role,
                "start": round(at / RATE, 3),
                "end": round((at + len(audio)) / RATE, 3),
                "text": CLIP_TEXT[line.clip] if line.clip else line.text,
                "source": line.clip or f"espeak-ng {voice}",
            }
        )
        at += len(audio)
    mono = np.zeros(at + RATE // 2, np.float32)
    for offset, audio in pieces:
        mono[offset : offset + len(audio)] += audio
    sf.write(OUT / f"{name}.wav", mono, RATE, subtype="PCM_16")
    label = {
        "file": f"{name}.wav",
        "layout": "mono",
        "agent_voice": f"espeak-ng {voice}",
        "turns": turns,
    }
    (OUT / f"{name}.json").write_text(json.dumps(label, indent=2) + "\n")
    logging.info("wrote %s (%.1f s)", name, len(mono) / RATE)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    OUT.mkdir(parents=True, exist_ok=True)
    for call_name, (agent_voice, call_lines) in CALLS.items():
        build(call_name, agent_voice, call_lines)
