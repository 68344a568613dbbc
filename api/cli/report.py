"""The readable report of one interaction record, as ``callqa analyze`` prints it.

Pure functions from a record dict (``pipelines.record.schema.record_to_dict``), read once
through ``pipelines.record.view.RecordView``, to lines of plain text, at most ``WIDTH`` columns:
the call's facts, the transcript by role with times (already redacted, so removed personal data
shows as ``[CARD]``, ``[CVV]``, ...), the scorecard with each check's evidence and time, the
customer's emotion and escalation, the summary, the topics, the personal data found, and the
files the record and the timeline picture were written to. Printing is api/cli/main.py's.
"""

from __future__ import annotations

import textwrap
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pipelines.record.view import CheckView, EvidenceView, RecordView, SegmentView

WIDTH = 100
INDENT = "  "
MAX_EVIDENCE = 3  # evidence lines shown per check
MAX_WHY_LINES = 2  # wrapped lines of a failed check's explanation

Record = Mapping[str, Any] | RecordView  # a record dict, or its view read once


def _view(record: Record) -> RecordView:
    return record if isinstance(record, RecordView) else RecordView.from_dict(record)


def _known(value: object) -> object:
    """``?`` for what the record does not say."""
    return "?" if value is None else value


def clock(seconds: float | None) -> str:
    """``m:ss.s`` (``-`` when unknown)."""
    if seconds is None:
        return "-"
    tenths = round(max(0.0, float(seconds)) * 10)
    minutes, rest = divmod(tenths, 600)
    return f"{minutes}:{rest // 10:02d}.{rest % 10}"


def _wrap(text: str, first: str, rest: str, limit: int | None = None) -> list[str]:
    lines = textwrap.wrap(
        text, WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    ) or [first.rstrip()]
    if limit is not None and len(lines) > limit:
        lines = lines[:limit]
        lines[-1] = lines[-1][: WIDTH - 3].rstrip() + " ..."
    return lines


def _heading(title: str) -> list[str]:
    return ["", title, "-" * len(title)]


def _roles(view: RecordView) -> dict[str, str]:
    """Speaker label -> role (agent, customer, unknown)."""
    return {str(p.speaker): str(p.role) for p in view.participants}


def _per_role(values: Mapping[str, float], roles: Mapping[str, str]) -> dict[str, float]:
    total: dict[str, float] = defaultdict(float)
    for speaker, value in values.items():
        total[roles.get(speaker, speaker)] += float(value)
    return dict(total)


def facts(record: Record, source: str) -> list[str]:
    """File, duration, layout, languages, talk time per role, silence, overtalk."""
    view = _view(record)
    audio, metrics = view.audio, view.metrics
    roles = _roles(view)
    duration = float(audio.duration_s or metrics.duration_s or 0.0)
    rows = [
        ("file", source),
        (
            "audio",
            f"{clock(duration)} ({duration:.1f} s), {_known(audio.channels)} channel(s), "
            f"{_known(audio.sample_rate)} Hz, {_known(audio.format)}",
        ),
        ("layout", view.layout or "-"),
        ("languages", ", ".join(view.languages) or "none detected"),
    ]
    talk = _per_role(metrics.talk_s, roles)
    if talk:
        shares = (
            f"{role} {seconds:.1f} s ({100 * seconds / duration:.0f}%)"
            if duration
            else f"{role} {seconds:.1f} s"
            for role, seconds in sorted(talk.items())
        )
        rows.append(("talk time", ", ".join(shares)))
    rows.append(
        (
            "silence",
            f"{float(metrics.silence_s or 0.0):.1f} s (dead air "
            f"{float(metrics.dead_air_s or 0.0):.1f} s, hold "
            f"{float(metrics.hold_s or 0.0):.1f} s); overtalk "
            f"{float(metrics.overtalk_s or 0.0):.1f} s",
        )
    )
    interruptions = _per_role(metrics.interruptions, roles)
    rows.append(
        (
            "interruptions",
            ", ".join(f"by {role} {n:.0f}" for role, n in sorted(interruptions.items())) or "none",
        )
    )
    latency = metrics.agent_response_latency_s
    if latency is not None:
        rows.append(("agent response", f"{float(latency):.1f} s after the customer, on average"))
    coverage = _coverage(view)
    if coverage:
        rows.append(("transcribed", coverage))
    out = _heading("Call")
    for name, value in rows:
        out += _wrap(value, f"{INDENT}{name:<15} ", INDENT + " " * 16)
    return out


