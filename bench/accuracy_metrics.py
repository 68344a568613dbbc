"""Scores one interaction record against its corpus label (samples/build_corpus.py).

Pure functions over the record JSON and the label JSON; ``bench/accuracy.py`` runs the calls
and sums these up per split and per condition.

* **WER** aligns the reference words with the record's words, where a redaction placeholder
  (``[CARD]``) may stand for any run of reference words at no cost; reference words of a marked
  PII span that such a placeholder covers are no error, other words it covers are a **false
  redaction**.
* **Terms**: the reference words of each occurrence of one of the company's terms
  (``samples/corpus/vocabulary/<company>.yaml``: product, plan and company names), matched
  case-insensitively as normalised words; a term word is wrong when the WER alignment
  substitutes or deletes it (``term_errors`` / ``term_words``).
* **PII**: an item leaked when any of its forms (a 4-character window of a value with digits,
  a value of words as a whole, or a spoken form) survives in the text or translation of a
  record segment near its turn.
* **DER** with pyannote.metrics (0.25 s collar), against the clean voices' speech regions.
* **Summary** (calls whose label has a reference summary): ROUGE-L F-measure (the
  ``rouge-score`` package, stemmed) of the record's summary text (its English version when the
  call is not in English) against the label's, and of the reason alone; the outcome is right or
  wrong. A record without a summary scores 0 and a wrong outcome.
* **Groups** (fairness): the customer's words also count under the call's accent group
  (``wer_errors.accent.<group>``, and ``wer_errors.<language>.accent.<group>`` per language of
  the turn; every speaker's words when roles are unknown), and the call's compliance rules under
  its accent group (``rules.accent.<group>``) and under the language most of the customer's
  words are in (``rules.<language>``).
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipelines.transcribe.evaluation import normalize_text

Json = Mapping[str, Any]
PLACEHOLDER = re.compile(r"\[[A-Z_]+\]")
WILD = "\u0000pii"
STOPWORDS = frozenset({
    "a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "at", "for", "with", "is", "it",
    "its", "it's", "i", "i'm", "i've", "my", "me", "you", "your", "we", "our", "this", "that",
    "there", "be", "been", "was", "were", "are", "am", "do", "does", "did", "have", "has", "had",
    "not", "no", "so", "as", "by", "from", "can", "could", "will", "would", "please", "just",
    "yes", "okay",
})  # fmt: skip
TARGET_LANGUAGE = "en"
UNKNOWN_GROUP = "unknown"


@dataclass
class Counts:
    """Sums that add up across calls (micro averages)."""

    values: dict[str, float] = field(default_factory=dict)

    def add(self, key: str, amount: float) -> None:
        self.values[key] = self.values.get(key, 0.0) + amount

    def merge(self, other: Counts) -> None:
        for key, amount in other.values.items():
            self.add(key, amount)

    def ratio(self, numerator: str, denominator: str) -> float | None:
        total = self.values.get(denominator, 0.0)
        return None if total == 0 else self.values.get(numerator, 0.0) / total


def words_of(text: str, language: str) -> list[str]:
    """Normalised words, a placeholder kept as one wildcard token."""
    pieces = PLACEHOLDER.split(text)
    out: list[str] = []
    for index, piece in enumerate(pieces):
        if index:
            out.append(WILD)
        out += normalize_text(piece, language).split()
    return out


def reference_words(turn: Json) -> tuple[list[str], list[bool]]:
    """The turn's words and, for each, whether it lies in a marked PII span."""
    text: str = turn["text"]
    spans = [tuple(p["span"]) for p in turn.get("pii", [])]
    words: list[str] = []
    marks: list[bool] = []
    cut = sorted({0, len(text), *(i for span in spans for i in span)})
    for a, b in itertools.pairwise(cut):
        inside = any(s <= a and b <= e for s, e in spans)
        piece = normalize_text(text[a:b], turn.get("language", "en")).split()
        words += piece
        marks += [inside] * len(piece)
    return words, marks


