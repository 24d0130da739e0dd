"""Structural comparison of JSON bodies: keys, nesting and JSON types, not values."""

from __future__ import annotations

from typing import Any


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


def shape_diff(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Differences in shape; ``null`` matches anything (unset names, optional IPs)."""
    if expected is None or actual is None:
        return []
    if json_type(expected) != json_type(actual):
        return [f"{path or '.'}: type {json_type(actual)} != {json_type(expected)}"]
    diffs: list[str] = []
    if isinstance(expected, dict):
        for key in expected.keys() - actual.keys():
            diffs.append(f"{path}.{key}: missing")
        for key in actual.keys() - expected.keys():
            diffs.append(f"{path}.{key}: extra")
        for key in expected.keys() & actual.keys():
            diffs += shape_diff(expected[key], actual[key], f"{path}.{key}")
    elif isinstance(expected, list) and expected and actual:
        diffs += shape_diff(expected[0], actual[0], f"{path}[]")
    return sorted(diffs)