def _coverage(view: RecordView) -> str | None:
    """Share of each party's speech that the transcript covers; gaps in capitals."""
    coverage = view.metrics.speech_coverage
    if coverage is None:
        return None
    by_channel = {
        f"channel_{p.channel}": str(p.role) for p in view.participants if p.channel is not None
    }
    parts = []
    for key, entry in sorted(coverage.channels.items()):
        if entry.coverage is None:
            continue
        who = by_channel.get(key, "speech" if len(by_channel) < 2 else key)
        heard = float(entry.speech_s or 0.0)
        part = f"{who} {100 * float(entry.coverage):.0f}% of {heard:.1f} s"
        if key in coverage.gaps:
            part += " (GAP: speech missing from the transcript)"
        parts.append(part)
    return ", ".join(parts) or None


def transcript(record: Record) -> list[str]:
    """One block per segment: time, role, text (redacted), translation and emotion if any."""
    out = _heading("Transcript (personal data redacted)")
    segments = _view(record).segments
    if not segments:
        return [*out, f"{INDENT}no speech transcribed"]
    width = max(len(s.role or "unknown") for s in segments)
    for segment in segments:
        role = segment.role or "unknown"
        lead = f"{INDENT}{clock(segment.start)}  {role:<{width}}  "
        text = (segment.text or "").strip()
        if segment.emotion is not None:
            text += f"  ({segment.emotion.label})"
        out += _wrap(text, lead, " " * len(lead))
        translation = segment.translation
        if translation is not None:
            tag = f"{' ' * len(lead)}[{translation.language}] "
            out += _wrap(translation.text or "", tag, " " * len(tag))
    return out


def _evidence_line(item: EvidenceView, role: str, pad: str, label: str = "") -> list[str]:
    lead = f"{pad}{label}{clock(item.start)}  {role:<8}  "
    return _wrap(f'"{(item.text or "").strip()}"', lead, " " * len(lead), 2)


def _evidence_lines(check: CheckView, roles_by_segment: Mapping[int, str], pad: str) -> list[str]:
    """Evidence with its time and role; "not found" for what was never said."""
    detail = check.detail or ""
    seen: set[tuple[Any, ...]] = set()
    evidence = []
    for item in check.evidence:
        key = (item.segment_id, item.start, item.text)
        if key not in seen:
            seen.add(key)
            evidence.append(item)

    def role(item: EvidenceView) -> str:
        return roles_by_segment.get(-1 if item.segment_id is None else item.segment_id, "")

    if not evidence:
        vacuous = "trigger never happened" in detail
        return [f"{pad}not found" + (" (its trigger was never heard)" if vacuous else "")]
    if not check.passed and "; no response within" in detail:
        within = detail.split("; no response within ", 1)[1].split(":", 1)[0]
        trigger = _evidence_line(evidence[0], role(evidence[0]), pad, "trigger ")
        return [*trigger, f"{pad}response not found within {within}"]
    if not check.passed and detail.startswith("no match"):
        return [f"{pad}not found"]  # the evidence is the closest miss: "why" tells it
    lines = []
    for item in evidence[:MAX_EVIDENCE]:
        lines += _evidence_line(item, role(item), pad)
    if len(evidence) > MAX_EVIDENCE:
        lines.append(f"{pad}... and {len(evidence) - MAX_EVIDENCE} more")
    return lines


def scorecard(record: Record) -> list[str]:
    """Policy, score and verdict, then each check: PASS/FAIL, rule, severity, evidence."""
    view = _view(record)
    compliance = view.compliance
    if compliance is None:
        return [*_heading("Scorecard"), f"{INDENT}no policy checked (callqa analyze --policy FILE)"]
    policy = compliance.policy
    verdict = "PASSED" if compliance.passed else "FAILED"
    title = (
        f"Scorecard: {_known(policy.id)} version {_known(policy.version)}: "
        f"score {float(compliance.score or 0.0):.1f} / 100, {verdict}"
    )
    out = _heading(title)
    checks = compliance.checks
    failed = [c for c in checks if not c.passed]
    out.append(f"{INDENT}{len(checks) - len(failed)} of {len(checks)} checks passed")
    roles_by_segment = {s.id: s.role or "" for s in view.segments if s.id is not None}
    width = max((len(str(c.rule_id)) for c in checks), default=10)
    pad = INDENT + " " * 6
    for check in checks:
        mark = "PASS" if check.passed else "FAIL"
        severity = check.severity or ""
        line = f"{INDENT}{mark}  {check.rule_id!s:<{width}}  {severity:<8}  {check.kind}"
        out.append(line + _close_call(check))
        out += _evidence_lines(check, roles_by_segment, pad)
        if not check.passed and check.detail:
            why = check.detail
            if "; no response within " in why:  # the trigger is shown above
                why = "no response within " + why.split("; no response within ", 1)[1]
            out += _wrap(why, f"{pad}why: ", pad + "     ", MAX_WHY_LINES)
    return out


def _close_call(check: CheckView) -> str:
    """``  close call: score 0.77 vs threshold 0.75`` when the machine was unsure, else ''."""
    if not check.close_call or check.score is None or check.threshold is None:
        return ""
    return f"  close call: score {check.score:.2f} vs threshold {check.threshold:.2f}"


