"""Physical-world actions by name, for the control API and fleet files.

``world_<action>`` methods of the device core are the actions (``set_load``, ``press``,
``set_input``, ``set_device_temperature``...), and ``set_<quantity>`` reaches the core's
``world_sense(quantity, value)`` for what sensors measure (``set_temperature``, ``set_humidity``,
``set_lux``, ``set_motion``, ``set_battery``, ``set_smoke``...). Signatures say what parameters
an action takes; values are converted by annotation and ``now`` is passed in. So a new core
action works here the moment it exists, and a device without it gets a clear error.
"""

from __future__ import annotations

import inspect
import math
import typing
from collections.abc import Callable, Mapping
from typing import Any

from ..core.clock import Now
from ..core.device import Device
from ..core.params import parse_bool

__all__ = ["ActionError", "call_world", "value_parameters", "world_actions"]

#: Device-level actions that are not ``world_*`` methods (power and firmware events).
_DEVICE_ACTIONS = ("power_cycle", "reboot")


class ActionError(ValueError):
    """A world action that cannot be run as asked; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _sensed(device: Device) -> list[str]:
    """Quantities the device's sensors measure (the profile's ``senses`` lists)."""
    return sorted({q for c in device.of_kind("sensors") for q in c.spec.options.get("senses", ())})


def world_actions(device: Device) -> list[str]:
    """Names of the actions this device offers."""
    names = [name[len("world_") :] for name in dir(device) if name.startswith("world_")]
    names = [
        name for name in names if callable(getattr(device, f"world_{name}")) and name != "sense"
    ]
    return sorted({*names, *(f"set_{quantity}" for quantity in _sensed(device))})


def _method(device: Device, action: str) -> tuple[Callable[..., Any], dict[str, Any]]:
    """The core method of an action and the arguments the action name itself fixes."""
    if action in _DEVICE_ACTIONS:
        return typing.cast(Callable[..., Any], getattr(device, action)), {}
    method = getattr(device, f"world_{action}", None) if action.isidentifier() else None
    if callable(method) and action != "sense":
        return typing.cast(Callable[..., Any], method), {}
    sense = getattr(device, "world_sense", None)
    if action.startswith("set_") and callable(sense) and action[4:] in _sensed(device):
        return typing.cast(Callable[..., Any], sense), {"quantity": action[4:]}
    known = ", ".join([*world_actions(device), *_DEVICE_ACTIONS])
    raise ActionError(
        f"{device.profile.model} has no world action {action!r}; it has: {known}", 404
    )


def value_parameters(device: Device, action: str) -> list[str]:
    """The action's parameter names in order, without ``now`` (e.g. ``["channel", "watts"]``)."""
    method, fixed = _method(device, action)
    return [name for name in inspect.signature(method).parameters if name not in {"now", *fixed}]


def call_world(device: Device, action: str, params: Mapping[str, Any], now: Now) -> None:
    """Run ``world_<action>`` with ``params`` converted to its annotated types.

    Raises ActionError for an unknown action, a missing, unknown or mistyped parameter; the
    core's own DeviceError (e.g. a channel or sensor the model lacks) passes through.
    """
    method, fixed = _method(device, action)
    signature = inspect.signature(method)
    hints = typing.get_type_hints(method)
    unknown = sorted(set(params) - set(signature.parameters) - {"now", *fixed})
    if unknown:
        accepted = ", ".join(value_parameters(device, action)) or "none"
        raise ActionError(f"{action}: unknown parameter {unknown[0]!r} (accepted: {accepted})")
    args: dict[str, Any] = {}
    for name, parameter in signature.parameters.items():
        if name == "now":
            args[name] = now
        elif name in fixed:
            args[name] = fixed[name]
        elif name in params:
            args[name] = _convert(action, name, params[name], hints.get(name))
        elif parameter.default is inspect.Parameter.empty:
            raise ActionError(f"{action}: missing parameter {name!r}")
    # By keyword: an optional parameter left out must not shift the ones after it.
    method(**args)


def _convert(action: str, name: str, value: Any, hint: Any) -> Any:
    """A JSON or query-string value as the annotated type (bool, int, float or str; for
    ``float | bool``, a boolean word is a bool and anything else a number)."""
    if hint == float | bool:
        if isinstance(value, bool | int | float):
            return value
        text = str(value).strip().lower()
        if text in ("true", "false", "on", "off", "yes", "no"):
            return text in ("true", "on", "yes")
        hint = float
    try:
        if hint is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, int | float):
                return bool(value)
            return parse_bool(str(value))
        if hint is int:
            number = float(value)
            if number != int(number):
                raise ValueError
            return int(number)
        if hint is float:
            number = float(value)
            if not math.isfinite(number):
                raise ValueError
            return number
    except (TypeError, ValueError):
        raise ActionError(f"{action}: {name} must be {hint.__name__}, got {value!r}") from None
    return value
