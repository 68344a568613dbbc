"""Live alerts while a call runs: personal data spoken, script compliance, customer escalation.

One `LiveMonitor` per running call::

    monitor = LiveMonitor(stages, policy, score_agents=tenant_scores_agents)
    for alert in monitor.on_partial(segment): ... # each partial: personal data heard early
    update = monitor.on_final(segment, samples)   # each final, role set from its track
    send_final(update.segment)                    # redacted: placeholders instead of PII
    for alert in update.alerts: send(alert.to_event())
    for alert in monitor.tick(call_time_s): ...   # about once a second

Alerts, each raised at most once (``at_s`` is the call time it was raised):

* ``pii``: a final holds personal data: its types (never the values), "the recording is
  flagged". The final is redacted with the finals of the last ``pii_context_s`` (a card number
  read across two finals, a security code answering the agent's question), as in batch. A
  partial already holding it (a card number read in full) raises the alert while its speaker
  is still talking (`LiveMonitor.on_partial`); its final then does not raise it again.
* ``compliance`` (`pipelines.live.compliance`): a forbidden phrase said; a required line with
  ``within_s``/``before_s`` not said by its deadline; a conditional's response not given within
  ``within_s_after`` of its first trigger. Order and closing rules, and lines without a
  deadline, are left to the record's batch verdict, which stays authoritative.
* ``emotion``: the customer's escalation (`pipelines.analytics.emotion.escalation`, the
  human-takeover threshold), once per call, with the turn where it happened. Only the new
  turn is scored (voice and words fused as in batch); agents only with ``score_agents``.

Cost per final is bounded: one redaction of a few finals, one match of the new final against
the lines still to watch, one turn's emotion. Personal data is kept in memory only as long as
the PII context needs it; alerts carry rule ids, times and types, never transcript text.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from pipelines.analytics.emotion import EmotionOptions, escalation, score_emotions
from pipelines.analytics.stage import AnalyticsStages
from pipelines.compliance.policy import Policy, Severity
from pipelines.core.audio import SAMPLE_RATE
from pipelines.core.types import Audio, AudioSource, CallAudio, Emotion, PiiEntity, Samples, Segment
from pipelines.live.alert import Alert, AlertKind
from pipelines.live.compliance import ChecklistItem, LiveCompliance

__all__ = ["Alert", "AlertKind", "ChecklistItem", "LiveAlertOptions", "LiveMonitor", "LiveUpdate"]

logger = logging.getLogger(__name__)

SERIOUS_PII = frozenset({"CARD", "CVV", "NATIONAL_ID", "IBAN"})


@dataclass(frozen=True, slots=True)
class LiveUpdate:
    """A final as it may be shown (redacted, with the customer's emotion) and its alerts."""

    segment: Segment
    alerts: tuple[Alert, ...]


@dataclass(frozen=True, slots=True)
class LiveAlertOptions:
    """``deadline_grace_s``: a deadline is judged this long after it passed, so that the final
    of speech around it has arrived; ``max_wait_s``: speech still open at the deadline (see
    `LiveMonitor.tick`) delays the verdict at most this long. ``pii_context_s`` and
    ``pii_context_segments``: the earlier finals a new final is redacted with. ``join_gap_s``:
    a line may run over two finals of one role at most this far apart (as in batch)."""

    deadline_grace_s: float = 2.0
    max_wait_s: float = 20.0
    pii_context_s: float = 30.0
    pii_context_segments: int = 6
    join_gap_s: float = 2.0


class LiveMonitor:
    """Alerts for one running call; its methods may be called from any thread (one at a time).

    ``stages``: the analytics stages (``redactor``, emotion models and ``emotion`` options,
    ``compliance`` checker; their ``policy`` is not used); ``policy``: this call's policy, or
    None for no compliance alerts; ``score_agents``: the tenant's opt-in to scoring agents.
    """

    def __init__(
        self,
        stages: AnalyticsStages,
        policy: Policy | None,
        *,
        score_agents: bool = False,
        options: LiveAlertOptions | None = None,
    ) -> None:
        self.stages = stages
        self.options = options or LiveAlertOptions()
        self.emotion_options: EmotionOptions = replace(stages.emotion, score_agents=score_agents)
        self._lock = threading.Lock()
        self._recent: deque[Segment] = deque()  # unredacted: PII context only, kept briefly
        self._pii_types: dict[int, set[str]] = {}  # alerted types per recent segment
        self._turns: list[Segment] = []  # scored customer turns, without their text
        self._escalated = False
        self._alerts: list[Alert] = []
        self.compliance: LiveCompliance | None = None
        if policy is not None:
            if stages.compliance is None:
                logger.warning("policy %s given without a compliance checker: no live "
                               "compliance alerts", policy.id)  # fmt: skip
            else:
                self.compliance = LiveCompliance(stages.compliance, policy, self.options.join_gap_s)

    @property
    def alerts(self) -> tuple[Alert, ...]:
        """Every alert raised so far, in order."""
        with self._lock:
            return tuple(self._alerts)

    def on_final(self, segment: Segment, samples: Samples | None) -> LiveUpdate:
        """Redact a final, score its emotion, watch the script; return what to send.

        ``segment``: the final, times in call seconds, ``role`` set from its track;
        ``samples``: its audio at 16 kHz (for the voice emotion model), or None.
        """
        said = self.on_text(segment)
        felt = self.on_voice(said.segment, samples)
        return LiveUpdate(felt.segment, said.alerts + felt.alerts)

    def on_partial(self, segment: Segment) -> tuple[Alert, ...]:
        """Alerts for personal data a partial already holds (milliseconds; nothing is kept but
        the types alerted, under the partial's id, which its final shares)."""
        with self._lock:
            if self.stages.redactor is None:
                return ()
            redaction = self.stages.redactor.redact([*self._recent, segment])
            entities = [e for e in redaction.entities if e.segment_id == segment.id]
            if not entities:
                return ()
            self._forget_retracted()
            seen = self._pii_types.setdefault(segment.id, set())
            new = sorted({e.type for e in entities} - seen)
            if not new:
                return ()
            seen.update(new)
            alert = _pii_alert(segment, segment.id, new, entities)
            self._alerts.append(alert)
            return (alert,)

    def on_text(self, segment: Segment) -> LiveUpdate:
        """The cheap half of `on_final` (milliseconds): redaction and compliance, no emotion."""
        with self._lock:
            redacted, alerts = self._redact(segment)
            if self.compliance is not None:
                alerts += self.compliance.on_final(redacted)
            self._alerts += alerts
            return LiveUpdate(redacted, tuple(alerts))

    def on_voice(self, segment: Segment, samples: Samples | None) -> LiveUpdate:
        """The costly half of `on_final`: see `on_voices`."""
        return self.on_voices([(segment, samples)])[0]

    def on_voices(self, finals: Sequence[tuple[Segment, Samples | None]]) -> list[LiveUpdate]:
        """The costly half of `on_final` for redacted finals from `on_text`, in their order:
        their emotion and the escalation alert. The voice encoder runs once for all of them
        (one pass per 30 s of speech, about a second of one core), so finals that queued up
        while it ran cost one pass together. `on_text` of later finals need not wait."""
        emotions = self._emotions(finals)  # outside the lock: it takes long
        updates = []
        for (segment, _), emotion in zip(finals, emotions, strict=True):
            if emotion is None:
                updates.append(LiveUpdate(segment, ()))
                continue
            segment = replace(segment, emotion=emotion)
            with self._lock:
                alerts = self._escalation(segment)
                self._alerts += alerts
            updates.append(LiveUpdate(segment, tuple(alerts)))
        return updates

    def checklist(self) -> tuple[ChecklistItem, ...]:
        """The policy's rules with their live status (empty without a policy)."""
        with self._lock:
            return () if self.compliance is None else self.compliance.checklist()

    def tick(self, call_time_s: float, *, open_since_s: float | None = None) -> tuple[Alert, ...]:
        """Deadlines passed by ``call_time_s``: alerts for lines not said in time.

        ``open_since_s``: the start of the earliest speech not yet delivered as a final (from
        the partials), if any; a deadline after it waits for that final (up to ``max_wait_s``).
        """
        with self._lock:
            if self.compliance is None:
                return ()
            alerts = self.compliance.tick(
                call_time_s,
                open_since_s,
                grace_s=self.options.deadline_grace_s,
                max_wait_s=self.options.max_wait_s,
            )
            self._alerts += alerts
            return tuple(alerts)

    # ---- personal data --------------------------------------------------------------------

    def _redact(self, segment: Segment) -> tuple[Segment, list[Alert]]:
        redactor = self.stages.redactor
        if redactor is None:
            return segment, []
        self._forget_before(segment.start)
        redaction = redactor.redact([*self._recent, segment])
        self._recent.append(segment)
        self._pii_types.setdefault(segment.id, set())
        by_segment: dict[int, list[PiiEntity]] = {}
        for entity in redaction.entities:
            by_segment.setdefault(entity.segment_id, []).append(entity)
        alerts = []
        for segment_id, entities in sorted(by_segment.items(), key=lambda kv: kv[0] != segment.id):
            seen = self._pii_types.setdefault(segment_id, set())
            new = sorted({e.type for e in entities} - seen)
            if new:
                seen.update(new)
                alerts.append(_pii_alert(segment, segment_id, new, entities))
        redacted = next(s for s in reversed(redaction.segments) if s.id == segment.id)
        return redacted, alerts

    def _forget_before(self, start_s: float) -> None:
        """Drop the PII context a segment starting at ``start_s`` no longer needs."""
        opts = self.options
        while self._recent and (
            len(self._recent) >= opts.pii_context_segments
            or self._recent[0].end < start_s - opts.pii_context_s
        ):
            self._pii_types.pop(self._recent.popleft().id, None)

    def _forget_retracted(self) -> None:
        """Bound the alerted types kept for partials: those of partials that never became a
        final (retracted) go, oldest first."""
        keep = self.options.pii_context_segments
        if len(self._pii_types) > 4 * keep:
            finals = {s.id for s in self._recent}
            for segment_id in sorted(self._pii_types)[:-keep]:
                if segment_id not in finals:
                    del self._pii_types[segment_id]

    # ---- emotion -------------------------------------------------------------------------

    def _emotions(self, finals: Sequence[tuple[Segment, Samples | None]]) -> list[Emotion | None]:
        """Each final's emotion (None for roles not scored): their audio laid end to end as
        one speaker's turns, scored together as batch scores a call."""
        opts = self.emotion_options
        text = self.stages.text_sentiment
        acoustic = self.stages.acoustic_emotion
        if acoustic is None and text is None:
            return [None] * len(finals)
        pieces, turns, at = [], [], 0
        for segment, samples in finals:
            audio = np.asarray(samples if samples is not None else (), dtype=np.float32)
            start = at / SAMPLE_RATE
            turns.append(replace(segment, start=start, end=start + len(audio) / SAMPLE_RATE,
                                 channel=0))  # fmt: skip
            pieces.append(audio)
            at += len(audio)
        audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        source = AudioSource("", "live", SAMPLE_RATE, 1, len(audio) / SAMPLE_RATE)
        call = CallAudio(source, (Audio(audio, SAMPLE_RATE),))
        voiced = acoustic if len(audio) else None
        return [s.emotion for s in score_emotions(turns, call, voiced, text, opts)]

    def _escalation(self, segment: Segment) -> list[Alert]:
        opts = self.emotion_options
        if segment.role != "customer" or self._escalated:
            return []
        self._turns.append(replace(segment, text="", words=(), translation=None))
        summary = escalation(self._turns, opts)
        if not summary["detected"]:
            return []
        self._escalated = True
        when = float(summary["at_s"])
        alert = Alert(
            kind="emotion",
            at_s=segment.end,
            severity="critical",
            message=f"customer escalation since {when:.1f} s: consider a supervisor taking over",
            segment_id=int(summary["segment_id"]),
            details={
                "escalated_at_s": round(when, 3),
                "reason": str(summary["reason"]),
                "from_valence": summary["from_valence"],
                "to_valence": summary["to_valence"],
                "turns": int(summary["turns"]),
            },
        )
        logger.info("live escalation alert at %.1f s (%s)", segment.end, summary["reason"])
        return [alert]


def _pii_alert(
    final: Segment, segment_id: int, types: Sequence[str], entities: Sequence[PiiEntity]
) -> Alert:
    late = segment_id != final.id
    where = f"segment {segment_id}, seen with a later one" if late else f"at {final.start:.1f} s"
    severity: Severity = "critical" if SERIOUS_PII.intersection(types) else "major"
    return Alert(
        kind="pii",
        at_s=final.end,
        severity=severity,
        message=f"personal data spoken ({', '.join(types)}) {where}: the recording is flagged",
        segment_id=segment_id,
        details={
            "types": list(types),
            "entities": [
                {
                    "type": e.type,
                    "start": round(e.start, 3),
                    "end": round(max(e.start, min(e.end, final.end)), 3),  # not yet heard: cut
                }
                for e in entities
                if e.type in types
            ],
            "late": late,
        },
    )
