"""The values of a stored record's JSON, read leniently: anything of another type reads as None.

Numbers are finite ints and floats kept as stored (an int stays an int, so a value echoed back is
unchanged; ``float`` in the signatures takes ints); booleans are not numbers.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from typing import Any, Self, get_type_hints

Json = Mapping[str, Any]


def number(value: object) -> float | None:
    """A finite int or float as stored, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if math.isfinite(value) else None


def integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def filled(value: object) -> Json | None:
    """A JSON object with something in it, else None (missing, null, empty, not an object)."""
    return value if isinstance(value, Mapping) and value else None


def objects(value: object) -> tuple[Json, ...]:
    """The objects of a list (a record read from JSON) or a tuple (a record in memory)."""
    if not isinstance(value, list | tuple):
        return ()
    return tuple(item for item in value if isinstance(item, Mapping))


def texts(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list | tuple) else ()


def numbers(value: object) -> Mapping[str, float]:
    """``{name: number}`` (speaker: seconds, ...) in stored order, other values left out."""
    if not isinstance(value, Mapping):
        return {}
    return {str(k): n for k, v in value.items() if (n := number(v)) is not None}


READERS: dict[object, Callable[[object], object]] = {
    str | None: text,
    float | None: number,
    int | None: integer,
    bool | None: flag,
}


class ScalarView:
    """A view whose fields are all ``str``, ``float``, ``int`` or ``bool`` (or None), each read
    from the JSON key of its name by the reader of its type."""

    __slots__ = ()

    @classmethod
    def from_dict(cls, data: Json) -> Self:
        view: type = cls
        return cls(**{name: read(data.get(name)) for name, read in _readers(view)})


@functools.cache
def _readers(view: type) -> tuple[tuple[str, Callable[[object], object]], ...]:
    """Each field of a scalar view with the reader of its type (worked out once per class)."""
    hints = get_type_hints(view)
    return tuple((f.name, READERS[hints[f.name]]) for f in dataclasses.fields(view))
