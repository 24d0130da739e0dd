"""The Shelly 1/1PM add-on (temperature add-on): up to three DS18B20 probes or one DHT22 on its
sensor port, and its digital input (``ext_switch``).

Shapes (no add-on: ``{}`` everywhere, captures SHSW-1 fw 1.12-1.14):
* /settings and /status ``ext_sensors``: ``{"temperature_unit": "C"}`` with sensors attached;
  /status ``ext_temperature``: ``{"0": {"hwID": "281863eb2f1901ad", "tC": 22.5, "tF": 72.5}}``;
  /settings ``ext_temperature``: ``{"0": {"overtemp_threshold_tC": 0.0, ...,
  "offset_tF": 0.0}}`` (usnasoft/shellyscanner ``Shelly1.java``, its "example with add-on" of a
  real Shelly 1; a fw 1.9.0 dump in the same project has ``hwID`` ``287169120c0000d7``).
* DHT22: /status ``ext_humidity``: ``{"0": {"hwID": "0505", "hum": 58.7}}`` next to one
  ``ext_temperature`` with the same ``hwID``; /settings ``ext_humidity``: ``{"0":
  {"overhum_threshold": 0.0, "underhum_threshold": 0.0, "overhum_act": "disabled",
  "underhum_act": "disabled", "offset": 0.0}}`` (shellyscanner ``ShellyUNI.java``: a UNI on fw
  1.14.0 with a DHT22; its dump sorts keys, so ``hwID`` first is by analogy with the probes).
* /status ``ext_switch``: ``{"0": {"input": 1}}`` while ``ext_switch_enable`` (official API
  docs' SHSW-1 /status example; the 1.14 captures with it disabled have no such key).
* 999 is an invalid reading, for tC, tF and hum alike (CoIoT ``R: ["-55/125", "999"]``,
  spec/coiot.md; the Gen1 docs' MQTT section).

The add-on is hardware: plugged in through the world API (or a fleet file), it survives a
factory reset; its threshold settings are configuration and do not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import partialmethod
from typing import Any

from .clock import Now
from .component import ABSENT, Component, Provider
from .errors import BadRequest, NotFound
from .params import Params

__all__ = ["INVALID", "SENSOR_KINDS", "Addon"]

#: The reading firmware reports for a probe that does not answer.
INVALID = 999
#: DS18B20 range (datasheet; CoIoT R "-55/125"); humidity 0..100 %RH.
TEMPERATURE_RANGE = (-55.0, 125.0)
#: Sensor kinds the port takes, and how many of each at most.
SENSOR_KINDS = {"ds18b20": 3, "dht22": 1}
#: The ``hwID`` the UNI capture shows for its DHT22 (temperature and humidity alike).
DHT22_HWID = "0505"

_TEMPERATURE_DEFAULTS: dict[str, Any] = {
    "overtemp_threshold_tC": 0.0,
    "overtemp_threshold_tF": 32.0,
    "undertemp_threshold_tC": 0.0,
    "undertemp_threshold_tF": 32.0,
    "overtemp_act": "disabled",
    "undertemp_act": "disabled",
    "offset_tC": 0.0,
    "offset_tF": 0.0,
}
_HUMIDITY_DEFAULTS: dict[str, Any] = {
    "overhum_threshold": 0.0,
    "underhum_threshold": 0.0,
    "overhum_act": "disabled",
    "underhum_act": "disabled",
    "offset": 0.0,
}
#: ``*_act`` values of the add-on's thermostat settings (shellyscanner, HA custom thermostats).
_ACTS = ("disabled", "relay_on", "relay_off")


def _fahrenheit(celsius: float) -> float:
    return round(celsius * 9 / 5 + 32, 2)


class Addon(Component, kind="addon"):
    """The add-on port of a model. Profile option ``sensors``: the sensor kinds it takes
    (default: SENSOR_KINDS); ``ext_switch``: whether the firmware shows the add-on's input."""

    DEFAULTS = {"temperature_unit": "C"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: What is plugged in: ``ds18b20`` (``count`` probes), ``dht22`` or None.
        self.sensors: str | None = None
        self.count = 0
        #: Readings in degC (per probe) and %RH, INVALID when a probe does not answer.
        self.celsius: list[float] = []
        self.humidity: float = 50.0
        self.ext_input = False
        self._pending_unit: str | None = None

    # --- hardware (world API) ------------------------------------------------------------------

    def kinds(self) -> list[str]:
        return list(self.spec.options.get("sensors") or SENSOR_KINDS)

    def plug(self, sensors: str, count: int) -> None:
        """Attach ``count`` sensors of kind ``sensors`` (``none`` unplugs everything)."""
        if sensors == "none":
            self.sensors, self.count, self.celsius = None, 0, []
        else:
            if sensors not in self.kinds():
                raise BadRequest(f"add-on sensors: '{sensors}' is not one of {self.kinds()}")
            most = SENSOR_KINDS[sensors]
            if not 1 <= count <= most:
                raise BadRequest(f"add-on {sensors}: count must be 1..{most}")
            self.sensors, self.count = sensors, count
            self.celsius = [22.0] * count
        self.device.status_changed("add-on plugged")

    def set_temperature(self, index: int, celsius: float) -> None:
        if not 0 <= index < self.count:
            raise NotFound(f"add-on temperature sensor {index} is not plugged in")
        low, high = TEMPERATURE_RANGE
        if celsius != INVALID and not low <= celsius <= high:
            raise BadRequest(f"temperature must be {low:g}..{high:g} degC, or {INVALID} (invalid)")
        self.celsius[index] = float(celsius)
        self.device.status_changed("add-on temperature")

    def set_humidity(self, percent: float) -> None:
        if self.sensors != "dht22":
            raise NotFound("no DHT22 is plugged into the add-on")
        if percent != INVALID and not 0 <= percent <= 100:
            raise BadRequest(f"humidity must be 0..100 %, or {INVALID} (invalid)")
        self.humidity = float(percent)
        self.device.status_changed("add-on humidity")

    def set_input(self, level: bool) -> None:
        if not self.spec.options.get("ext_switch", False):
            raise NotFound(f"{self.device.profile.model} firmware has no add-on input")
        if level != self.ext_input:
            self.ext_input = level
            self.device.status_changed("add-on input")

    # --- rendering -----------------------------------------------------------------------------

    def hwid(self, index: int) -> str:
        """A DS18B20 ROM code: family 0x28, then a serial stable per device and probe."""
        if self.sensors == "dht22":
            return DHT22_HWID
        digest = hashlib.sha1(f"{self.device.identity.mac}:{index}".encode()).hexdigest()
        return f"28{digest[:14]}"

    def _probe_settings(self, index: int) -> dict[str, Any]:
        return {**_TEMPERATURE_DEFAULTS, **(self.config.get(f"temperature:{index}") or {})}

    def _humidity_settings(self) -> dict[str, Any]:
        return {**_HUMIDITY_DEFAULTS, **(self.config.get("humidity:0") or {})}

    def _shown(self, index: int) -> tuple[float, float]:
        """(tC, tF) of a probe with its offsets applied; INVALID stays INVALID."""
        raw = self.celsius[index]
        if raw == INVALID:
            return INVALID, INVALID
        offsets = self._probe_settings(index)
        return round(raw + offsets["offset_tC"], 2), round(
            _fahrenheit(raw) + offsets["offset_tF"], 2
        )

    def ext_temperature(self) -> dict[str, Any]:
        status = {}
        for index in range(self.count):
            celsius, fahrenheit = self._shown(index)
            status[str(index)] = {"hwID": self.hwid(index), "tC": celsius, "tF": fahrenheit}
        return status

    def ext_humidity(self) -> dict[str, Any]:
        if self.sensors != "dht22":
            return {}
        value = self.humidity
        if value != INVALID:
            value = round(min(max(value + self._humidity_settings()["offset"], 0.0), 100.0), 1)
        return {"0": {"hwID": DHT22_HWID, "hum": value}}

    def _ext_switch_status(self) -> Any:
        if not self.spec.options.get("ext_switch") or not self.device.config.get(
            "ext_switch_enable"
        ):
            return ABSENT
        return {"0": {"input": int(self.ext_input)}}

    def live_tokens(self) -> dict[str, Provider]:
        return {
            "ext_sensors": lambda now: (
                {"temperature_unit": self.config["temperature_unit"]} if self.sensors else {}
            ),
            "ext_temperature": lambda now: self.ext_temperature(),
            "ext_humidity": lambda now: self.ext_humidity(),
            "ext_switch_status": lambda now: self._ext_switch_status(),
            "ext_temperature_settings": lambda now: {
                str(i): self._probe_settings(i) for i in range(self.count)
            },
            "ext_humidity_settings": lambda now: (
                {"0": self._humidity_settings()} if self.sensors == "dht22" else {}
            ),
        }

    # --- settings --------------------------------------------------------------------------------

    def parse_device_settings(self, params: Params) -> dict[tuple[str, ...], Any]:
        """``ext_sensors_temperature_unit`` (C or F) on /settings (shellyscanner restores it)."""
        self._pending_unit = params.choice("ext_sensors_temperature_unit", ("C", "F"))
        return {}

    def on_device_settings(self, now: Now) -> None:
        unit, self._pending_unit = self._pending_unit, None
        if unit is not None and unit != self.config["temperature_unit"]:
            self.config["temperature_unit"] = unit
            self.device.config_changed()

    def _set_entry(self, key: str, defaults: Mapping[str, Any], params: Params) -> dict[str, Any]:
        """Validate every parameter of one entry, then store the changed ones."""
        current = {**defaults, **(self.config.get(key) or {})}
        changes: dict[str, Any] = {}
        for name, default in defaults.items():
            if name not in params:
                continue
            if isinstance(default, str):
                changes[name] = params.choice(name, _ACTS)
            else:
                changes[name] = params.number(name, -1000, 1000)
        for celsius_name, value in list(changes.items()):  # firmware keeps both units in step
            if celsius_name.endswith("_tC") and celsius_name[:-1] + "F" not in changes:
                is_offset = celsius_name.startswith("offset")
                changes[celsius_name[:-1] + "F"] = round(value * 1.8 + (0 if is_offset else 32), 2)
        changed = {k: v for k, v in changes.items() if current.get(k) != v}
        if changed:
            self.config[key] = {**(self.config.get(key) or {}), **changed}
            self.device.config_changed()
        return {**current, **changed}

    def _temperature_endpoint(self, index: int, params: Params, now: Now) -> dict[str, Any]:
        """``/settings/ext_temperature/<i>``: one probe's thresholds, actions and offsets."""
        if index >= self.count:
            raise NotFound(f"add-on temperature sensor {index} is not plugged in")
        return self._set_entry(f"temperature:{index}", _TEMPERATURE_DEFAULTS, params)

    def _humidity_endpoint(self, params: Params, now: Now) -> dict[str, Any]:
        """``/settings/ext_humidity/0``: the DHT22's thresholds, actions and offset."""
        if self.sensors != "dht22":
            raise NotFound("no DHT22 is plugged into the add-on")
        return self._set_entry("humidity:0", _HUMIDITY_DEFAULTS, params)

    def _switch_endpoint(self, params: Params, now: Now) -> dict[str, Any]:
        """``/settings/ext_switch/0?relay_num=``: the output the add-on input drives (-1: none);
        the value lives in /settings ``ext_switch`` (captures: ``{"0": {"relay_num": -1}}``)."""
        entry = self.device.config["ext_switch"]["0"]
        outputs = len(self.device.of_kind("relay"))
        relay_num = params.integer("relay_num", -1, outputs - 1)
        if relay_num is not None and relay_num != entry["relay_num"]:
            entry["relay_num"] = relay_num
            self.device.config_changed()
        return dict(entry)

    settings_temperature_0 = partialmethod(_temperature_endpoint, 0)
    settings_temperature_1 = partialmethod(_temperature_endpoint, 1)
    settings_temperature_2 = partialmethod(_temperature_endpoint, 2)
    ROUTES = {
        "settings/ext_temperature/0": "settings_temperature_0",
        "settings/ext_temperature/1": "settings_temperature_1",
        "settings/ext_temperature/2": "settings_temperature_2",
        "settings/ext_humidity/0": "_humidity_endpoint",
        "settings/ext_switch/0": "_switch_endpoint",
    }

    # --- persistence -------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {**super().snapshot(), "plugged": {"sensors": self.sensors, "count": self.count}}

    def restore(self, data: Mapping[str, Any]) -> None:
        super().restore(data)
        plugged = data.get("plugged") or {}
        if plugged.get("sensors"):
            self.sensors, self.count = str(plugged["sensors"]), int(plugged["count"])
            self.celsius = [22.0] * self.count
