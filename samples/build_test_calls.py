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
SHARED = ROOT.parent / "shared" / "data"  # EmoDB test-split clips (speakers 15 and 16)
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
    clip: str = ""  # a real recording in tests/data (or emodb/... in the shared data)
    gap_s: float = 0.6  # silence before this line (negative: talks over the previous line)
    voice: str = ""  # espeak-ng voice of this line (default: the call's agent voice)
    emotion: str = ""  # acted emotion of an EmoDB clip


CUSTOMER_VOICE = "en-us+f2"
EMODB_TEXT = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}

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


C = CUSTOMER_VOICE
STEREO_CALLS: dict[str, tuple[str, tuple[Line, ...]]] = {
    # every required line said, in order; a return
    "compliant-return": (
        "en-us+m3",
        (
            Line(
                "agent",
                "Thank you for calling Northwind Shop, my name is Anna. "
                "This call is recorded for quality and training. How can I help you today?",
                gap_s=0.5,
            ),
            Line(
                "customer",
                "Hi. The shoes I ordered last week don't fit. "
                "I would like to return them and get a refund.",
                voice=C,
            ),
            Line(
                "agent",
                "I'm sorry to hear that, I understand how frustrating that is. "
                "Can I have your order number and the name on the order, please?",
            ),
            Line(
                "customer",
                "Yes, the order number is 5 5 7 2 1, and the name is Maria Lopez.",
                voice=C,
            ),
            Line(
                "agent",
                "Thank you, Maria. I can see your order for the running shoes. "
                "I will email you a free return label, and the refund goes back to your "
                "card within five days.",
            ),
            Line("customer", "Great, thank you so much.", voice=C),
            Line(
                "agent",
                "Is there anything else I can help you with today? "
                "Thank you for calling Northwind, have a great day.",
            ),
        ),
    ),
    # late greeting without company name, no disclosure, cancel without retention offer,
    # a forbidden phrase, no closing
    "missing-lines-cancel": (
        "en-gb+m1",
        (
            Line("customer", "Hello? Hello, is anyone there?", voice=C, gap_s=2.0),
            Line("customer", "I have been waiting for ages.", voice=C, gap_s=8.0),
            Line("agent", "Yeah, hi. What do you want?", gap_s=4.0),
            Line(
                "customer",
                "I want to cancel my order. It still hasn't shipped after two weeks.",
                voice=C,
            ),
            Line("agent", "Calm down. That's not my problem, the warehouse is slow."),
            Line("customer", "Just cancel it, please.", voice=C),
            Line("agent", "Fine. It's cancelled."),
        ),
    ),
    # payment taken over the phone: card number and security code read out
    "payment-card": (
        "en-us+m3",
        (
            Line(
                "agent",
                "Thank you for calling Northwind Shop, this is David. "
                "This call may be recorded. How can I help you?",
                gap_s=0.5,
            ),
            Line("customer", "I want to pay the outstanding balance on my order.", voice=C),
            Line(
                "agent",
                "Sure. For your security, your card details will not be recorded. "
                "Please read me the long card number.",
            ),
            Line("customer", "It is 4 1 1 1, 1 1 1 1, 1 1 1 1, 1 1 1 1.", voice=C),
            Line("agent", "And the three digit security code on the back?"),
            Line("customer", "The security code is 7 3 7.", voice=C),
            Line(
                "agent",
                "Thank you, the payment went through. You can reach us on "
                "0 2 0 7 9 4 6 0 9 5 8 or at help at northwind dot com. "
                "Is there anything else I can help you with?",
            ),
            Line("customer", "No, that's all, thank you.", voice=C),
            Line("agent", "Thank you for calling Northwind. Have a nice day."),
        ),
    ),
    # a customer who starts calm and gets angry (real acted speech, EmoDB test speaker 16)
    "angry-customer": (
        "en-us+m3",
        (
            Line(
                "agent",
                "Thank you for calling Northwind Shop, my name is Anna. How can I help you today?",
                gap_s=0.5,
            ),
            Line("customer", clip="emodb/16a01Nc.wav", emotion="neutral"),
            Line("customer", clip="emodb/16a02Nb.wav", emotion="neutral"),
            Line("agent", "I see. Let me check that for you. One moment please."),
            Line("customer", clip="emodb/16a04Wb.wav", emotion="anger"),
            Line("customer", clip="emodb/16a01Wb.wav", emotion="anger"),
            Line("agent", "I am very sorry. I will transfer you to my supervisor."),
            Line("customer", clip="emodb/16a02Wb.wav", emotion="anger"),
        ),
    ),
}


def espeak(text: str, voice: str) -> np.ndarray:
    with tempfile.NamedTemporaryFile(suffix=".wav") as handle:
        subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "-w", handle.name, text], check=True)
        samples, rate = sf.read(handle.name, dtype="float32")
    return np.asarray(soxr.resample(samples, rate, RATE) * 0.8, dtype=np.float32)


def clip(name: str) -> np.ndarray:
    path = SHARED / name if name.startswith("emodb/") else DATA / name
    samples, rate = sf.read(path, dtype="float32")
    return np.asarray(
        soxr.resample(samples, rate, RATE) if rate != RATE else samples, dtype=np.float32
    )


def clip_text(name: str) -> str:
    if name.startswith("emodb/"):
        return EMODB_TEXT[Path(name).stem[2:5]]
    return CLIP_TEXT[name]


def build(name: str, voice: str, lines: tuple[Line, ...], *, stereo: bool = False) -> None:
    """Lay the lines on a timeline; stereo puts the agent left and the customer right."""
    pieces: list[tuple[int, int, np.ndarray]] = []
    turns = []
    at = 0
    for line in lines:
        speaker_voice = line.voice or voice
        audio = clip(line.clip) if line.clip else espeak(line.text, speaker_voice)
        at = max(0, at + int(line.gap_s * RATE))
        pieces.append((0 if line.role == "agent" else 1, at, audio))
        turn = {
            "role": line.role,
            "start": round(at / RATE, 3),
            "end": round((at + len(audio)) / RATE, 3),
            "text": clip_text(line.clip) if line.clip else line.text,
            "source": line.clip or f"espeak-ng {speaker_voice}",
        }
        if line.emotion:
            turn["emotion"] = line.emotion
        turns.append(turn)
        at += len(audio)
    channels = np.zeros((2 if stereo else 1, at + RATE // 2), np.float32)
    for channel, offset, audio in pieces:
        channels[channel if stereo else 0, offset : offset + len(audio)] += audio
    sf.write(OUT / f"{name}.wav", channels.T, RATE, subtype="PCM_16")
    label = {
        "file": f"{name}.wav",
        "layout": "stereo-agent-left" if stereo else "mono",
        "agent_voice": f"espeak-ng {voice}",
        "turns": turns,
    }
    (OUT / f"{name}.json").write_text(json.dumps(label, indent=2) + "\n")
    logging.info("wrote %s (%.1f s)", name, channels.shape[1] / RATE)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    OUT.mkdir(parents=True, exist_ok=True)
    for call_name, (agent_voice, call_lines) in CALLS.items():
        build(call_name, agent_voice, call_lines)
    for call_name, (agent_voice, call_lines) in STEREO_CALLS.items():
        build(call_name, agent_voice, call_lines, stereo=True)
