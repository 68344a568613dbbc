"""A tenant's own words: product, plan and company names, phrases, with how callers say them.

``terms`` is a list of ``{term, spoken: [...]}`` (or plain strings): ``term`` as the company
writes it ("Brightline Unlimited Plus"), ``spoken`` the forms a recogniser may write instead
("bright line unlimited plus"). The words bias whisper (``hotwords``, batch and live) and
widen the compliance matcher: a policy line whose keyword or phrase holds a term also accepts
its spoken forms (`with_vocabulary`). Terms are no place for personal data: a term holding a
number of four or more digits or an e-mail address is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from pipelines.compliance.policy import Conditional, Line, Order, Policy, Rule
from pipelines.core.errors import InvalidRequestError

MAX_TERMS = 200
MAX_TERM_LENGTH = 64
MAX_SPOKEN = 5
_PERSONAL = re.compile(r"\d[\d\s-]{2,}\d|@")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Term:
    term: str
    spoken: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """A version of a tenant's words (``version`` None: not stored, e.g. a file)."""

    terms: tuple[Term, ...] = ()
    version: int | None = None

    @property
    def words(self) -> tuple[str, ...]:
        """The terms as written: what whisper is told to expect."""
        return tuple(t.term for t in self.terms)

    @property
    def sha256(self) -> str:
        return vocabulary_sha256(self.terms)

    def provenance(self) -> dict[str, Any]:
        """What a record says of the words it was analysed with."""
        return {"version": self.version, "sha256": self.sha256, "terms": len(self.terms)}

    def to_dict(self) -> list[dict[str, Any]]:
        return [{"term": t.term, "spoken": list(t.spoken)} for t in self.terms]


def vocabulary_sha256(terms: Sequence[Term]) -> str:
    text = json.dumps([[t.term, list(t.spoken)] for t in terms], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _clean(text: object, where: str) -> str:
    if not isinstance(text, str):
        raise InvalidRequestError(f"{where}: a term is text")
    clean = " ".join(text.split())
    if not clean or len(clean) > MAX_TERM_LENGTH or _CONTROL.search(text):
        raise InvalidRequestError(f"{where}: 1 to {MAX_TERM_LENGTH} printable characters")
    if _PERSONAL.search(clean):
        raise InvalidRequestError(f"{where}: no personal data (long numbers, e-mail addresses)")
    return clean


def parse_terms(data: object) -> tuple[Term, ...]:
    """Validated terms from ``[{term, spoken?}]`` or ``["term", ...]`` (each term once,
    case-insensitively; `InvalidRequestError` on anything else)."""
    if not isinstance(data, list):
        raise InvalidRequestError("terms: a list of {term, spoken} or of strings")
    if len(data) > MAX_TERMS:
        raise InvalidRequestError(f"terms: at most {MAX_TERMS}")
    out: dict[str, Term] = {}
    for i, item in enumerate(data):
        where = f"terms[{i}]"
        raw: Mapping[str, Any] = item if isinstance(item, Mapping) else {"term": item}
        unknown = set(raw) - {"term", "spoken"}
        if unknown:
            raise InvalidRequestError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        term = _clean(raw.get("term"), f"{where}.term")
        spoken_raw = raw.get("spoken") or []
        if not isinstance(spoken_raw, list) or len(spoken_raw) > MAX_SPOKEN:
            raise InvalidRequestError(f"{where}.spoken: a list of at most {MAX_SPOKEN} forms")
        spoken = tuple(
            dict.fromkeys(
                s for j, form in enumerate(spoken_raw)
                if (s := _clean(form, f"{where}.spoken[{j}]")).casefold() != term.casefold()
            )
        )  # fmt: skip
        if term.casefold() in out:
            raise InvalidRequestError(f"{where}: {term!r} is listed twice")
        out[term.casefold()] = Term(term, spoken)
    return tuple(out.values())


def load_vocabulary(path: Path) -> Vocabulary:
    """A vocabulary file: YAML (or JSON) ``[{term, spoken}]``, or ``{terms: [...]}``."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidRequestError(f"vocabulary {path.name}: cannot read: {exc}") from exc
    if isinstance(data, Mapping) and set(data) == {"terms"}:
        data = data["terms"]
    try:
        return Vocabulary(parse_terms(data))
    except InvalidRequestError as exc:
        raise InvalidRequestError(f"vocabulary {path.name}: {exc}") from exc


def _variants(text: str, terms: Sequence[Term]) -> list[str]:
    """``text`` with each term it holds replaced by each of its spoken forms."""
    out: list[str] = []
    for term in terms:
        pattern = re.compile(rf"(?<!\w){re.escape(term.term)}(?!\w)", re.IGNORECASE)
        if pattern.search(text):
            out += [pattern.sub(form, text) for form in term.spoken]
    return out


def _widened(line: Line, terms: Sequence[Term]) -> Line:
    phrases = [v for p in line.phrases for v in _variants(p, terms)]
    keywords = [v for k in line.keywords for v in _variants(k, terms)]
    if not phrases and not keywords:
        return line
    return replace(
        line,
        phrases=tuple(dict.fromkeys([*line.phrases, *phrases])),
        keywords=tuple(dict.fromkeys([*line.keywords, *keywords])),
    )


def _widen_rule(rule: Rule, terms: Sequence[Term]) -> Rule:
    if isinstance(rule, Order):
        return rule
    if isinstance(rule, Conditional):
        return replace(
            rule, trigger=_widened(rule.trigger, terms), response=_widened(rule.response, terms)
        )
    return replace(rule, line=_widened(rule.line, terms))


def with_vocabulary(policy: Policy, vocabulary: Vocabulary) -> Policy:
    """The policy whose lines also accept the spoken forms of the terms they hold (its id,
    version and sha256 unchanged: the record names the vocabulary on its own)."""
    terms = [t for t in vocabulary.terms if t.spoken]
    if not terms:
        return policy
    return replace(policy, rules=tuple(_widen_rule(rule, terms) for rule in policy.rules))
