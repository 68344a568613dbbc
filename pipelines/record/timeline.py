"""The call timeline picture of an interaction record (SVG or PNG), drawn with matplotlib.

One time axis (seconds, 0..duration) shared by, from top to bottom: compliance marks (each check
with evidence, at its first evidence), one lane per speaker with its turns, overtalk, silences of
2 s or more and redacted PII spans, and the customer's emotion valence. No transcript text is
drawn. Only matplotlib's object API is used (``Figure`` + Agg canvas, never pyplot), so pictures
can be drawn in the threads of a web server.

SVG output carries ``data-t0``, ``data-t1`` (seconds) and ``data-x0``, ``data-x1`` (fractions of
the picture's width) on its root element, so a page showing it can map a click to a time::

    t = t0 + (x / width - x0) / (x1 - x0) * (t1 - t0)

Artists have stable SVG ids: ``lane-label-N``, ``turns-N``, ``compliance-mark-N``, ``pii-N``,
``overtalk-N``, ``silence-N``, ``emotion-point-N``, ``unevidenced-failures``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING, Any, Literal
from xml.sax.saxutils import escape

from pipelines.core.errors import StageError
from pipelines.record.view import ParticipantView, RecordView, SegmentView

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

Format = Literal["svg", "png"]
FORMATS: tuple[Format, ...] = ("svg", "png")
WIDTH_IN, HEIGHT_IN, DPI = 12.0, 4.5, 100  # PNG: 1200 x 450 pixels
X0, X1 = 0.14, 0.98  # fixed left and right edges of the time axis, fractions of the width
SILENCE_MIN_S = 2.0
MAX_CHECK_ROWS = 7
MAX_LABEL_CHARS = 28
SVG_SALT = "callqa-timeline"  # a fixed salt for matplotlib's SVG ids: same record, same bytes

# Okabe-Ito colours, told apart with the common colour vision deficiencies
BLUE, ORANGE, SKY, GREEN = "#0072B2", "#E69F00", "#56B4E9", "#009E73"
VERMILLION, PURPLE, DARK_BLUE = "#D55E00", "#CC79A7", "#004B7A"
GREY, LIGHT, DARK, FAILED_TEXT = "#8C8C8C", "#D9D9D9", "#222222", "#A33C00"
ROLE_COLOURS = {"agent": BLUE, "customer": ORANGE}
OVERTALK_FILL = (0.8, 0.475, 0.655, 0.25)  # PURPLE, see-through: the turns show beneath
OVERTALK_HATCH: Mapping[str, Any] = {
    "facecolor": "none",
    "edgecolor": PURPLE,
    "hatch": "////",
    "linewidth": 0,
}
# the call-centre states (``pipelines.analytics.emotion``), and the voice model's classes that
# records written before the states carry as labels
FALLING = {
    "angry": VERMILLION,
    "upset": BLUE,
    "anger": VERMILLION,
    "disgust": PURPLE,
    "fear": DARK_BLUE,
    "sadness": BLUE,
}
RISING = {"satisfied": GREEN, "happiness": GREEN, "positive": GREEN}
EMOTION_STYLES: Mapping[str, tuple[str, str]] = {  # label: (colour, marker); shape shows the sign
    **{label: (colour, "v") for label, colour in FALLING.items()},
    **{"boredom": (SKY, "v"), "negative": (DARK, "v"), "neutral": (GREY, "o")},
    **{label: (colour, "^") for label, colour in RISING.items()},
}
PASSED_STYLE, FAILED_STYLE = (GREEN, "^"), (VERMILLION, "X")  # shape, not only colour


@dataclass(frozen=True, slots=True)
class Bar:
    """A stretch of one speaker's speech."""

    start: float
    end: float
    speaker: str


@dataclass(frozen=True, slots=True)
class Lane:
    speaker: str
    role: str
    label: str


