"""``name=value`` overrides of an options dataclass, for the benches that tune one."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

Options = TypeVar("Options")


def with_overrides(defaults: Options, pairs: list[str]) -> Options:
    """``defaults`` with each ``name=value`` applied, typed as the default is."""
    changes: dict[str, Any] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        kind = type(getattr(defaults, name))
        changes[name] = kind(float(value)) if kind is int else kind(value)
    return dataclasses.replace(defaults, **changes)  # type: ignore[type-var]
