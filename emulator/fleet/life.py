"""Fleet-file keys for a device's hardware and life: ``addon`` (the Shelly 1's add-on sensors)
and ``firmware_offer`` (what the update server offers the group). Each wrong value is a one-line
error naming the file, the key and what is allowed, as everywhere in fleet files (spec.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.addon import SENSOR_KINDS
from ..core.profile import Profile
from ..core.update import valid_fw

__all__ = ["AddonSpec", "LifeError", "addon_spec", "firmware_offer", "parse_addon_option"]

#: (sensor kind, count): ("ds18b20", 3) or ("dht22", 1).
type AddonSpec = tuple[str, int]
_OFFER_KEYS = ("stable", "beta", "download", "reboot", "install")


class LifeError(ValueError):
    """A bad ``addon`` or ``firmware_offer`` value; spec.py re-raises it as a FleetError."""


def addon_spec(value: Any, where: str, profile: Profile) -> AddonSpec | None:
    """``{sensors: dht22}`` or ``{sensors: ds18b20, count: 3}``; refused on models without
    an add-on port (the profile has no ``addon`` component)."""
    if value is None:
        return None
    port = profile.component("addon")
    if port is None:
        raise LifeError(f"{where}: {profile.model} has no add-on port (SHSW-1 has one)")
    kinds = list(port.options.get("sensors") or SENSOR_KINDS)
    if not isinstance(value, Mapping) or "sensors" not in value:
        raise LifeError(f"{where}: want {{sensors: {' or '.join(kinds)}, count: N}}")
    unknown = sorted(str(k) for k in set(value) - {"sensors", "count"})
    if unknown:
        raise LifeError(f"{where}: unknown key {unknown[0]!r}; known: count, sensors")
    sensors = value["sensors"]
    if sensors not in kinds:
        raise LifeError(f"{where}.sensors: {sensors!r}; want one of {', '.join(kinds)}")
    most = SENSOR_KINDS[sensors]
    count = value.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= most:
        raise LifeError(f"{where}.count: {count!r}; {sensors} takes 1..{most}")
    return str(sensors), count


def parse_addon_option(text: str, profile: Profile) -> AddonSpec:
    """``--addon ds18b20:3`` or ``--addon dht22`` of ``shelly-emu run``."""
    sensors, _, count = text.partition(":")
    if count and not count.isdigit():
        raise LifeError(f"--addon: {text!r}; want ds18b20[:1..3] or dht22")
    spec = addon_spec({"sensors": sensors, "count": int(count or 1)}, "--addon", profile)
    assert spec is not None
    return spec


def firmware_offer(value: Any, where: str) -> dict[str, Any]:
    """``{stable: FW, beta: FW}`` (either optional), plus ``download``/``reboot`` seconds and
    ``install: true`` (the server pushes the install; sleepers apply it when they wake)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not value:
        raise LifeError(f"{where}: want {{stable: FW, beta: FW}} (either optional)")
    unknown = sorted(str(k) for k in set(value) - set(_OFFER_KEYS))
    if unknown:
        raise LifeError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(_OFFER_KEYS)}")
    if not {"stable", "beta"} & set(value):
        raise LifeError(f"{where}: give stable or beta (a firmware build string)")
    for key in ("stable", "beta"):
        fw = value.get(key)
        if fw is not None and not (isinstance(fw, str) and valid_fw(fw)):
            raise LifeError(
                f"{where}.{key}: {fw!r}; want a build string (20230913-112003/v1.14.0-gcb84623)"
            )
    for key in ("download", "reboot"):
        seconds = value.get(key)
        if seconds is not None and (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not 0 <= seconds <= 600
        ):
            raise LifeError(f"{where}.{key}: {seconds!r}; want seconds 0..600")
    if not isinstance(value.get("install", False), bool):
        raise LifeError(f"{where}.install: {value['install']!r}; want true or false")
    return dict(value)
