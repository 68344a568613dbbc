"""Compliance policies: YAML or JSON files validated into frozen dataclasses.

A policy is a mapping::

    id: ecommerce-aftersales        # letters, digits, '_', '-', '.'
    version: "2025.1"
    description: ...                # optional
    pass_score: 80                  # 0-100: the call passes at or above this score...
    threshold: 0.75                 # default match threshold of the rules (0-1], default 0.75
    rules: [...]                    # ...and when no critical rule failed
    topics: [...]                   # optional call reasons {label, description, examples}
                                    # replacing the default set (see pipelines.analytics.topics)

Every rule has ``id`` (unique), ``kind``, ``weight`` (>= 0, default 1), ``severity``
(info | minor | major | critical, default major; a failed critical rule fails the call whatever
the score), optional ``threshold`` and ``description``. Lines (``role`` agent | customer,
default agent; ``phrases``, one or more canonical lines, any may match; optional ``keywords``,
one of which the matched text must contain, e.g. the company name; optional ``threshold``)
appear in these kinds:

* ``required_line``: a line, optionally ``within_s`` (the match starts by then, seconds from
  the start of the recording) or ``before_s`` (the match ends by then); optionally
  ``before_rule: Y`` (the first match comes no later than the first match of Y; vacuous when Y
  never matches) or ``after_rule: Y`` (a match comes no earlier than Y's first match; fails when
  Y never matches). Y must be a required_line or closing rule.
* ``forbidden_phrase``: a line nobody of that role may say.
* ``conditional``: ``if`` (a line: the trigger) and ``then`` (a line plus ``within_s_after`` and
  optional ``within_s_before``, default 0): after the first trigger the response must start
  within that window around it. No trigger: the rule passes vacuously.
* ``order``: ``sequence`` of two or more required_line/closing rule ids whose first matches
  must come in that order (rules that never matched are skipped).
* ``closing``: a line said in the last ``last_s`` seconds of the call (and in its second half).

Score: sum of passed weights / sum of weights * 100. The policy's ``sha256`` is the SHA-256 of
the canonical JSON (sorted keys, defaults filled in, ``topics`` only when given: older policies
keep their hash) of the validated policy.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipelines.core.errors import PolicyError

logger = logging.getLogger(__name__)

OTHER = "other"  # the topic of a call no category fits
LABEL_MAX_LENGTH = 32  # a topic label's length: the calls table's topic column


@dataclass(frozen=True, slots=True)
class TopicCategory:
    """A call reason: its label, what it means, and how customers say it."""

    label: str
    description: str
    examples: tuple[str, ...] = ()

    @property
    def prototypes(self) -> tuple[str, ...]:
        return (self.description, *self.examples)


Severity = Literal["info", "minor", "major", "critical"]
LineRole = Literal["agent", "customer"]
KINDS = ("required_line", "forbidden_phrase", "conditional", "order", "closing")
ORDERABLE = ("required_line", "closing")
DEFAULT_THRESHOLD = 0.75


@dataclass(frozen=True, slots=True)
class Line:
    """What to listen for: any of ``phrases`` said by ``role``, scored >= ``threshold``."""

    role: LineRole
    phrases: tuple[str, ...]
    threshold: float
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class _RuleBase:
    kind: ClassVar[str]
    id: str
    weight: float
    severity: Severity
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RequiredLine(_RuleBase):
    kind: ClassVar[str] = "required_line"
    line: Line
    within_s: float | None = None
    before_s: float | None = None
    after_rule: str | None = None
    before_rule: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ForbiddenPhrase(_RuleBase):
    kind: ClassVar[str] = "forbidden_phrase"
    line: Line


@dataclass(frozen=True, slots=True, kw_only=True)
class Conditional(_RuleBase):
    kind: ClassVar[str] = "conditional"
    trigger: Line
    response: Line
    within_s_after: float
    within_s_before: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Order(_RuleBase):
    kind: ClassVar[str] = "order"
    sequence: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Closing(_RuleBase):
    kind: ClassVar[str] = "closing"
    line: Line
    last_s: float


Rule = RequiredLine | ForbiddenPhrase | Conditional | Order | Closing


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    version: str
    pass_score: float
    rules: tuple[Rule, ...]
    sha256: str
    description: str = ""
    topics: tuple[TopicCategory, ...] = ()  # none: the default categories

    def rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)

    @property
    def lines(self) -> tuple[Line, ...]:
        """Every line the rules listen for."""
        out: list[Line] = []
        for rule in self.rules:
            if isinstance(rule, Conditional):
                out += [rule.trigger, rule.response]
            elif not isinstance(rule, Order):
                out.append(rule.line)
        return tuple(out)


# --- the edge: pydantic schema ---------------------------------------------------------------

Text = Annotated[str, Field(min_length=1)]
Ident = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"  # a policy or rule id as the API takes it
Seconds = Annotated[float, Field(gt=0)]
Threshold = Annotated[float, Field(gt=0, le=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _LineFields(_Strict):
    role: LineRole = "agent"
    phrases: list[Text] = Field(min_length=1)
    keywords: list[Text] = Field(default_factory=list)


class _LineIn(_LineFields):
    threshold: Threshold | None = None


class _ResponseIn(_LineIn):
    within_s_after: Seconds
    within_s_before: Annotated[float, Field(ge=0)] = 0.0


class _RuleIn(_Strict):
    id: Ident
    description: str = ""
    weight: Annotated[float, Field(ge=0)] = 1.0
    severity: Severity = "major"
    threshold: Threshold | None = None


class _RequiredLineIn(_RuleIn, _LineFields):
    kind: Literal["required_line"]
    within_s: Seconds | None = None
    before_s: Seconds | None = None
    after_rule: Ident | None = None
    before_rule: Ident | None = None


class _ForbiddenIn(_RuleIn, _LineFields):
    kind: Literal["forbidden_phrase"]


class _ConditionalIn(_RuleIn):
    kind: Literal["conditional"]
    if_: _LineIn = Field(alias="if")
    then: _ResponseIn


class _OrderIn(_RuleIn):
    kind: Literal["order"]
    sequence: list[Ident] = Field(min_length=2)


class _ClosingIn(_RuleIn, _LineFields):
    kind: Literal["closing"]
    last_s: Seconds


class _TopicIn(_Strict):
    label: Annotated[Ident, Field(max_length=LABEL_MAX_LENGTH)]
    description: Text
    examples: list[Text] = Field(default_factory=list)


_AnyRuleIn = Annotated[
    _RequiredLineIn | _ForbiddenIn | _ConditionalIn | _OrderIn | _ClosingIn,
    Field(discriminator="kind"),
]


class _PolicyIn(_Strict):
    id: Ident
    version: Text
    description: str = ""
    pass_score: Annotated[float, Field(ge=0, le=100)]
    threshold: Threshold = DEFAULT_THRESHOLD
    rules: list[_AnyRuleIn] = Field(min_length=1)
    topics: Annotated[list[_TopicIn], Field(min_length=1)] | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: object) -> object:
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )


# --- loading ---------------------------------------------------------------------------------


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file (``.json`` as JSON, anything else as YAML)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"policy {path.name}: cannot read: {exc}") from exc
    return parse_policy(text, source=path.name, format="json" if path.suffix == ".json" else "yaml")


def parse_policy(
    text: str, *, source: str = "<text>", format: Literal["yaml", "json"] = "yaml"
) -> Policy:
    """Validate a policy given as YAML (a superset of JSON) or JSON text."""
    try:
        data = json.loads(text) if format == "json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(
            f"policy {source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(f"policy {source}: invalid YAML{where}: {problem}") from exc
    return policy_from_dict(data, source=source)


def policy_from_dict(data: object, *, source: str = "<dict>") -> Policy:
    """Validate an already parsed policy document."""
    if not isinstance(data, Mapping):
        raise PolicyError(
            f"policy {source}: must be a mapping with id, version, pass_score and rules"
        )
    try:
        model = _PolicyIn.model_validate(data)
    except ValidationError as exc:
        messages = [_describe(error, data) for error in exc.errors()]
        raise PolicyError(f"policy {source}: " + "; ".join(dict.fromkeys(messages))) from exc
    _check_references(model, source)
    canonical = json.dumps(
        model.model_dump(
            mode="json", by_alias=True, exclude={"topics"} if not model.topics else None
        ),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    policy = Policy(
        id=model.id,
        version=model.version,
        pass_score=model.pass_score,
        rules=tuple(_rule(r, model.threshold) for r in model.rules),
        sha256=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        description=model.description,
        topics=tuple(
            TopicCategory(t.label, t.description, tuple(t.examples)) for t in model.topics or ()
        ),
    )
    logger.debug("policy %s %s: %d rules", policy.id, policy.version, len(policy.rules))
    return policy


def _check_references(model: _PolicyIn, source: str) -> None:
    kinds: dict[str, str] = {}
    for rule in model.rules:
        if rule.id in kinds:
            raise PolicyError(f"policy {source}: rule {rule.id}: id is used by more than one rule")
        kinds[rule.id] = rule.kind
    if sum(r.weight for r in model.rules) <= 0:
        raise PolicyError(f"policy {source}: the rules' weights must add up to more than 0")
    labels = [t.label for t in model.topics or ()]
    for i, label in enumerate(labels):
        if label == OTHER or label in labels[:i]:
            why = "is reserved for calls no topic fits" if label == OTHER else "is listed twice"
            raise PolicyError(f"policy {source}: topic {label}: label {why}")

    def check(rule_id: str, field: str, target: str) -> None:
        where = f"policy {source}: rule {rule_id}: {field}"
        if target not in kinds:
            raise PolicyError(f"{where} names unknown rule {target!r}")
        if target == rule_id:
            raise PolicyError(f"{where} names the rule itself")
        if kinds[target] not in ORDERABLE:
            raise PolicyError(
                f"{where} names rule {target!r} of kind {kinds[target]}; "
                f"only {' and '.join(ORDERABLE)} rules can be ordered"
            )

    for rule in model.rules:
        if isinstance(rule, _RequiredLineIn):
            if rule.within_s is not None and rule.before_s is not None:
                raise PolicyError(
                    f"policy {source}: rule {rule.id}: give within_s or before_s, not both"
                )
            for field in ("after_rule", "before_rule"):
                target = getattr(rule, field)
                if target is not None:
                    check(rule.id, field, target)
        elif isinstance(rule, _OrderIn):
            for target in rule.sequence:
                check(rule.id, "sequence", target)
            if len(set(rule.sequence)) != len(rule.sequence):
                raise PolicyError(f"policy {source}: rule {rule.id}: sequence repeats a rule")


def _line(spec: _LineFields, default: float) -> Line:
    return Line(
        role=spec.role,
        phrases=tuple(spec.phrases),
        threshold=getattr(spec, "threshold", None) or default,
        keywords=tuple(spec.keywords),
    )


def _rule(spec: _RuleIn, policy_threshold: float) -> Rule:
    default = spec.threshold if spec.threshold is not None else policy_threshold
    common: dict[str, Any] = {
        "id": spec.id,
        "weight": spec.weight,
        "severity": spec.severity,
        "description": spec.description,
    }
    if isinstance(spec, _RequiredLineIn):
        return RequiredLine(
            **common,
            line=_line(spec, default),
            within_s=spec.within_s,
            before_s=spec.before_s,
            after_rule=spec.after_rule,
            before_rule=spec.before_rule,
        )
    if isinstance(spec, _ForbiddenIn):
        return ForbiddenPhrase(**common, line=_line(spec, default))
    if isinstance(spec, _ConditionalIn):
        return Conditional(
            **common,
            trigger=_line(spec.if_, default),
            response=_line(spec.then, default),
            within_s_after=spec.then.within_s_after,
            within_s_before=spec.then.within_s_before,
        )
    if isinstance(spec, _OrderIn):
        return Order(**common, sequence=tuple(spec.sequence))
    assert isinstance(spec, _ClosingIn)
    return Closing(**common, line=_line(spec, default), last_s=spec.last_s)


def _describe(error: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    """One pydantic error as ``rule greeting: within_s must be > 0``."""
    loc = list(error["loc"])
    prefix = ""
    if len(loc) >= 2 and loc[0] in ("rules", "topics") and isinstance(loc[1], int):
        items = data.get(loc[0])
        raw = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
        what, key = ("rule", "id") if loc[0] == "rules" else ("topic", "label")
        rid = raw.get(key) if isinstance(raw, Mapping) else None
        prefix = f"{what} {rid}: " if isinstance(rid, str) and rid else f"{what} #{loc[1] + 1}: "
        loc = loc[2:]
        if loc and loc[0] in KINDS:  # the discriminated-union branch
            loc = loc[1:]
    field = ".".join(str(part) for part in loc)
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "union_tag_invalid":
        return f"{prefix}kind {ctx.get('tag')!r} is unknown; use one of {', '.join(KINDS)}"
    if kind == "union_tag_not_found":
        return f"{prefix}kind is required (one of {', '.join(KINDS)})"
    templates = {
        "missing": "{f} is required",
        "extra_forbidden": "{f} is not a known field",
        "greater_than": "{f} must be > {gt}",
        "greater_than_equal": "{f} must be >= {ge}",
        "less_than": "{f} must be < {lt}",
        "less_than_equal": "{f} must be <= {le}",
        "too_short": "{f} must have at least {min_length} item(s)",
        "string_too_short": "{f} must not be empty",
        "string_too_long": "{f} must be at most {max_length} characters",
        "string_pattern_mismatch": "{f} may only contain letters, digits, '_', '-' and '.'",
        "literal_error": "{f} must be {expected}",
        "list_type": "{f} must be a list",
        "float_parsing": "{f} must be a number",
        "float_type": "{f} must be a number",
        "string_type": "{f} must be text",
        "model_type": "{f} must be a mapping",
        "model_attributes_type": "{f} must be a mapping",
    }
    template = templates.get(kind)
    if template is None:
        return f"{prefix}{field}: {error['msg']}"
    return prefix + template.format(f=field or "rule", **{k: ctx.get(k) for k in _CTX_KEYS})


_CTX_KEYS = ("gt", "ge", "lt", "le", "min_length", "max_length", "expected")
