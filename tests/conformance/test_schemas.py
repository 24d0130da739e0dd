"""The schemas accept every real capture at its firmware and reject mutated ones."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from emulator.conformance.schemas import (
    SchemaGateError,
    apply_gates,
    errors_of,
    model_info,
    models,
    parse_fw,
    validator,
)

from .captures import Capture, captures, coiot_descriptions

ALL = captures() + coiot_descriptions()


@pytest.mark.parametrize("capture", ALL, ids=lambda c: c.id)
def test_capture_validates_at_its_firmware(capture: Capture) -> None:
    """A body a real device wrote conforms to its model's schema for that firmware."""
    assert errors_of(validator(capture.model, capture.endpoint, capture.fw), capture.body()) == []


@dataclass(frozen=True)
class Mutation:
    """Break one field of a body: ``value=DELETE`` removes it."""

    kind: str  # "type" | "missing" | "enum" (enums and ranges)
    endpoint: str
    path: tuple[str | int, ...]
    value: Any


DELETE = object()
MUTATIONS = [
    Mutation("missing", "shelly", ("mac",), DELETE),
    Mutation("type", "shelly", ("auth",), "false"),
    Mutation("enum", "shelly", ("longid",), 2),
    Mutation("enum", "shelly", ("type",), "SHXX-9"),
    Mutation("missing", "settings", ("device",), DELETE),
    Mutation("missing", "settings", ("name",), DELETE),
    Mutation("type", "settings", ("name",), 5),
    Mutation("enum", "settings", ("wifi_sta", "ipv4_method"), "bogus"),
    Mutation("enum", "settings", ("mqtt", "max_qos"), 3),
    Mutation("enum", "settings", ("relays", 0, "default_state"), "bogus"),
    Mutation("enum", "settings", ("lights", 0, "red"), 300),
    Mutation("enum", "settings", ("sleep_mode", "unit"), "d"),
    Mutation("type", "settings", ("relays", 0, "auto_off"), "0"),
    Mutation("missing", "status", ("uptime",), DELETE),
    Mutation("missing", "status", ("update", "old_version"), DELETE),
    Mutation("type", "status", ("uptime",), "12"),
    Mutation("type", "status", ("meters", 0, "is_valid"), 5),
    Mutation("enum", "status", ("update", "status"), "bogus"),
    Mutation("enum", "status", ("wifi_sta", "rssi"), 5),
    Mutation("enum", "status", ("bat", "value"), 101),
    Mutation("missing", "relay", ("ison",), DELETE),
    Mutation("type", "relay", ("ison",), "on"),
    Mutation("enum", "relay", ("timer_remaining",), -1),
    Mutation("missing", "settings_relay", ("default_state",), DELETE),
    Mutation("type", "settings_relay", ("auto_on",), "0"),
    Mutation("enum", "settings_relay", ("default_state",), "bogus"),
    Mutation("missing", "ir_list", (0, 1), DELETE),
    Mutation("type", "ir_list", (0, 0), 5),
    Mutation("enum", "ir_list", (0, 0), ""),
    Mutation("missing", "cit_d", ("blk",), DELETE),
    Mutation("type", "cit_d", ("sen", 0, "I"), "1101"),
    Mutation("enum", "cit_d", ("sen", 0, "L"), "one"),
]


def _mutate(body: Any, m: Mutation) -> Any | None:
    """The mutated copy, or None when ``body`` lacks the field."""
    out = copy.deepcopy(body)
    parent = out
    for step in m.path[:-1]:
        try:
            parent = parent[step]
        except (KeyError, IndexError, TypeError):
            return None
    last = m.path[-1]
    try:
        parent[last]
    except (KeyError, IndexError, TypeError):
        return None
    if m.value is DELETE:
        del parent[last]
    else:
        parent[last] = m.value
    return out


def _cases() -> list[Any]:
    cases = []
    for c in ALL:
        for m in MUTATIONS:
            if m.endpoint == c.endpoint and _mutate(c.body(), m) is not None:
                path = "/".join(map(str, m.path))
                cases.append(pytest.param(c, m, id=f"{c.id}-{m.kind}-{path}"))
    return cases


@pytest.mark.parametrize(("capture", "mutation"), _cases())
def test_mutated_capture_fails(capture: Capture, mutation: Mutation) -> None:
    """Wrong type, missing required key or value out of enum/range is caught."""
    mutated = _mutate(capture.body(), mutation)
    assert errors_of(validator(capture.model, capture.endpoint, capture.fw), mutated) != []


