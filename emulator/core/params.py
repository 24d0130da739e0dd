"""Gen1 query-string grammar: typed, validated reads of request parameters.

Seed 003 "HTTP dialect": parameters come as query string or form body, the method is ignored,
and booleans are ``1 y Y t T`` or case-insensitive ``true``; every other value is false.
Every reader raises BadRequest before anything changes, so a handler validates all its
parameters first and applies them after.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from .errors import BadRequest

__all__ = ["Params", "parse_bool"]

_TRUE = {"1", "y", "Y", "t", "T"}


def parse_bool(value: str) -> bool:
    """The firmware's boolean dialect."""
    return value in _TRUE or value.lower() == "true"


class Params:
    """Read-only view of a request's parameters with typed getters."""

    def __init__(
        self,
        values: Mapping[str, str] | None = None,
        lists: Mapping[str, list[str]] | None = None,
    ) -> None:
        self._values = dict(values or {})
        #: Every value of a repeated parameter (``urls[]=a&urls[]=b``), where the view kept them.
        self._lists = dict(lists or {})

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def __bool__(self) -> bool:
        return bool(self._values)

    def keys(self) -> Iterable[str]:
        return self._values.keys()

    def as_dict(self) -> dict[str, str]:
        return dict(self._values)

    def raw(self, name: str) -> str | None:
        return self._values.get(name)

    def values(self, name: str) -> list[str]:
        """Every value given for ``name``, in order (one when the caller kept only the first)."""
        if name in self._lists:
            return list(self._lists[name])
        return [self._values[name]] if name in self._values else []

    def text(self, name: str, *, max_len: int = 256, min_len: int = 0) -> str | None:
        value = self._values.get(name)
        if value is None:
            return None
        if not min_len <= len(value) <= max_len:
            raise BadRequest(f"{name} must be {min_len}..{max_len} characters long")
        return value

    def boolean(self, name: str) -> bool | None:
        value = self._values.get(name)
        return None if value is None else parse_bool(value)

    def number(
        self,
        name: str,
        low: float | None = None,
        high: float | None = None,
        *,
        integer: bool = False,
    ) -> float | None:
        value = self._values.get(name)
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            raise BadRequest(f"{name}: '{value}' is not a number") from None
        if not math.isfinite(number):
            raise BadRequest(f"{name}: '{value}' is not a number")
        if integer and number != int(number):
            raise BadRequest(f"{name}: '{value}' is not an integer")
        if (low is not None and number < low) or (high is not None and number > high):
            raise BadRequest(f"{name}: {value} is out of range {low}..{high}")
        return number

    def integer(self, name: str, low: int | None = None, high: int | None = None) -> int | None:
        number = self.number(name, low, high, integer=True)
        return None if number is None else int(number)

    def choice(self, name: str, allowed: Iterable[str]) -> str | None:
        value = self._values.get(name)
        if value is None:
            return None
        options = list(allowed)
        if value not in options:
            raise BadRequest(f"{name}: '{value}' is not one of {', '.join(options)}")
        return value
