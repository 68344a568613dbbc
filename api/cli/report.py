"""The readable report of one interaction record, as ``callqa analyze`` prints it.

Pure functions from a record dict (``pipelines.record.schema.record_to_dict``) to lines of plain
text, at most ``WIDTH`` columns: the call's facts, the transcript by role with times (already
redacted, so removed personal data shows as ``[CARD]``, ``[CVV]``, ...), the scorecard with
each check's evidence and time, the customer's emotion and escalation, the topics, the personal
data found, and the files the record and the timeline picture were written to. Printing is
api/cli/main.py's.
"""

from __future__ import annotations

import textwrap
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

WIDTH = 100
INDENT = "  "
MAX_EVIDENCE = 3  # evidence lines shown per check
MAX_WHY_LINES = 2  # wrapped lines of a failed check's explanation

Record = Mapping[str, Any]


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


def _roles(record: Record) -> dict[str, str]:
    """Speaker label -> role (agent, customer, unknown)."""
    return {str(p["speaker"]): str(p["role"]) for p in record.get("participants") or []}


def _per_role(values: Mapping[str, float], roles: Mapping[str, str]) -> dict[str, float]:
    total: dict[str, float] = defaultdict(float)
    for speaker, value in values.items():
        total[roles.get(speaker, speaker)] += float(value)
    return dict(total)


def _segments(record: Record) -> list[Mapping[str, Any]]:
    return list(record.get("segments") or [])


def facts(record: Record, source: str) -> list[str]:
    """File, duration, layout, languages, talk time per role, silence, overtalk."""
    audio = record.get("audio") or {}
    metrics = record.get("metrics") or {}
    roles = _roles(record)
    duration = float(audio.get("duration_s") or metrics.get("duration_s") or 0.0)
    rows = [
        ("file", source),
        (
            "audio",
            f"{clock(duration)} ({duration:.1f} s), {audio.get('channels', '?')} channel(s), "
            f"{audio.get('sample_rate', '?')} Hz, {audio.get('format', '?')}",
        ),
        ("layout", str(record.get("layout") or "-")),
        ("languages", ", ".join(record.get("languages") or []) or "none detected"),
    ]
    talk = _per_role(metrics.get("talk_s") or {}, roles)
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
            f"{float(metrics.get('silence_s') or 0.0):.1f} s (dead air "
            f"{float(metrics.get('dead_air_s') or 0.0):.1f} s, hold "
            f"{float(metrics.get('hold_s') or 0.0):.1f} s); overtalk "
            f"{float(metrics.get('overtalk_s') or 0.0):.1f} s",
        )
    )
    interruptions = _per_role(metrics.get("interruptions") or {}, roles)
    rows.append(
        (
            "interruptions",
            ", ".join(f"by {role} {n:.0f}" for role, n in sorted(interruptions.items())) or "none",
        )
    )
    latency = metrics.get("agent_response_latency_s")
    if latency is not None:
        rows.append(("agent response", f"{float(latency):.1f} s after the customer, on average"))
    coverage = _coverage(record)
    if coverage:
        rows.append(("transcribed", coverage))
    out = _heading("Call")
    for name, value in rows:
        out += _wrap(value, f"{INDENT}{name:<15} ", INDENT + " " * 16)
    return out


def _coverage(record: Record) -> str | None:
    """Share of each party's speech that the transcript covers; gaps in capitals."""
    coverage = (record.get("metrics") or {}).get("speech_coverage") or {}
    by_channel = {
        f"channel_{p['channel']}": str(p["role"])
        for p in record.get("participants") or []
        if p.get("channel") is not None
    }
    parts = []
    for key, entry in sorted(coverage.items()):
        if not isinstance(entry, Mapping) or entry.get("coverage") is None:
            continue
        who = by_channel.get(key, "speech" if len(by_channel) < 2 else key)
        part = f"{who} {100 * float(entry['coverage']):.0f}% of {float(entry['speech_s']):.1f} s"
        if key in coverage.get("gaps", ()):
            part += " (GAP: speech missing from the transcript)"
        parts.append(part)
    return ", ".join(parts) or None


