"""A model's MQTT topics as data: profiles/mqtt/<model>.yaml (format: profiles/mqtt/README.md).

Pure functions over rendered /status and /settings bodies: which payload each state topic has
now, and which HTTP resource a command message drives. No model is named in code.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from ...core.profile import ProfileError

__all__ = ["Command", "TopicTable", "load_topics"]

#: A command resolved to the resource it drives: (path, parameters).
type Call = tuple[str, dict[str, str]]

_FORMATS = ("onoff", "bool", "int", "decimal2", "position", "text", "json")


@dataclass(frozen=True, slots=True)
class Command:
    """One command topic pattern (``relay/{i}/command``) and what its payloads call."""

    topic: str
    each: str | None
    modes: tuple[str, ...] | None
    call: str
    spec: Mapping[str, Any]

    def resolve(self, index: int, payload: str) -> Call | None:
        """The call a payload asks for; None for a payload firmware would ignore."""
        path = self.call.format(i=index)
        fixed = {str(k): str(v) for k, v in (self.spec.get("params") or {}).items()}
        payloads = self.spec.get("payloads")
        if payloads is not None:
            choice = payloads.get(payload.strip())
            if choice is None:
                return None
            params = {str(k): str(v) for k, v in choice.items() if k != "call"}
            return str(choice.get("call", self.call)).format(i=index), {**fixed, **params}
        number = self.spec.get("number")
        if number is not None:
            try:
                value = float(payload)
            except ValueError:
                return None
            if not number["min"] <= value <= number["max"] or value != int(value):
                return None
            return path, {**fixed, number["param"]: str(int(value))}
        keys = self.spec.get("json")
        if keys is not None:
            try:
                body = json.loads(payload)
            except ValueError:
                return None
            if not isinstance(body, dict):
                return None
            params = {k: _param(v) for k, v in body.items() if k in keys}
            return (path, {**fixed, **params}) if params else None
        return None


def _param(value: Any) -> str:
    """A JSON value as a query parameter (``true`` -> ``true``, 50.0 -> ``50``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _path(body: Any, dotted: str) -> Any:
    node = body
    for part in dotted.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            raise KeyError(dotted)
    return node


def _format(spec: Mapping[str, Any], value: Any) -> str:
    fmt = spec.get("format", "text")
    if isinstance(fmt, Mapping):
        return str(fmt["map"].get(value, fmt.get("default", value)))
    if fmt == "onoff":
        return "on" if value else "off"
    if fmt == "bool":
        return "true" if value else "false"
    if fmt == "int":
        return str(round(float(value)))
    if fmt == "decimal2":
        return f"{float(value):.2f}"
    if fmt == "position":  # DOC: the position in percent, -1 while unknown (uncalibrated)
        return str(int(value)) if 0 <= value <= 100 else "-1"
    if fmt == "json":
        fields = spec.get("fields")
        if fields is not None:
            value = {name: value[name] for name in fields if name in value}
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class TopicTable:
    """The publish and command topics of one model."""

    def __init__(self, model: str, data: Mapping[str, Any]) -> None:
        self.model = model
        self.publish: list[Mapping[str, Any]] = list(data.get("publish") or [])
        for spec in self.publish:
            fmt = spec.get("format", "text")
            if not isinstance(fmt, Mapping) and fmt not in _FORMATS:
                raise ProfileError(f"mqtt/{model}.yaml: {spec['topic']}: unknown format {fmt!r}")
            if not spec.get("source"):
                raise ProfileError(f"mqtt/{model}.yaml: {spec['topic']}: no source")
        self.commands = [
            Command(
                str(spec["topic"]),
                spec.get("each"),
                tuple(spec["modes"]) if spec.get("modes") else None,
                str(spec["call"]),
                spec,
            )
            for spec in data.get("commands") or []
        ]

    @property
    def reads_settings(self) -> bool:
        return any(spec.get("from") == "settings" for spec in self.publish)

    def state(
        self,
        status: Mapping[str, Any],
        settings: Mapping[str, Any] | None = None,
        mode: str | None = None,
    ) -> dict[str, str]:
        """Every state topic's payload now (topics whose value the body lacks are left out)."""
        messages: dict[str, str] = {}
        for spec in self.publish:
            if spec.get("modes") and mode not in spec["modes"]:
                continue
            body = settings if spec.get("from") == "settings" else status
            if body is None:
                continue
            each = spec.get("each")
            found = body.get(each) or [] if each else [body]
            # A list, or an object keyed by index (the add-on's {"0": {...}, "1": {...}}).
            items = (
                [(int(k), v) for k, v in found.items()]
                if isinstance(found, Mapping)
                else list(enumerate(found))
            )
            for index, item in items:
                try:
                    value = item if "value" not in spec else _path(item, spec["value"])
                except KeyError:
                    continue
                topic = str(spec["topic"]).format(i=index)
                overpower = spec.get("overpower")
                if overpower and isinstance(item, Mapping) and item.get(overpower):
                    messages[topic] = "overpower"
                else:
                    messages[topic] = _format(spec, value)
        return messages

    def input_event_topics(self, channel: int, mode: str | None = None) -> list[str]:
        """Topics published on every press of input ``channel`` (changed or not)."""
        return [
            str(spec["topic"]).format(i=channel)
            for spec in self.publish
            if spec.get("on_input_event") and (not spec.get("modes") or mode in spec["modes"])
        ]

    def command_topics(self, status: Mapping[str, Any]) -> dict[str, tuple[Command, int]]:
        """Every concrete command topic of the device (``relay/0/command``...)."""
        topics: dict[str, tuple[Command, int]] = {}
        for command in self.commands:
            count = len(status.get(command.each) or []) if command.each else 1
            for index in range(count):
                topics[command.topic.format(i=index)] = (command, index)
        return topics

    def resolve(
        self, suffix: str, payload: str, status: Mapping[str, Any], mode: str | None
    ) -> Call | None:
        """The call a message on ``shellies/<id>/<suffix>`` asks for, or None (ignored)."""
        found = self.command_topics(status).get(suffix)
        if found is None:
            return None
        command, index = found
        if command.modes is not None and mode not in command.modes:
            return None
        return command.resolve(index, payload)


@functools.cache
def load_topics(model: str) -> TopicTable:
    """The topic table of a model code (``SHSW-1``); empty when the model has none."""
    path = resources.files("profiles").joinpath("mqtt", f"{model}.yaml")
    if not path.is_file():
        return TopicTable(model, {})
    return TopicTable(model, yaml.safe_load(path.read_text()) or {})