@dataclass(frozen=True, slots=True)
class Mark:
    """A compliance check at its first evidence."""

    at: float
    rule_id: str
    passed: bool


@dataclass(frozen=True, slots=True)
class Timeline:
    """What the picture shows, read from a record (no drawing)."""

    duration: float
    lanes: tuple[Lane, ...]
    bars: tuple[Bar, ...]
    overtalk: tuple[tuple[float, float], ...]
    silences: tuple[tuple[float, float], ...]
    emotions: tuple[tuple[float, float, str], ...]  # (mid time, valence, label)
    marks: tuple[Mark, ...]
    unevidenced_failures: tuple[str, ...]
    checks: tuple[int, int]  # (passed, failed), with or without evidence
    pii: tuple[tuple[float, float, str, str | None], ...]  # (start, end, type, speaker)
    score: float | None
    passed: bool | None

    def verdict(self) -> str:
        """``compliance 60 (failed)``; empty without a compliance block."""
        score = f" {self.score:g}" if self.score is not None else ""
        outcome = {True: " (passed)", False: " (failed)", None: ""}[self.passed]
        return f"compliance{score}{outcome}" if score or outcome else ""

    def title(self) -> str:
        """One sentence saying what the picture shows (the SVG's accessible title)."""
        passed, failed = self.checks
        checks = f"{self.verdict() or 'compliance'}: {passed} checks passed, {failed} failed"
        return (
            f"Call timeline: {_count(self.bars, 'turn')} by {_count(self.lanes, 'speaker')} over "
            f"{self.duration:.1f} s; {_count(self.overtalk, 'overtalk span')} "
            f"({sum(b - a for a, b in self.overtalk):.1f} s); "
            f"{_count(self.silences, 'silence')} of {SILENCE_MIN_S:g} s or more; "
            f"{_count(self.emotions, 'customer emotion point')}; "
            f"{checks if any(self.checks) else 'no compliance checks'}; "
            f"{_count(self.pii, 'redacted span')}."
        )


