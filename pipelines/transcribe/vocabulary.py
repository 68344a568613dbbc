"""The words a call is likely to hold that whisper does not expect: names from the policy.

Company and product names ("Harbor Home", "Brightline") and the policy's keywords come out of a
generic English model misheard ("and you are calling family man"). They are given to whisper as
``hotwords`` (faster-whisper puts them in the prompt of every window), together with a tenant's
own terms. Only proper names and keywords are taken: whole script lines would bias whisper into
hearing them when they were not said, which is what compliance checking must never do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pipelines.compliance.policy import Policy

MAX_TERMS = 24
_NAME = re.compile(r"\b[A-Z][\w'&-]*(?:\s+[A-Z][\w'&-]*)*")
_NOT_NAMES = frozenset({"I", "I'm", "I've", "I'll", "I'd", "OK", "Okay"})


def names_in(phrase: str) -> list[str]:
    """Capitalised runs that are not the first word of a sentence: proper names."""
    names = []
    for match in _NAME.finditer(phrase):
        before = phrase[: match.start()].rstrip()
        if not before or before[-1] in ".!?":
            continue  # sentence-initial capital
        words = [w for w in match.group().split() if w not in _NOT_NAMES]
        if words:
            names.append(" ".join(words))
    return names


def policy_terms(policy: Policy | None) -> tuple[str, ...]:
    """Proper names in the policy's phrases, then its keywords that are names or acronyms."""
    if policy is None:
        return ()
    found: list[str] = []
    for line in policy.lines:
        for phrase in line.phrases:
            found += names_in(phrase)
        found += [k for k in line.keywords if any(ch.isupper() for ch in k)]
    return unique(found)


def unique(terms: Iterable[str]) -> tuple[str, ...]:
    """Each term once (case-insensitively), none that an earlier term already holds."""
    kept: list[str] = []
    for term in terms:
        clean = " ".join(term.split())
        words = f" {clean.casefold()} "
        if clean and not any(words in f" {k.casefold()} " for k in kept):
            kept.append(clean)
    return tuple(kept)


def call_vocabulary(policy: Policy | None, tenant_terms: Sequence[str] = ()) -> tuple[str, ...]:
    """The tenant's terms first (they chose them), then the policy's, at most ``MAX_TERMS``."""
    return unique([*tenant_terms, *policy_terms(policy)])[:MAX_TERMS]