def transcript(record: Record) -> list[str]:
    """One block per segment: time, role, text (redacted), translation and emotion if any."""
    out = _heading("Transcript (personal data redacted)")
    segments = _segments(record)
    if not segments:
        return [*out, f"{INDENT}no speech transcribed"]
    width = max(len(str(s.get("role") or "unknown")) for s in segments)
    for segment in segments:
        role = str(segment.get("role") or "unknown")
        lead = f"{INDENT}{clock(segment.get('start'))}  {role:<{width}}  "
        text = str(segment.get("text") or "").strip()
        emotion = segment.get("emotion")
        if emotion:
            text += f"  ({emotion.get('label')})"
        out += _wrap(text, lead, " " * len(lead))
        translation = segment.get("translation")
        if translation:
            tag = f"{' ' * len(lead)}[{translation.get('language')}] "
            out += _wrap(str(translation.get("text") or ""), tag, " " * len(tag))
    return out


def _evidence_line(item: Mapping[str, Any], role: str, pad: str, label: str = "") -> list[str]:
    lead = f"{pad}{label}{clock(item.get('start'))}  {role:<8}  "
    return _wrap(f'"{str(item.get("text") or "").strip()}"', lead, " " * len(lead), 2)


def _evidence_lines(
    check: Mapping[str, Any], roles_by_segment: Mapping[int, str], pad: str
) -> list[str]:
    """Evidence with its time and role; "not found" for what was never said."""
    detail = str(check.get("detail") or "")
    seen: set[tuple[Any, ...]] = set()
    evidence = []
    for item in check.get("evidence") or []:
        key = (item.get("segment_id"), item.get("start"), item.get("text"))
        if key not in seen:
            seen.add(key)
            evidence.append(item)

    def role(item: Mapping[str, Any]) -> str:
        return roles_by_segment.get(int(item.get("segment_id", -1)), "")

    if not evidence:
        vacuous = "trigger never happened" in detail
        return [f"{pad}not found" + (" (its trigger was never heard)" if vacuous else "")]
    if not check.get("passed") and "; no response within" in detail:
        within = detail.split("; no response within ", 1)[1].split(":", 1)[0]
        trigger = _evidence_line(evidence[0], role(evidence[0]), pad, "trigger ")
        return [*trigger, f"{pad}response not found within {within}"]
    if not check.get("passed") and detail.startswith("no match"):
        return [f"{pad}not found"]  # the evidence is the closest miss: "why" tells it
    lines = []
    for item in evidence[:MAX_EVIDENCE]:
        lines += _evidence_line(item, role(item), pad)
    if len(evidence) > MAX_EVIDENCE:
        lines.append(f"{pad}... and {len(evidence) - MAX_EVIDENCE} more")
    return lines


def scorecard(record: Record) -> list[str]:
    """Policy, score and verdict, then each check: PASS/FAIL, rule, severity, evidence."""
    compliance = record.get("compliance")
    if not compliance:
        return [*_heading("Scorecard"), f"{INDENT}no policy checked (callqa analyze --policy FILE)"]
    policy = compliance.get("policy") or {}
    verdict = "PASSED" if compliance.get("passed") else "FAILED"
    title = (
        f"Scorecard: {policy.get('id', '?')} version {policy.get('version', '?')}: "
        f"score {float(compliance.get('score') or 0.0):.1f} / 100, {verdict}"
    )
    out = _heading(title)
    checks = list(compliance.get("checks") or [])
    failed = [c for c in checks if not c.get("passed")]
    out.append(f"{INDENT}{len(checks) - len(failed)} of {len(checks)} checks passed")
    roles_by_segment = {int(s["id"]): str(s.get("role") or "") for s in _segments(record)}
    width = max((len(str(c.get("rule_id"))) for c in checks), default=10)
    pad = INDENT + " " * 6
    for check in checks:
        mark = "PASS" if check.get("passed") else "FAIL"
        severity = str(check.get("severity") or "")
        out.append(
            f"{INDENT}{mark}  {check.get('rule_id')!s:<{width}}  {severity:<8}  {check.get('kind')}"
        )
        out += _evidence_lines(check, roles_by_segment, pad)
        if not check.get("passed") and check.get("detail"):
            why = str(check["detail"])
            if "; no response within " in why:  # the trigger is shown above
                why = "no response within " + why.split("; no response within ", 1)[1]
            out += _wrap(why, f"{pad}why: ", pad + "     ", MAX_WHY_LINES)
    return out


