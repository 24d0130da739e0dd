"""Physical-world actions by name, for the control API and fleet files.

``world_<action>`` methods of the device core are the actions (``set_load``, ``press``,
``set_input``, ``set_device_temperature``, and whatever sensor models add: ``set_temperature``,
``set_humidity``, ``set_lux``, ``set_motion``, ``set_battery``, ``set_smoke``, ``wake``...).
Their signatures say what parameters they take; values are converted by annotation and ``now``
is passed in. So a new sensor action works here the moment the core has it, and a device
without it answers a clear error instead of a crash.
"""

from __future__ import annotations

import inspect
import math
import typing
from collections.abc import Callable, Mapping
from typing import Any

from .core.clock import Now
from .core.device import Device
from .core.params import parse_bool

__all__ = ["ActionError", "call_world", "value_parameters", "world_actions"]

#: Device-level actions that are not ``world_*`` methods (power and firmware events).
_DEVICE_ACTIONS = ("power_cycle", "reboot")


class ActionError(ValueError):
    """A world action that cannot be run as asked; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def world_actions(device: Device) -> list[str]:
    """Names of the actions this device's core offers."""
    names = [name[len("world_") :] for name in dir(device) if name.startswith("world_")]
    return sorted(name for name in names if callable(getattr(device, f"world_{name}")))


def _method(device: Device, action: str) -> Callable[..., Any]:
    if action in _DEVICE_ACTIONS:
        return typing.cast(Callable[..., Any], getattr(device, action))
    method = getattr(device, f"world_{action}", None) if action.isidentifier() else None
    if method is None or not callable(method):
        known = ", ".join([*world_actions(device), *_DEVICE_ACTIONS])
        raise ActionError(
            f"{device.profile.model} has no world action {action!r}; it has: {known}", 404
        )
    return typing.cast(Callable[..., Any], method)


def value_parameters(device: Device, action: str) -> list[str]:
    """The action's parameter names in order, without ``now`` (e.g. ``["channel", "watts"]``)."""
    signature = inspect.signature(_method(device, action))
    return [name for name in signature.parameters if name != "now"]


def call_world(device: Device, action: str, params: Mapping[str, Any], now: Now) -> None:
    """Run ``world_<action>`` with ``params`` converted to its annotated types.

    Raises ActionError for an unknown action, a missing, unknown or mistyped parameter; the
    core's own DeviceError (e.g. a channel or sensor the model lacks) passes through.
    """
    method = _method(device, action)
    signature = inspect.signature(method)
    hints = typing.get_type_hints(method)
    unknown = sorted(set(params) - set(signature.parameters) - {"now"})
    if unknown:
        accepted = ", ".join(value_parameters(device, action)) or "none"
        raise ActionError(f"{action}: unknown parameter {unknown[0]!r} (accepted: {accepted})")
    args: dict[str, Any] = {}
    for name, parameter in signature.parameters.items():
        if name == "now":
            args[name] = now
        elif name in params:
            args[name] = _convert(action, name, params[name], hints.get(name))
        elif parameter.default is inspect.Parameter.empty:
            raise ActionError(f"{action}: missing parameter {name!r}")
    positional = [
        args.pop(name)
        for name, p in signature.parameters.items()
        if p.kind is not inspect.Parameter.KEYWORD_ONLY and name in args
    ]
    method(*positional, **args)


def _convert(action: str, name: str, value: Any, hint: Any) -> Any:
    """A JSON or query-string value as the annotated type (bool, int, float or str)."""
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
