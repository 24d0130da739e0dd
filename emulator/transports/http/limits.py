"""Limits of the device HTTP listeners: sizes, timeouts and connection counts.

The defaults follow what robust servers ship: an 8 KB request line and header line (gunicorn
4094/8190, nginx ``large_client_header_buffers 4 8k``), a 16 KB head (Node.js
``--max-http-header-size``, h11's 16 KB incomplete event), header and body timeouts of a few
seconds (Apache mod_reqtimeout, Node's ``headersTimeout``), a keep-alive idle timeout longer than
the pools of common clients (aiohttp keeps idle connections 15 s: a server that closes first
races the client's reuse). The body limit is the device's own: 64 KB is plenty for any Gen1
request. Configurable from Python (``Runtime(limits=...)``), the CLI (``--limit NAME=VALUE``)
and fleet files (``limits:``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

__all__ = ["DEFAULT_LIMITS", "HttpLimits", "LimitError", "parse_limit_options"]


class LimitError(ValueError):
    """A limit that makes no sense; the message names it and says what is allowed."""


#: name -> (kind, low, high, what it is): every limit is checked against this table.
_RULES: dict[str, tuple[type, float, float, str]] = {
    "max_line": (int, 256, 1 << 20, "bytes of the request line or of one header line (414/431)"),
    "max_head": (int, 512, 1 << 22, "bytes of the whole request head (431)"),
    "max_body": (int, 0, 1 << 30, "bytes of a request body (413)"),
    "header_timeout": (float, 0.01, 3600, "seconds to send a whole request head (408)"),
    "body_timeout": (float, 0.01, 3600, "seconds to send a request body once it starts (408)"),
    "keep_alive_timeout": (float, 0.01, 3600, "seconds a connection may idle between requests"),
    "connection_budget": (int, 0, 1 << 24, "open connections per process (0: from the fd limit)"),
    "max_connections": (int, 0, 1 << 16, "open connections per device (0: no limit)"),
}


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """Bounds every device HTTP listener of a runtime applies (see the module docstring).

    ``connection_budget`` is shared by all devices of a process; 0 derives it from the
    descriptor limit. ``max_connections`` is the per-device default (0: none): real Gen1 devices
    (ESP8266, Mongoose OS) hold only a handful of TCP connections, so a small value is a
    fidelity setting for testing a client against it.
    """

    max_line: int = 8 * 1024
    max_head: int = 16 * 1024
    max_body: int = 64 * 1024
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    keep_alive_timeout: float = 30.0
    connection_budget: int = 0
    max_connections: int = 0

    def __post_init__(self) -> None:
        for name, (kind, low, high, what) in _RULES.items():
            value = getattr(self, name)
            if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise LimitError(f"{name}: {value!r} is not an integer ({what})")
            if kind is float and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise LimitError(f"{name}: {value!r} is not a number of seconds ({what})")
            if not low <= value <= high:
                raise LimitError(f"{name}: {value!r} is out of range {low:g}..{high:g} ({what})")
        if self.max_head < self.max_line:
            raise LimitError(f"max_head ({self.max_head}) must be at least max_line")

    @property
    def tick(self) -> float:
        """How often timeouts are checked: a quarter of the shortest, within 0.05..1 s."""
        shortest = min(self.header_timeout, self.body_timeout, self.keep_alive_timeout)
        return min(1.0, max(0.05, shortest / 4))

    def merged(self, data: Mapping[str, Any]) -> HttpLimits:
        """These limits with ``data`` applied (strings from the CLI converted); unknown names
        and wrong values raise LimitError naming the limit and what is allowed."""
        unknown = sorted(str(k) for k in set(data) - set(_RULES))
        if unknown:
            raise LimitError(f"unknown limit {unknown[0]!r}; known: {', '.join(_RULES)}")
        return replace(self, **{name: _convert(name, value) for name, value in data.items()})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_LIMITS = HttpLimits()


def parse_limit_options(options: Iterable[str], base: HttpLimits = DEFAULT_LIMITS) -> HttpLimits:
    """``NAME=VALUE`` strings (the CLI's repeated ``--limit``) over ``base``."""
    data: dict[str, str] = {}
    for option in options:
        name, sep, value = option.partition("=")
        if not sep:
            raise LimitError(f"--limit {option!r}: want NAME=VALUE; names: {', '.join(_RULES)}")
        data[name.strip()] = value.strip()
    return base.merged(data)


def _convert(name: str, value: Any) -> Any:
    kind, _, _, what = _RULES[name]
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            noun = "an integer" if kind is int else "a number"
            raise LimitError(f"{name}: {value!r} is not {noun} ({what})") from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