def _dominant(segments: Sequence[Mapping[str, Any]]) -> tuple[str, Counter[str]] | None:
    """The customer's emotion label with the most speaking time, and turns per label."""
    seconds: dict[str, float] = defaultdict(float)
    turns: Counter[str] = Counter()
    for segment in segments:
        emotion = segment.get("emotion")
        if segment.get("role") != "customer" or not emotion:
            continue
        label = str(emotion.get("label"))
        seconds[label] += float(segment.get("end", 0.0)) - float(segment.get("start", 0.0))
        turns[label] += 1
    if not turns:
        return None
    return max(seconds, key=lambda label: seconds[label]), turns


def emotion(record: Record) -> list[str]:
    """The customer's dominant emotion, how it moved, and escalation with its time."""
    out = _heading("Emotion and escalation (customer)")
    segments = _segments(record)
    dominant = _dominant(segments)
    if dominant is None:
        out.append(f"{INDENT}no customer turn was scored")
    else:
        label, turns = dominant
        spread = ", ".join(f"{name} {n}" for name, n in turns.most_common())
        out.append(f"{INDENT}dominant emotion  {label} (turns: {spread})")
    escalation = (record.get("metrics") or {}).get("escalation") or {}
    if "from_valence" in escalation:
        out.append(
            f"{INDENT}valence           {float(escalation['from_valence']):+.2f} at the start, "
            f"{float(escalation['to_valence']):+.2f} at the end (-1 negative .. +1 positive)"
        )
    if escalation.get("detected"):
        at = escalation.get("at_s")
        by_id = {s.get("id"): s for s in segments}
        said = by_id.get(escalation.get("segment_id"), {}).get("text", "")
        lead = f"{INDENT}escalation        DETECTED at {clock(at)} ({escalation.get('reason')}): "
        out += _wrap(f'"{str(said).strip()}"' if said else "", lead, INDENT + " " * 18, 2)
    else:
        out.append(f"{INDENT}escalation        none detected")
    return out


def topics(record: Record) -> list[str]:
    found = [t for t in record.get("topics") or [] if float(t.get("score") or 0.0) > 0.0]
    shown = ", ".join(f"{t['label']} ({float(t['score']):.2f})" for t in found) or "none"
    return [*_heading("Topics"), f"{INDENT}{shown}"]


def pii(record: Record) -> list[str]:
    """Personal data found: each type with its count and times."""
    out = _heading("Personal data found (removed from text, words and audio)")
    entities = list((record.get("pii") or {}).get("entities") or [])
    if not entities:
        return [*out, f"{INDENT}none"]
    times: dict[str, list[str]] = defaultdict(list)
    for entity in sorted(entities, key=lambda e: float(e.get("start") or 0.0)):
        times[str(entity.get("type"))].append(clock(entity.get("start")))
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
    sections: Iterable[list[str]] = (
        [title, "=" * min(WIDTH, len(title))],
        facts(record, source),
        transcript(record),
        scorecard(record),
        emotion(record),
        topics(record),
        pii(record),
        files(written),
    )
    return [line for section in sections for line in section]
