"""Shapes against every capture of each model: every key a real device wrote exists in the
emulator's answer with the same JSON type (captures win over the docs, whose examples are only
checked for keys). Keys older firmware had and 1.14 dropped are listed, with the evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import get_json

SHARED = Path(__file__).resolve().parents[3] / "shared"
if not SHARED.is_dir():  # a clone outside /work: the shared tree sits next to the project
    SHARED = Path("/work/shared")
CAPTURES = SHARED / "captures"
DOCS = SHARED / "spec" / "docs_examples"
MODELS = ["SHBLB-1", "SHSEN-1", "SHHT-1", "SHSM-01"]

#: Keys of pre-1.14 captures that fw 1.14 no longer writes (1.14 captures SHSW-1 settings__3,
#: SHPLG-S settings__3, the SHHT-1 1.14 dump have none of them). Paths use "[]" for list items.
DROPPED_BY_1_14 = {
    "login.password",
    "mqtt.will_topic",
    "mqtt.will_message",
    "coiot_execute_enable",
    "report_url",  # H&T 1.6: became actions.names report_url (docs example SHHT-1 settings)
}
#: Endpoint file stem -> resource path.
ENDPOINTS = {
    "status": "status",
    "settings": "settings",
    "shelly": "shelly",
    "ir_list": "ir/list",
    "light_0": "light/0",
    "settings_light_0": "settings/light/0",
}


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def mismatches(expected: Any, actual: Any, *, types: bool, path: str = "") -> list[str]:
    """Keys of ``expected`` missing from ``actual`` and (``types``) JSON type differences.
    A null on either side matches any type (firmware writes null for unset values)."""
    if expected is None or actual is None:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path or '/'}: object expected, got {kind(actual)}"]
        found = []
        for key, value in expected.items():
            where = f"{path}.{key}" if path else key
            if where in DROPPED_BY_1_14:
                continue
            if key not in actual:
                found.append(f"{where}: missing")
            else:
                found += mismatches(value, actual[key], types=types, path=where)
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: array expected, got {kind(actual)}"]
        if not expected or not actual:
            return []
        return [
            m
            for item in expected
            for m in mismatches(item, actual[0], types=types, path=f"{path}[]")
        ]
    if types and kind(expected) != kind(actual):
        return [f"{path}: {kind(expected)} expected, got {kind(actual)} ({actual!r})"]
    return []


def _examples() -> list[Any]:
    cases = []
    for model in MODELS:
        for file in sorted((CAPTURES / model).glob("*.json")):
            stem = file.stem.split("__")[0]
            cases.append(
                pytest.param(model, ENDPOINTS[stem], file, True, id=f"{model}-{file.stem}")
            )
        for file in sorted(DOCS.glob(f"{model}_*.json")):
            stem = file.stem.removeprefix(f"{model}_")
            cases.append(pytest.param(model, ENDPOINTS[stem], file, False, id=f"docs-{file.stem}"))
    return cases


def test_every_model_has_captures():
    assert all(list((CAPTURES / model).glob("status__*.json")) for model in MODELS)


@pytest.mark.parametrize(("model", "path", "example", "types"), _examples())
def test_shape_matches(make_device, model, path, example, types):
    host = make_device(model)
    if path == "ir/list":  # an empty list has no shape: store two codes first
        for code_id in ("1_231_pwr", "1_231_mute"):
            get_json(host, "ir/add", id=code_id, name="tv", pronto="AAAAbQABAAAAAQAB")
    expected = json.loads(example.read_text())
    assert mismatches(expected, get_json(host, path), types=types) == []


def test_the_comparison_is_not_vacuous():
    """A missing key, a bool for a string and an int for a bool are all reported."""
    expected = {"a": {"b": "true"}, "c": [{"d": True}], "login": {"password": "x"}}
    actual = {"a": {"b": True}, "c": [{"d": 1}]}
    assert mismatches(expected, actual, types=True) == [
        "a.b: str expected, got bool (True)",
        "c[].d: bool expected, got number (1)",
        "login: missing",
    ]