def term_marks(words: Sequence[str], terms: Sequence[Sequence[str]]) -> list[bool]:
    """For each word, whether it lies in an occurrence of one of ``terms`` (normalised words)."""
    marks = [False] * len(words)
    for term in (t for t in terms if t):
        for i in range(len(words) - len(term) + 1):
            if list(words[i : i + len(term)]) == list(term):
                marks[i : i + len(term)] = [True] * len(term)
    return marks


def align(reference: Sequence[str], marks: Sequence[bool], hypothesis: Sequence[str]) -> Json:
    """Edit distance where a hypothesis wildcard absorbs any run of reference words for free;
    ``wrong``: the positions of the reference words substituted or deleted."""
    n, m = len(reference), len(hypothesis)
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    step: list[list[str]] = [[""] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            if i == 0 and j == 0:
                continue
            best, how = inf, ""
            if j and hypothesis[j - 1] == WILD:
                if cost[i][j - 1] < best:  # the placeholder stands for nothing more
                    best, how = cost[i][j - 1], "wild-end"
                if i and cost[i - 1][j] < best:  # it absorbs reference word i-1
                    best, how = cost[i - 1][j], "absorb"
            if i and j and hypothesis[j - 1] != WILD:
                same = reference[i - 1] == hypothesis[j - 1]
                if cost[i - 1][j - 1] + (0 if same else 1) < best:
                    best, how = cost[i - 1][j - 1] + (0 if same else 1), "match"
            if i and cost[i - 1][j] + 1 < best:
                best, how = cost[i - 1][j] + 1, "delete"
            if j and hypothesis[j - 1] != WILD and cost[i][j - 1] + 1 < best:
                best, how = cost[i][j - 1] + 1, "insert"
            cost[i][j], step[i][j] = best, how
    i, j, false_redacted, pii_redacted = n, m, 0, 0
    wrong: list[int] = []
    while i or j:
        how = step[i][j]
        if how == "absorb":
            if marks[i - 1]:
                pii_redacted += 1
            else:
                false_redacted += 1
            i -= 1
        elif how == "wild-end":
            j -= 1
        elif how == "match":
            if reference[i - 1] != hypothesis[j - 1]:
                wrong.append(i - 1)
            i, j = i - 1, j - 1
        elif how == "delete":
            wrong.append(i - 1)
            i -= 1
        else:
            j -= 1
    return {
        "errors": cost[n][m],
        "words": n,
        "false_redacted": false_redacted,
        "pii_redacted": pii_redacted,
        "wrong": wrong[::-1],
    }


def overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def channel_of(record: Json) -> dict[str, int | None]:
    return {p["speaker"]: p.get("channel") for p in record.get("participants", [])}


def party_channels(record: Json, label: Json) -> dict[str, int | None]:
    """Which record channel carries each party (None: mono, any segment counts)."""
    if record.get("layout") == "mono" or label.get("layout") == "mono":
        return {"agent": None, "customer": None}
    left = record.get("layout") != "stereo-agent-right"
    return {"agent": 0 if left else 1, "customer": 1 if left else 0}


def segments_of_party(record: Json, label: Json, role: str) -> list[Json]:
    channels = channel_of(record)
    wanted = party_channels(record, label)[role]
    return [
        s
        for s in record.get("segments", [])
        if wanted is None or channels.get(s.get("speaker", "")) == wanted
    ]


def compact(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in text if ch.isalnum())


def spoken(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def pii_leaks(record: Json, turn: Json, margin_s: float = 3.0) -> list[dict[str, Any]]:
    """Each PII item of the turn and the forms of it that survive near the turn."""
    window = (turn["start"] - margin_s, turn["end"] + margin_s)
    near = [s for s in record.get("segments", []) if overlap((s["start"], s["end"]), window) > 0]
    texts = [s.get("text", "") for s in near]
    texts += [(s.get("translation") or {}).get("text", "") for s in near]
    joined_compact = " ".join(compact(t) for t in texts)
    digits_only = " ".join(
        re.sub(r"\D", "", re.sub(r"(?<=\d)[\s.,-]+(?=\d)", "", t)) for t in texts
    )
    joined_spoken = " ".join(spoken(t) for t in texts)
    found = []
    for item in turn.get("pii", []):
        hits = []
        written = item["leaks"] if any(ch.isdigit() for ch in item["value"]) else []
        spoken_forms = [*item["spoken_leaks"], *([] if written else [item["value"]])]
        for leak in written:
            haystack = digits_only if leak.isdigit() else joined_compact
            if leak in haystack:
                hits.append(leak)
        hits += [w for w in spoken_forms if f" {spoken(w)} " in f" {joined_spoken} "]
        found.append({"kind": item["kind"], "leaked": hits})
    return found


def content_recall(reference: str, hypothesis: str) -> float:
    wanted = {w for w in normalize_text(reference).split() if w not in STOPWORDS}
    if not wanted:
        return 1.0
    got = set(normalize_text(hypothesis).split())
    return len(wanted & got) / len(wanted)


def speech_reached(
    regions: Iterable[Sequence[float]], segments: Sequence[Json]
) -> tuple[float, float]:
    """Seconds of reference speech, and of it covered by record segments."""
    total = covered = 0.0
    spans = [(s["start"], s["end"]) for s in segments]
    for a, b in regions:
        total += b - a
        pieces = sorted((max(a, s), min(b, e)) for s, e in spans if min(b, e) > max(a, s))
        end = a
        for s, e in pieces:
            if e > end:
                covered += e - max(s, end)
                end = e
    return total, covered


def diarization_error(label: Json, record: Json, rttm_text: str) -> float | None:
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    turns = (record.get("diarization") or {}).get("turns") or []
    if not turns:
        return None
    reference, hypothesis = Annotation(), Annotation()
    for row in rttm_text.splitlines():
        parts = row.split()
        if parts and parts[0] == "SPEAKER":
            start, duration = float(parts[3]), float(parts[4])
            reference[Segment(start, start + duration)] = parts[7]
    for turn in turns:
        hypothesis[Segment(turn["start"], turn["end"])] = turn["speaker"]
    return float(DiarizationErrorRate(collar=0.25)(reference, hypothesis))


def score_call(
    label: Json, record: Json, rttm_text: str, terms: Sequence[str] = ()
) -> tuple[Counts, dict[str, Any]]:
    """Sums for the aggregates and the call's own line of figures; ``terms``: the company's
    product, plan and company names, whose words get a WER of their own."""
    counts = Counts()
    detail: dict[str, Any] = {"id": label["id"], "split": label["split"]}
    accent = accent_of(label)
    roles_known = any(t["role"] != "unknown" for t in label["turns"])
    for role in ("agent", "customer") if roles_known else ("unknown",):
        turns = [t for t in label["turns"] if t["role"] == role]
        segments = (
            segments_of_party(record, label, role) if roles_known else record.get("segments", [])
        )
        caller = accent if role != "agent" else None
        _score_words(counts, detail, role, turns, segments, terms, caller)
        regions = [r for t in turns for r in t["speech"]]
        total, covered = speech_reached(regions, segments)
        counts.add(f"speech_s.{role}", total)
        counts.add(f"reached_s.{role}", covered)
        detail[f"reached.{role}"] = round(covered / total, 3) if total else None
        for turn in turns:
            turn_total, turn_covered = speech_reached(turn["speech"], segments)
            counts.add(f"turns.{role}", 1)
            counts.add(f"turns_present.{role}", turn_total > 0 and turn_covered / turn_total >= 0.5)
    if roles_known:
        _score_roles(counts, label, record)
    _score_languages(counts, label, record)
    for turn in label["turns"]:
        for item in pii_leaks(record, turn):
            counts.add("pii_items", 1)
            counts.add("pii_caught", not item["leaked"])
            if item["leaked"]:
                detail.setdefault("pii_leaks", []).append(f"{item['kind']}:{item['leaked'][0]}")
    der = diarization_error(label, record, rttm_text)
    if der is not None:
        kind = "mono" if label.get("layout") == "mono" else "stereo"
        counts.add(f"der_sum.{kind}", der)
        counts.add(f"der_calls.{kind}", 1)
        detail["der"] = round(der, 3)
    _score_expected(counts, detail, label, record)
    _score_groups(counts, label, accent)
    score_summary(counts, detail, label, record)
    return counts, detail


def accent_of(label: Json) -> str:
    """The customer's accent group the corpus gives the call (``unknown`` when it gives none)."""
    return str(label.get("accent_group") or UNKNOWN_GROUP)


def customer_language(label: Json) -> str:
    """The language most of the customer's reference words are in (every speaker's when roles
    are unknown); English when there are none."""
    roles_known = any(t["role"] != "unknown" for t in label["turns"])
    words: Counter[str] = Counter()
    for turn in label["turns"]:
        if turn["role"] == ("customer" if roles_known else "unknown"):
            words[turn.get("language", TARGET_LANGUAGE)] += len(turn["text"].split())
    return words.most_common(1)[0][0] if words else TARGET_LANGUAGE


def voice_family(turn: Json) -> str:
    """piper (the neural voice), espeak (formant voices: accents, es, fr) or real speech."""
    voice = str(turn.get("voice", ""))
    return (
        "piper" if voice.startswith("piper") else "espeak" if voice.startswith("espeak") else "real"
    )


def _score_words(
    counts: Counts,
    detail: dict[str, Any],
    role: str,
    turns: list[Json],
    segments: Sequence[Json],
    terms: Sequence[str] = (),
    accent: str | None = None,
) -> None:
    """WER of one party's words per language and voice family; ``accent``: the caller's accent
    group, under which these words count too (the customer's, or everyone's when roles are
    unknown)."""
    for language, family in sorted({(t["language"], voice_family(t)) for t in turns}):
        group = [t for t in turns if t["language"] == language and voice_family(t) == family]
        term_words = [words_of(term, language) for term in terms]
        ref_words: list[str] = []
        marks: list[bool] = []
        in_term: list[bool] = []
        for turn in group:
            words, pii = reference_words(turn)
            ref_words += words
            marks += pii
            in_term += term_marks(words, term_words)
        spans = [(t["start"], t["end"]) for t in group]
        hyp: list[str] = []
        for seg in sorted(segments, key=lambda s: s["start"]):
            if any(overlap((seg["start"], seg["end"]), span) > 0 for span in spans):
                hyp += words_of(seg.get("text", ""), language)
        result = align(ref_words, marks, hyp)
        keys = [language, f"{language}.{family}"]
        if accent is not None:
            keys += [f"accent.{accent}", f"{language}.accent.{accent}"]
        for key in keys:
            counts.add(f"wer_errors.{key}", result["errors"])
            counts.add(f"wer_words.{key}", result["words"])
        counts.add("false_redacted", result["false_redacted"])
        counts.add("words", result["words"])
        detail[f"wer.{role}.{language}.{family}"] = round(
            result["errors"] / max(1, result["words"]), 3
        )
        if any(in_term):
            wrong = sum(in_term[i] for i in result["wrong"])
            for key in (language, f"{language}.{family}"):
                counts.add(f"term_errors.{key}", wrong)
                counts.add(f"term_words.{key}", sum(in_term))
            detail[f"terms.{role}.{language}.{family}"] = f"{wrong}/{sum(in_term)} wrong"


def _score_roles(counts: Counts, label: Json, record: Json) -> None:
    for turn in label["turns"]:
        by_role: dict[str, float] = {}
        for seg in record.get("segments", []):
            shared = sum(overlap((seg["start"], seg["end"]), (a, b)) for a, b in turn["speech"])
            if shared > 0:
                by_role[seg.get("role", "unknown")] = (
                    by_role.get(seg.get("role", "unknown"), 0) + shared
                )
        if by_role:
            counts.add("role_turns", 1)
            counts.add("role_right", max(by_role, key=lambda r: by_role[r]) == turn["role"])


def _score_languages(counts: Counts, label: Json, record: Json) -> None:
    for seg in record.get("segments", []):
        span = (seg["start"], seg["end"])
        best = max(label["turns"], key=lambda t: overlap(span, (t["start"], t["end"])))
        if overlap(span, (best["start"], best["end"])) <= 0:
            continue
        counts.add("lang_segments", 1)
        counts.add("lang_right", seg.get("language") == best["language"])
    for turn in label["turns"]:
        if turn["language"] == TARGET_LANGUAGE:
            continue
        span = (turn["start"], turn["end"])
        near = [s for s in record.get("segments", []) if overlap(span, (s["start"], s["end"])) > 0]
        counts.add("foreign_turns", 1)
        translated = [s for s in near if (s.get("translation") or {}).get("language") == "en"]
        counts.add("translated_turns", bool(near) and len(translated) == len(near))
        text = " ".join((s.get("translation") or {}).get("text", "") for s in translated)
        counts.add("adequate_turns", content_recall(turn["english"], text) >= 0.4)


def _score_expected(counts: Counts, detail: dict[str, Any], label: Json, record: Json) -> None:
    expected = label.get("expected") or {}
    if "compliance" in expected:
        checks = {
            c["rule_id"]: c["passed"] for c in (record.get("compliance") or {}).get("checks", [])
        }
        wrong = [rule for rule, want in expected["compliance"].items() if checks.get(rule) != want]
        counts.add("rules", len(expected["compliance"]))
        counts.add("rules_right", len(expected["compliance"]) - len(wrong))
        verdict = (record.get("compliance") or {}).get("passed")
        counts.add("calls_scored", 1)
        counts.add("verdicts_right", verdict == expected["passed"])
        detail["rules_wrong"] = wrong
        detail["verdict"] = "right" if verdict == expected["passed"] else f"wrong ({verdict})"
    if "topic" in expected:
        topics = record.get("topics") or []
        got = topics[0]["label"] if topics else None
        counts.add("topic_calls", 1)
        counts.add("topic_right", got == expected["topic"])
        detail["topic"] = got if got == expected["topic"] else f"{got} (want {expected['topic']})"


def _score_groups(counts: Counts, label: Json, accent: str) -> None:
    """The call and its compliance rules again under its customer's accent group and under the
    language most of the customer's words are in (the words: ``_score_words``)."""
    for suffix in (f"accent.{accent}", customer_language(label)):
        counts.add(f"calls.{suffix}", 1)
        if "rules" in counts.values:
            counts.add(f"rules.{suffix}", counts.values["rules"])
            counts.add(f"rules_right.{suffix}", counts.values.get("rules_right", 0.0))


@functools.cache
def _rouge_scorer() -> Any:
    # imported here: the rest of the bench runs without rouge-score installed
    from rouge_score import rouge_scorer  # type: ignore[import-untyped, import-not-found]

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l(reference: str, hypothesis: str) -> float:
    """ROUGE-L F-measure of ``hypothesis`` against ``reference`` (stemmed; 0 when either is
    empty)."""
    return float(_rouge_scorer().score(reference, hypothesis)["rougeL"].fmeasure)


def _text_of(item: Any) -> str:
    """The text of a summary item (``{"text", "segments"}``, a plain string or nothing)."""
    if isinstance(item, Mapping):
        return str(item.get("text") or "")
    return item if isinstance(item, str) else ""


def score_summary(counts: Counts, detail: dict[str, Any], label: Json, record: Json) -> None:
    """ROUGE-L of the record's summary text and of its reason against the label's reference
    (the English version when the record has one) and whether the outcome is the label's; a
    record without a summary scores 0 and a wrong outcome. Calls without a reference: nothing."""
    expected = label.get("summary")
    if not expected:
        return
    summary = record.get("summary")
    counts.add("summary_calls", 1)
    if not isinstance(summary, Mapping):
        got, text, reason = None, "", ""
        detail["summary"] = "missing"
    else:
        english = summary.get("english")
        block: Json = english if isinstance(english, Mapping) else summary
        got, text, reason = summary.get("outcome"), _text_of(block), _text_of(block.get("reason"))
    rouge = rouge_l(expected["text"], text) if text else 0.0
    reason_rouge = rouge_l(expected["reason"], reason) if reason else 0.0
    counts.add("rouge_l_sum", rouge)
    counts.add("reason_rouge_l_sum", reason_rouge)
    counts.add("outcome_right", got == expected["outcome"])
    detail["rouge_l"] = round(rouge, 3)
    detail["reason_rouge_l"] = round(reason_rouge, 3)
    detail["outcome"] = f"{got or 'none'}/{expected['outcome']}"
