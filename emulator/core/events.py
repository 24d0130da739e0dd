"""Events the core emits; transports (CoIoT, cloud link, persistence) render them."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CoiotDue",
    "Event",
    "FirmwareFetch",
    "FirmwareInstalled",
    "InputEvent",
    "MqttDue",
    "Rebooted",
    "SettingsChanged",
    "StatusChanged",
    "WentDown",
]


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """Something reported in /status (and CoIoT /cit/s) changed."""

    reason: str


@dataclass(frozen=True, slots=True)
class SettingsChanged:
    """Persistent configuration changed (cfg_changed_cnt was bumped)."""


@dataclass(frozen=True, slots=True)
class Rebooted:
    """The device restarted; ``power_on`` tells a power cycle from a software reboot."""

    power_on: bool


@dataclass(frozen=True, slots=True)
class InputEvent:
    """A button event (S short, L long) on an input channel."""

    channel: int
    event: str


@dataclass(frozen=True, slots=True)
class CoiotDue:
    """``coiot.update_period`` elapsed: CoIoT republishes the status (spec/coiot.md §4.1)."""


@dataclass(frozen=True, slots=True)
class MqttDue:
    """``mqtt.update_period`` elapsed: MQTT republishes the full state (spec/mqtt.md §3)."""


@dataclass(frozen=True, slots=True)
class WentDown:
    """The device stopped answering on every channel (flashing, booting, hung)."""

    reason: str


@dataclass(frozen=True, slots=True)
class FirmwareFetch:
    """``/ota?url=``: the runtime fetches the package and reports back (core/update.py)."""

    url: str


@dataclass(frozen=True, slots=True)
class FirmwareInstalled:
    """An update finished: the device boots ``fw`` (the old one when the update failed)."""

    fw: str


type Event = (
    StatusChanged
    | SettingsChanged
    | Rebooted
    | InputEvent
    | CoiotDue
    | MqttDue
    | WentDown
    | FirmwareFetch
    | FirmwareInstalled
)
