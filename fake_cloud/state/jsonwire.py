"""Strict JSON for the cloud's sockets: what comes in is plain JSON or an error, what goes out is
always valid JSON.

Python's json module reads and writes ``NaN`` and ``Infinity``, which strict parsers (browsers'
``JSON.parse``, Go, serde) reject, and raises RecursionError, not ValueError, on deeply nested
input. A frame that is not strict JSON is refused with a ValueError the caller answers with an
``Error`` event; a value that cannot go out as JSON (a non-finite float that slipped into a
device document) goes out as ``null``.
"""

import json
import math
from typing import Any

__all__ = ["dumps", "finite", "loads"]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e400 reads as inf
        raise ValueError(f"{text} is out of range")
    return number


def loads(text: str | bytes) -> Any:
    """Parse strict JSON; ValueError for anything else (NaN, Infinity, 1e400, nesting too
    deep)."""
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def dumps(value: Any) -> str:
    """Compact JSON, never NaN or Infinity (non-finite numbers become null)."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(finite(value), separators=(",", ":"), allow_nan=False)


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value