def _count(items: Sequence[object], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _float(value: float | None) -> float | None:
    """A number of the record as a float (the view keeps ints as stored)."""
    return None if value is None else float(value)


def _bars(spans: Iterable[tuple[float | None, float | None, str | None]]) -> list[Bar]:
    """Bars of (start, end, speaker) spans that have both times and a positive length."""
    bars = []
    for start, end, speaker in spans:
        start, end = _float(start), _float(end)
        if start is not None and end is not None and end > start:
            bars.append(Bar(max(start, 0.0), end, speaker or "unknown"))
    return sorted(bars, key=lambda b: (b.start, b.end, b.speaker))


def _union(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def overtalk_spans(bars: Sequence[Bar]) -> list[tuple[float, float]]:
    """Stretches where two or more speakers talk at once."""
    events: list[tuple[float, int]] = []
    for speaker in {b.speaker for b in bars}:
        for start, end in _union((b.start, b.end) for b in bars if b.speaker == speaker):
            events += [(start, 1), (end, -1)]
    spans, active, since = [], 0, 0.0
    for time, step in sorted(events):  # at the same time, ends (-1) come before starts
        if active < 2 <= active + step:
            since = time
        elif active + step < 2 <= active and time > since:
            spans.append((since, time))
        active += step
    return _union(spans)


def silence_spans(bars: Sequence[Bar], duration: float) -> list[tuple[float, float]]:
    """Stretches of at least ``SILENCE_MIN_S`` with nobody speaking (call edges included)."""
    gaps, last = [], 0.0
    for start, end in _union((b.start, b.end) for b in bars):
        if start - last >= SILENCE_MIN_S:
            gaps.append((last, start))
        last = max(last, end)
    if duration - last >= SILENCE_MIN_S:
        gaps.append((last, duration))
    return gaps


def _lanes(view: RecordView, bars: Sequence[Bar]) -> tuple[Lane, ...]:
    roles: dict[str, str] = {}
    items: list[ParticipantView | SegmentView] = [*view.participants, *view.segments]
    for item in items:
        roles.setdefault(item.speaker or "unknown", item.role or "unknown")
    for bar in bars:
        roles.setdefault(bar.speaker, "unknown")
    lanes = []
    for speaker, role in roles.items():
        label = f"{role} ({speaker})" if role != speaker else speaker
        if len(label) > MAX_LABEL_CHARS:
            label = label[: MAX_LABEL_CHARS - 1] + "…"
        lanes.append(Lane(speaker, role, label))
    return tuple(lanes)


def _duration(view: RecordView, bars: Sequence[Bar]) -> float:
    for number in (_float(view.audio.duration_s), _float(view.metrics.duration_s)):
        if number is not None and number > 0:
            return number
    return max((b.end for b in bars), default=0.0)


def _emotions(segments: Sequence[SegmentView]) -> list[tuple[float, float, str]]:
    points = []
    for item in segments:
        emotion, start, end = item.emotion, _float(item.start), _float(item.end)
        if item.role != "customer" or emotion is None:
            continue
        valence = _float(emotion.valence)
        if valence is not None and start is not None and end is not None:
            label = emotion.label or "unlabelled"
            points.append(((start + max(start, end)) / 2, max(-1.0, min(1.0, valence)), label))
    return sorted(points)


def read_timeline(record: Mapping[str, Any]) -> Timeline:
    """What to draw for ``record``; StageError when it has no duration to draw."""
    view = RecordView.from_dict(record)
    segments = view.segments
    bars = _bars((s.start, s.end, s.speaker) for s in segments)
    if not bars:  # no segment to draw: the diarization's turns, if stored
        turns = view.diarization.turns if view.diarization else None
        bars = _bars((t.start, t.end, t.speaker) for t in turns or ())
    duration = _duration(view, bars)
    if duration <= 0:
        call_id = view.id or "unknown"
        raise StageError("timeline", call_id, "the record has no duration to draw (0 s, no turns)")
    marks, unevidenced, counts = [], [], [0, 0]
    compliance = view.compliance
    for check in compliance.checks if compliance else ():
        rule_id, passed = check.rule_id or "?", check.passed is True
        counts[not passed] += 1
        known = [s for e in check.evidence if (s := _float(e.start)) is not None]
        if known:
            marks.append(Mark(min(known), rule_id, passed))
        elif not passed:
            unevidenced.append(rule_id)
    speakers = {s.id: s.speaker or "unknown" for s in segments}
    pii = []
    for entity in view.pii.entities if view.pii else ():
        start, end = _float(entity.start), _float(entity.end)
        if start is not None and end is not None:
            speaker = speakers.get(entity.segment_id)
            pii.append((start, max(start, end), entity.type or "PII", speaker))
    return Timeline(
        duration=duration,
        lanes=_lanes(view, bars),
        bars=tuple(bars),
        overtalk=tuple(overtalk_spans(bars)),
        silences=tuple(silence_spans(bars, duration)),
        emotions=tuple(_emotions(segments)),
        marks=tuple(sorted(marks, key=lambda m: (m.at, m.rule_id))),
        unevidenced_failures=tuple(unevidenced),
        checks=(counts[0], counts[1]),
        pii=tuple(sorted(pii, key=lambda p: (p[0], p[1], p[2]))),
        score=_float(compliance.score) if compliance else None,
        passed=compliance.passed if compliance else None,
    )


def render_timeline(record: Mapping[str, Any], fmt: Format) -> bytes:
    """The timeline picture of ``record`` as SVG or PNG bytes (same record, same bytes)."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {FORMATS}")
    timeline = read_timeline(record)
    figure = _draw(timeline)
    buffer = BytesIO()
    if fmt == "svg":
        import matplotlib

        if matplotlib.rcParams["svg.hashsalt"] is None:  # else its ids are random per render
            matplotlib.rcParams["svg.hashsalt"] = SVG_SALT
        figure.savefig(buffer, format="svg", dpi=DPI, metadata={"Date": None})
        data = _annotate_svg(buffer.getvalue(), timeline)
    else:
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        data = buffer.getvalue()
    logger.debug("timeline drawn as %s: %d turns", fmt, len(timeline.bars))
    return data


def _annotate_svg(svg: bytes, timeline: Timeline) -> bytes:
    """Add the time-mapping attributes and an accessible title to the root ``<svg>``."""
    text = svg.decode("utf-8")
    name_end = text.index("<svg") + len("<svg")
    tag_end = text.index(">", name_end) + 1
    attributes = (
        f' data-t0="0" data-t1="{round(timeline.duration, 3)!r}"'
        f' data-x0="{X0!r}" data-x1="{X1!r}" role="img" aria-labelledby="timeline-title"'
    )
    title = f'\n <title id="timeline-title">{escape(timeline.title())}</title>'
    head, middle, tail = text[:name_end], text[name_end:tag_end], text[tag_end:]
    return (head + attributes + middle + title + tail).encode("utf-8")


def _draw(timeline: Timeline) -> Figure:
    """The figure (on an Agg canvas) for ``timeline``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(figure)
    checks = figure.add_axes((X0, 0.66, X1 - X0, 0.19))
    lanes = figure.add_axes((X0, 0.34, X1 - X0, 0.31), sharex=checks)
    emotion = figure.add_axes((X0, 0.13, X1 - X0, 0.17), sharex=checks)
    for axes in (checks, lanes, emotion):
        axes.set_xlim(0.0, timeline.duration)
        axes.grid(axis="x", color="#E6E6E6", linewidth=0.6)
        axes.set_axisbelow(True)
        axes.spines[["top", "right"]].set_visible(False)
    for axes in (checks, lanes):
        axes.tick_params(axis="x", labelbottom=False, color="#BDBDBD")
        axes.spines["bottom"].set_color("#BDBDBD")
        axes.spines["left"].set_visible(False)
        axes.set_yticks([])
    emotion.set_xlabel("time (s)", fontsize=9)
    emotion.tick_params(labelsize=8)
    _draw_lanes(lanes, timeline)
    _draw_checks(checks, timeline)
    _draw_emotion(emotion, timeline)
    _draw_header(figure, timeline)
    return figure


def _left_label(axes: Axes, y: float, text: str, gid: str | None = None, x: float = -0.008) -> None:
    """A label in the left margin at data height ``y``."""
    place = axes.get_yaxis_transform()
    axes.text(x, y, text, transform=place, ha="right", va="center", fontsize=8.5, gid=gid)


def _note(axes: Axes, text: str) -> None:
    """A grey note in the middle of ``axes`` saying why it is empty."""
    axes.text(
        0.5, 0.5, text, transform=axes.transAxes, fontsize=8.5, color=GREY, ha="center",
        va="center", bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.5},
    )  # fmt: skip


def _seconds_per_pixel(timeline: Timeline) -> float:
    return timeline.duration / ((X1 - X0) * WIDTH_IN * DPI)


def _draw_lanes(axes: Axes, timeline: Timeline) -> None:
    from matplotlib.patches import Rectangle

    count = max(len(timeline.lanes), 1)
    row = {lane.speaker: count - 1 - i for i, lane in enumerate(timeline.lanes)}  # first on top
    axes.set_ylim(-0.6, count - 0.4)
    for i, (start, end) in enumerate(timeline.silences):
        axes.axvspan(start, end, color=LIGHT, alpha=0.6, linewidth=0, zorder=1, gid=f"silence-{i}")
    for i, (start, end) in enumerate(timeline.overtalk):  # SVG hatches take the fill's alpha
        axes.axvspan(start, end, facecolor=OVERTALK_FILL, linewidth=0, zorder=3)
        axes.axvspan(start, end, **OVERTALK_HATCH, zorder=3, gid=f"overtalk-{i}")
    for i, lane in enumerate(timeline.lanes):
        spans = [(b.start, b.end - b.start) for b in timeline.bars if b.speaker == lane.speaker]
        colour = ROLE_COLOURS.get(lane.role, GREY)
        axes.broken_barh(
            spans, (row[lane.speaker] - 0.3, 0.6), facecolors=colour, edgecolor="white",
            linewidth=0.5, zorder=2, gid=f"turns-{i}",
        )  # fmt: skip
        _left_label(axes, row[lane.speaker], lane.label, gid=f"lane-label-{i}")
    if not timeline.bars:
        _note(axes, "no speech in this record")
    pixel = _seconds_per_pixel(timeline)
    labelled: dict[int | None, tuple[float, str]] = {}  # lane: (where its last label ends, type)
    for i, (start, end, kind, speaker) in enumerate(timeline.pii):
        at = row.get(speaker) if speaker is not None else None  # unknown segment: all lanes
        bottom, height = (at - 0.34, 0.68) if at is not None else (-0.34, count - 0.32)
        block = Rectangle(
            (start, bottom), max(end - start, 3 * pixel), height, facecolor=DARK,
            edgecolor="white", hatch="xx", linewidth=0, zorder=4, gid=f"pii-{i}",
        )  # fmt: skip
        axes.add_patch(block)
        previous = labelled.get(at)
        if previous is not None and previous[1] == kind and start < previous[0]:
            continue  # the same type is labelled right beside it
        top = bottom + height
        axes.text(
            start, top, kind, fontsize=6.5, fontweight="bold", color=DARK, va="bottom", zorder=5,
            gid=f"pii-label-{i}",
        )  # fmt: skip
        labelled[at] = (start + (len(kind) + 1) * 6 * pixel, kind)


def _pack_rows(spans: Sequence[tuple[float, float]]) -> list[int]:
    """A row for each (marker, label) span so that spans of a row do not overlap."""
    row_ends: list[float] = []
    rows = [0] * len(spans)
    for i in sorted(range(len(spans)), key=lambda i: spans[i]):
        start, end = spans[i]
        row = next((r for r, last in enumerate(row_ends) if last < start), None)
        if row is None and len(row_ends) < MAX_CHECK_ROWS:
            row_ends.append(0.0)
            row = len(row_ends) - 1
        if row is None:  # too crowded: the row that frees up first
            row = min(range(len(row_ends)), key=row_ends.__getitem__)
        row_ends[row], rows[i] = end, row
    return rows


def _draw_checks(axes: Axes, timeline: Timeline) -> None:
    char = 6 * _seconds_per_pixel(timeline)  # 7 pt text: about 6 pixels a character
    widths = [(len(mark.rule_id) + 3) * char for mark in timeline.marks]
    leftward = [m.at + w > timeline.duration for m, w in zip(timeline.marks, widths, strict=True)]
    rows = _pack_rows(
        [(m.at - w, m.at) if left else (m.at, m.at + w)
         for m, w, left in zip(timeline.marks, widths, leftward, strict=True)]
    )  # fmt: skip
    count = max(max(rows, default=0) + 1, 3)
    axes.set_ylim(count - 0.4, -0.6)  # row 0 on top
    _left_label(axes, (count - 1) / 2, "compliance")
    for i, (mark, row, left) in enumerate(zip(timeline.marks, rows, leftward, strict=True)):
        colour, marker = PASSED_STYLE if mark.passed else FAILED_STYLE
        axes.plot(
            [mark.at], [row], linestyle="none", marker=marker, markersize=6.5, color=colour,
            markeredgecolor="white", markeredgewidth=0.5, zorder=3, gid=f"compliance-mark-{i}",
        )  # fmt: skip
        axes.annotate(
            mark.rule_id, (mark.at, row), xytext=(-5 if left else 5, 0), textcoords="offset points",
            ha="right" if left else "left", va="center", fontsize=7, annotation_clip=False,
            color=DARK if mark.passed else FAILED_TEXT, gid=f"compliance-label-{i}",
        )  # fmt: skip
    if not timeline.marks:
        _note(axes, "no compliance check has evidence" if timeline.verdict() else "no policy")


def _draw_emotion(axes: Axes, timeline: Timeline) -> None:
    axes.set_ylim(-1.15, 1.15)
    axes.set_yticks([-1.0, 0.0, 1.0])
    axes.axhline(0.0, color="#BDBDBD", linewidth=0.8, zorder=1)
    _left_label(axes, 0.0, "customer\nvalence", x=-0.03)
    if not timeline.emotions:
        _note(axes, "no customer emotion in this record")
        return
    times, values, _ = zip(*timeline.emotions, strict=True)
    axes.plot(times, values, color="#BDBDBD", linewidth=1.0, zorder=2)
    for i, (time, valence, label) in enumerate(timeline.emotions):
        colour, marker = EMOTION_STYLES.get(label, (GREY, "s"))
        axes.plot(
            [time], [valence], linestyle="none", marker=marker, markersize=6, color=colour,
            markeredgecolor="white", markeredgewidth=0.5, zorder=3, gid=f"emotion-point-{i}",
        )  # fmt: skip


def _draw_header(figure: Figure, timeline: Timeline) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    verdict = f" · {timeline.verdict()}" if timeline.verdict() else ""
    heading = (
        f"Call timeline · {timeline.duration:.1f} s · {_count(timeline.bars, 'turn')}{verdict}"
    )
    figure.text(0.01, 0.965, heading, fontsize=11, fontweight="bold", va="center")
    if timeline.unevidenced_failures:
        names = timeline.unevidenced_failures
        shown = ", ".join(names[:5]) + (f" +{len(names) - 5} more" if len(names) > 5 else "")
        figure.text(
            X1, 0.965, f"failed, no evidence: {shown}", fontsize=8.5, color=FAILED_TEXT,
            ha="right", va="center", gid="unevidenced-failures",
        )  # fmt: skip
    roles = dict.fromkeys(lane.role for lane in timeline.lanes)
    handles: list[Any] = [Patch(color=ROLE_COLOURS.get(r, GREY), label=f"{r} turn") for r in roles]
    handles += [
        (Patch(facecolor=OVERTALK_FILL), Patch(**OVERTALK_HATCH, label="overtalk")),
        Patch(facecolor=LIGHT, label=f"silence ≥ {SILENCE_MIN_S:g} s"),
        Patch(facecolor=DARK, edgecolor="white", hatch="xx", label="redacted (PII)"),
    ]
    for (colour, marker), label in ((PASSED_STYLE, "check passed"), (FAILED_STYLE, "check failed")):
        handles.append(Line2D([], [], linestyle="none", marker=marker, color=colour, label=label))
    for label in sorted({label for _, _, label in timeline.emotions}):
        colour, marker = EMOTION_STYLES.get(label, (GREY, "s"))
        handles.append(Line2D([], [], linestyle="none", marker=marker, color=colour, label=label))
    columns = len(handles) if len(handles) <= 10 else math.ceil(len(handles) / 2)
    # matplotlib fills a legend column by column: reorder so it reads row by row
    handles = [handles[i] for c in range(columns) for i in (c, c + columns) if i < len(handles)]
    labels = [(h[-1] if isinstance(h, tuple) else h).get_label() for h in handles]
    figure.legend(
        handles, labels, loc="upper left", bbox_to_anchor=(X0, 0.935), ncol=columns,
        fontsize=8, frameon=False, handlelength=1.4, columnspacing=1.2, borderaxespad=0.0,
    )  # fmt: skip
