"""Per-model CoIoT descriptions (``/cit/d``) and the bindings rendering ``/cit/s`` from live state.

The data lives in ``profiles/coiot/<MODEL>.yaml``, one file per model, apart from the model
profiles. Under a version key (``v2``, or ``v1`` for the 4Pro) it holds ``blk`` and ``sen`` exactly
as firmware describes them, either directly or per device mode (``modes: {relay: ..., roller:
...}``). Each ``sen`` entry carries, next to its description keys (``I T D U R L``), a ``value``
binding::

    {I: 1101, T: S, D: output, R: 0/1, L: 1, value: status.relays.0.ison|bit}

A binding is ``<root>.<path>[|converter[:arg]]...``. Roots: ``status`` and ``settings`` (the
rendered HTTP bodies) and ``component`` (``component.input.0.input``: a field of a channel that
the model's /status does not show). Path parts index mappings by key and lists by position.
``optional: true`` leaves the tuple out when the path is absent (add-on sensors, spec/coiot.md
§3.4); a missing non-optional path is an error. Every ``sen`` entry yields one ``[0, id, value]``
tuple, in description order, on every render (aioshelly replaces its whole status each time).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from ...core.profile import Profile, ProfileError

__all__ = [
    "Binding",
    "Description",
    "MissingValue",
    "ModelDescription",
    "load_model",
    "model_of",
    "parse_model",
    "payload",
]

_DESCRIPTION_KEYS = ("I", "T", "D", "U", "R", "L")
_BINDING_KEYS = ("value", "optional")
_ROOTS = ("status", "settings", "component")


class MissingValue(LookupError):
    """A binding's path does not exist in the state it was evaluated against."""


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MissingValue(f"{value!r} is not a number")
    return float(value)


def _round(value: Any, digits: str | None) -> float | int:
    places = int(digits or 0)
    return round(_number(value), places) if places else round(_number(value))


#: Named converters; the argument after ``:`` arrives as a string (or None).
CONVERTERS: dict[str, Callable[[Any, str | None], Any]] = {
    # Booleans are reported as 0/1 (spec/clients.md §4.2 value conventions).
    "bit": lambda value, _: int(bool(value)),
    "not": lambda value, _: int(not value),
    "round": _round,
    "fahrenheit": lambda value, _: round(_number(value) * 9 / 5 + 32, 2),
    # The status value ``arg`` means "unknown", which CoIoT reports as -1 (its R "-1" entry).
    "invalid": lambda value, arg: -1 if str(value) == arg else value,
}


@dataclass(frozen=True, slots=True)
class Binding:
    """Where one sensor's value comes from and how it is converted."""

    root: str
    path: tuple[str, ...]
    converters: tuple[tuple[Callable[[Any, str | None], Any], str | None], ...]
    optional: bool

    @classmethod
    def parse(cls, text: str, optional: bool, source: str) -> Binding:
        location, *steps = (part.strip() for part in str(text).split("|"))
        root, _, path = location.partition(".")
        if root not in _ROOTS or not path:
            raise ProfileError(f"{source}: binding {text!r} must start with one of {_ROOTS}")
        converters = []
        for step in steps:
            name, _, arg = step.partition(":")
            if name not in CONVERTERS:
                raise ProfileError(f"{source}: unknown converter {name!r} in {text!r}")
            converters.append((CONVERTERS[name], arg or None))
        return cls(root, tuple(path.split(".")), tuple(converters), optional)

    def value(self, state: Mapping[str, Any]) -> Any:
        """The converted value in ``state`` (``{"status": {...}, ...}``); MissingValue if absent."""
        try:
            node = state[self.root]
        except KeyError:
            raise MissingValue(f"no {self.root!r} in this state") from None
        for part in self.path:
            try:
                node = node[int(part)] if isinstance(node, list) else node[part]
            except (KeyError, IndexError, ValueError, TypeError):
                raise MissingValue(f"{self.root}.{'.'.join(self.path)}: no {part!r}") from None
        for convert, arg in self.converters:
            node = convert(node, arg)
        return node


@dataclass(frozen=True, slots=True)
class Sensor:
    """One ``sen`` entry: its description as firmware sends it, and its binding."""

    id: int
    description: Mapping[str, Any]
    binding: Binding


def _wire_value(value: Any) -> Any:
    """Firmware prints whole numbers without a fraction (capture SHPLG-S cits: ``[0,4101,0]``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass(frozen=True, slots=True)
class Description:
    """The blocks and sensors of one model in one device mode."""

    blocks: tuple[Mapping[str, Any], ...]
    sensors: tuple[Sensor, ...]

    def cit_d(self) -> dict[str, Any]:
        """The ``/cit/d`` body."""
        return {
            "blk": [dict(block) for block in self.blocks],
            "sen": [dict(sensor.description) for sensor in self.sensors],
        }

    def cit_s(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The ``/cit/s`` body: ``{"G": [[0, id, value], ...]}``, channel always 0 [DOC]."""
        tuples = []
        for sensor in self.sensors:
            try:
                value = sensor.binding.value(state)
            except MissingValue:
                if sensor.binding.optional:
                    continue
                raise
            tuples.append([0, sensor.id, _wire_value(value)])
        return {"G": tuples}