def _dominant(segments: Sequence[SegmentView]) -> tuple[str, Counter[str]] | None:
    """The customer's emotion label with the most speaking time, and turns per label."""
    seconds: dict[str, float] = defaultdict(float)
    turns: Counter[str] = Counter()
    for segment in segments:
        if segment.role != "customer" or segment.emotion is None:
            continue
        label = str(segment.emotion.label)
        seconds[label] += float(segment.end or 0.0) - float(segment.start or 0.0)
        turns[label] += 1
    if not turns:
        return None
    return max(seconds, key=lambda label: seconds[label]), turns


def emotion(record: Record) -> list[str]:
    """The customer's dominant emotion, how it moved, and escalation with its time."""
    out = _heading("Emotion and escalation (customer)")
    view = _view(record)
    segments = view.segments
    dominant = _dominant(segments)
    if dominant is None:
        out.append(f"{INDENT}no customer turn was scored")
    else:
        label, turns = dominant
        spread = ", ".join(f"{name} {n}" for name, n in turns.most_common())
        out.append(f"{INDENT}dominant emotion  {label} (turns: {spread})")
    escalation = view.metrics.escalation
    start, end = (escalation.from_valence, escalation.to_valence) if escalation else (None, None)
    if start is not None and end is not None:
        out.append(
            f"{INDENT}valence           {float(start):+.2f} at the start, "
            f"{float(end):+.2f} at the end (-1 negative .. +1 positive)"
        )
    if escalation is not None and escalation.detected:
        by_id = {s.id: s for s in segments}
        turn = by_id.get(escalation.segment_id)
        said = turn.text if turn is not None else ""
        at, reason = clock(escalation.at_s), escalation.reason
        lead = f"{INDENT}escalation        DETECTED at {at} ({reason}): "
        out += _wrap(f'"{said.strip()}"' if said else "", lead, INDENT + " " * 18, 2)
    else:
        out.append(f"{INDENT}escalation        none detected")
    return out


def summary(record: Record) -> list[str]:
    """The call's summary: reason, actions, follow-ups and outcome, in English where the call
    was in another language; the repeat contact when there is one."""
    view = _view(record)
    found = view.summary
    if found is None:
        return []
    parts = found.english or found.parts
    out = [*_heading("Summary"), f"{INDENT}outcome           {_known(found.outcome)}"]
    items = [("reason", [parts.reason] if parts.reason else []), ("did", parts.actions),
             ("follow-up", parts.follow_ups)]  # fmt: skip
    for label, entries in items:
        for entry in entries:
            lead = f"{INDENT}{label:<18}"
            where = ", ".join(f"#{i}" for i in entry.segments)
            out += _wrap(f"{entry.text} ({where})", lead, " " * len(lead))
    repeat = view.metrics.repeat_contact
    if repeat is not None and repeat.previous_call_id:
        out.append(
            f"{INDENT}repeat contact    {_known(repeat.days_since)} days after call "
            f"{repeat.previous_call_id}{' (same driver)' if repeat.same_driver else ''}"
        )
    return out


def topics(record: Record) -> list[str]:
    found = [(t.label, t.score) for t in _view(record).topics if t.score and t.score > 0.0]
    shown = ", ".join(f"{label} ({float(score):.2f})" for label, score in found) or "none"
    return [*_heading("Topics"), f"{INDENT}{shown}"]


def pii(record: Record) -> list[str]:
    """Personal data found: each type with its count and times."""
    out = _heading("Personal data found (removed from text, words and audio)")
    found = _view(record).pii
    entities = found.entities if found is not None else ()
    if not entities:
        return [*out, f"{INDENT}none"]
    times: dict[str, list[str]] = defaultdict(list)
    for entity in sorted(entities, key=lambda e: float(e.start or 0.0)):
        times[str(entity.type)].append(clock(entity.start))
    width = max(len(name) for name in times) + 2
    for name, at in sorted(times.items()):
        lead = f"{INDENT}{'[' + name + ']':<{width}}  {len(at)} x  at "
        out += _wrap(", ".join(at), lead, " " * len(lead))
    return out


def files(written: Mapping[str, str]) -> list[str]:
    out = _heading("Files")
    width = max((len(name) for name in written), default=0)
    return out + [f"{INDENT}{name:<{width}}  {path}" for name, path in written.items()]


def render_report(record: Record, *, source: str, written: Mapping[str, str]) -> list[str]:
    """The whole report: ``written`` names the files (label -> path) the run wrote."""
    title = f"callqa: {source}"
    view = _view(record)
    sections: Iterable[list[str]] = (
        [title, "=" * min(WIDTH, len(title))],
        facts(view, source),
        transcript(view),
        scorecard(view),
        emotion(view),
        summary(view),
        topics(view),
        pii(view),
        files(written),
    )
    return [line for section in sections for line in section]