@pytest.mark.parametrize("capture", ALL, ids=lambda c: c.id)
def test_every_capture_meets_each_kind_of_mutation(capture: Capture) -> None:
    """No schema is vacuous: each capture is checked for type, presence and enum/range."""
    kinds = {
        m.kind
        for m in MUTATIONS
        if m.endpoint == capture.endpoint and _mutate(capture.body(), m) is not None
    }
    assert kinds == {"type", "missing", "enum"}


def _body(capture_id: str) -> Any:
    return next(c for c in ALL if c.id.startswith(capture_id)).body()


def test_field_added_later_is_rejected_on_older_firmware() -> None:
    """x-since: unixtime (changelog v1.6.0) must not appear in a 1.5 /status."""
    body = _body("SHSW-1/status__1")
    v15 = validator("SHSW-1", "status", "x/v1.5.0")
    assert errors_of(v15, body) == []
    assert any("unixtime" in e for e in errors_of(v15, {**body, "unixtime": 1}))


def test_field_removed_later_is_rejected_on_newer_firmware() -> None:
    """x-until: /settings login.password was removed in v1.7.0."""
    body = _body("SHSW-1/settings__3")
    body["login"]["password"] = "secret"
    assert any(
        "password" in e for e in errors_of(validator("SHSW-1", "settings", "x/v1.14.0"), body)
    )


def test_type_variant_follows_firmware() -> None:
    """x-before: ext_temperature is [] on 1.6.2 and {} from 1.7.0; "true" strings only below 1.8."""
    old, new = _body("SHSW-1/settings__1"), _body("SHSW-1/settings__3")
    assert errors_of(validator("SHSW-1", "settings", "x/v1.14.0"), {**new, "ext_temperature": []})
    assert errors_of(validator("SHSW-1", "settings", "x/v1.6.2"), {**old, "ext_temperature": {}})
    status = {**_body("SHSW-1/status__3"), "meters": [{"power": 0, "is_valid": "true"}]}
    assert errors_of(validator("SHSW-1", "status", "x/v1.14.0"), status)
    assert not errors_of(validator("SHSW-1", "status", "x/v1.5.0"), _body("SHSW-1/status__1"))


def test_cit_d_generation_follows_firmware() -> None:
    """A v1 description is wrong for fw >= 1.8 and a v2 one for older firmware."""
    v1, v2 = _body("SHSW-1/SHSW-1_v1_citd"), _body("SHSW-1/SHSW-1_citd")
    assert errors_of(validator("SHSW-1", "cit_d", "x/v1.14.0"), v1)
    assert errors_of(validator("SHSW-1", "cit_d", "x/v1.5.0"), v2)


def _schema_files() -> list[str]:
    root = resources.files("profiles") / "schemas"
    return sorted(
        f"{d.name}/{f.name}"
        for d in root.iterdir()
        if d.is_dir()
        for f in d.iterdir()
        if f.name.endswith(".json")
    )


@pytest.mark.parametrize("fw", ["1.4.5", "1.5.0", "1.6.0", "1.7.0", "1.8.0", "1.10.0", "1.14.0"])
@pytest.mark.parametrize("relpath", _schema_files())
def test_schema_file_gates_and_is_valid_2020_12(relpath: str, fw: str) -> None:
    """Every file gates cleanly (no misplaced gate keyword) and is a valid draft 2020-12 schema."""
    raw = json.loads((resources.files("profiles") / "schemas" / relpath).read_text())
    Draft202012Validator.check_schema(apply_gates(raw, parse_fw(f"v{fw}")))


def test_misplaced_gate_is_an_error() -> None:
    """A gate outside a property would silently do nothing, so it is refused."""
    with pytest.raises(SchemaGateError):
        apply_gates({"type": "object", "x-since": "1.6"}, (1, 14, 0))


@pytest.mark.parametrize("model", models())
def test_every_listed_endpoint_has_a_schema(model: str) -> None:
    """models.json and the schema files agree."""
    present = {
        p.split("/")[1].removesuffix(".json") for p in _schema_files() if p.startswith(model + "/")
    }
    assert present == {"shelly", "settings", "status", *model_info(model).endpoints}


@pytest.mark.parametrize(
    ("fw", "version"),
    [
        ("20190711-084016/v1.5.0-hotfix4@3b4f7414", (1, 5, 0)),
        ("20200228-153004/v1.6.0-rc4@a7a0b9f1", (1, 6, 0)),
        ("20230913-112003/v1.14.0-gcb84623", (1, 14, 0)),
        ("old_version 20200306-150856/v1.6.0-rc6@43056d58 (update pending)", (1, 6, 0)),
    ],
)
def test_parse_fw(fw: str, version: tuple[int, int, int]) -> None:
    """Firmware ids of the captures parse to their version."""
    assert parse_fw(fw) == version