@dataclass(frozen=True, slots=True)
class ModelDescription:
    """A model's CoIoT data for one protocol version."""

    model: str
    version: int
    #: A fixed 3412 value (sleeping devices), else None: derived from coiot.update_period.
    validity: int | None
    by_mode: Mapping[str | None, Description]

    def description(self, mode: str | None) -> Description:
        """The description for a device mode (Shelly2 relay/roller); one for all if not split."""
        if None in self.by_mode:
            return self.by_mode[None]
        try:
            return self.by_mode[mode]
        except KeyError:
            raise ProfileError(f"{self.model}: no CoIoT description for mode {mode!r}") from None


def _description(data: Mapping[str, Any], source: str) -> Description:
    blocks = tuple(dict(block) for block in data.get("blk") or ())
    if not blocks:
        raise ProfileError(f"{source}: no blk")
    sensors = []
    for entry in data.get("sen") or ():
        unknown = set(entry) - set(_DESCRIPTION_KEYS) - set(_BINDING_KEYS)
        if unknown or "value" not in entry or "I" not in entry:
            raise ProfileError(f"{source}: sen entry {entry!r} needs I and value ({unknown=})")
        where = f"{source} sen {entry['I']}"
        binding = Binding.parse(entry["value"], bool(entry.get("optional", False)), where)
        description = {key: entry[key] for key in entry if key in _DESCRIPTION_KEYS}
        sensors.append(Sensor(int(entry["I"]), description, binding))
    ids = [sensor.id for sensor in sensors]
    if len(set(ids)) != len(ids):
        raise ProfileError(f"{source}: duplicate sensor ids")
    return Description(blocks, tuple(sensors))


def parse_model(data: Mapping[str, Any], version: int, source: str) -> ModelDescription:
    """Build a model's description for CoIoT ``version`` from its YAML mapping."""
    section = data.get(f"v{version}")
    if not isinstance(section, Mapping):
        raise ProfileError(f"{source}: no CoIoT v{version} description")
    modes = section.get("modes")
    if modes:
        by_mode: dict[str | None, Description] = {
            mode: _description(body, f"{source} v{version} {mode}") for mode, body in modes.items()
        }
    else:
        by_mode = {None: _description(section, f"{source} v{version}")}
    validity = data.get("validity")
    return ModelDescription(
        model=str(data["model"]),
        version=version,
        validity=None if validity is None else int(validity),
        by_mode=by_mode,
    )


@functools.cache
def load_model(model: str, version: int) -> ModelDescription:
    """The bundled description of ``model`` (``profiles/coiot/<model>.yaml``) for ``version``."""
    path = resources.files("profiles").joinpath("coiot", f"{model}.yaml")
    if not path.is_file():
        raise ProfileError(f"{model}: no CoIoT description (profiles/coiot/{model}.yaml)")
    return parse_model(yaml.safe_load(path.read_text()), version, f"coiot/{model}.yaml")


def model_of(profile: Profile) -> ModelDescription:
    """The description a profile's firmware speaks: its ``coiot.version``, 2 unless it says 1
    (fw 1.8.0 introduced v2; the 4Pro never got it, spec/coiot.md §8). A profile made from a
    capture (``coiot.captured``, a /cit/d body) speaks exactly the captured description."""
    model = load_model(profile.model, int(profile.section("coiot").get("version", 2)))
    captured = profile.section("coiot").get("captured")
    return model if captured is None else _as_captured(model, captured)


def _as_captured(model: ModelDescription, captured: Mapping[str, Any]) -> ModelDescription:
    """The captured blocks and sensor texts, each sensor bound as the bundled one with its id.

    A sensor the bundled description does not know cannot be given a live value: it is left
    out. For a model with one description per mode, the captured one replaces the mode whose
    sensors it names.
    """
    entries = {int(entry["I"]): entry for entry in captured.get("sen") or ()}
    by_mode = dict(model.by_mode)
    for mode, description in model.by_mode.items():
        known = {sensor.id for sensor in description.sensors}
        if len(model.by_mode) > 1 and not set(entries) <= known:
            continue
        sensors = tuple(
            Sensor(sensor.id, dict(entries[sensor.id]), sensor.binding)
            for sensor in description.sensors
            if sensor.id in entries
        )
        blocks = tuple(dict(block) for block in captured.get("blk") or description.blocks)
        by_mode[mode] = Description(blocks, sensors)
    return ModelDescription(model.model, model.version, model.validity, by_mode)


def payload(body: Mapping[str, Any]) -> bytes:
    """Compact JSON, as firmware sends it (spec/coiot.md §3.4)."""
    return json.dumps(body, separators=(",", ":")).encode()
