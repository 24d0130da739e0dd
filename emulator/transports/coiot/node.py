"""One device's CoIoT endpoint without I/O: the datagrams it publishes and its answers to requests.

The transport hands in bytes and the time and sends back whatever comes out; everything a client
can observe (device id option, validity, serial, message ids, payloads) is decided here.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .codec import COAP_PORT, CoapCode, encode_publish, encode_response, parse_request, validity_for
from .description import Description, model_of, payload

if TYPE_CHECKING:
    from ...core.clock import Now
    from ...core.component import Component
    from ...core.device import Device

__all__ = ["CoiotNode", "DeviceState"]

#: coiot.update_period firmware uses when the setting is absent [DOC: default 15 s].
_DEFAULT_PERIOD = 15


class _Fields(Mapping[str, Any]):
    """A channel's fields by name (``component.input.0.input``), read at one instant."""

    def __init__(self, component: Component, now: Now) -> None:
        self._component = component
        self._now = now

    def __getitem__(self, name: str) -> Any:
        return self._component.field(name, self._now)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


class DeviceState(Mapping[str, Any]):
    """The binding roots of one device at one instant, each rendered only when first asked."""

    _ROOTS = ("status", "settings", "component")

    def __init__(self, device: Device, now: Now) -> None:
        self._device = device
        self._now = now
        self._cache: dict[str, Any] = {}

    def __getitem__(self, root: str) -> Any:
        if root not in self._cache:
            self._cache[root] = self._render(root)
        return self._cache[root]

    def _render(self, root: str) -> Any:
        device, now = self._device, self._now
        if root == "status":
            return device.renderer.status(now)
        if root == "settings":
            return device.renderer.settings(now)
        if root == "component":
            kinds: dict[str, list[_Fields]] = {}
            for component in device.components:
                kinds.setdefault(component.kind, []).append(_Fields(component, now))
            return kinds
        raise KeyError(root)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ROOTS)

    def __len__(self) -> int:
        return len(self._ROOTS)


class CoiotNode:
    """CoIoT for one device: publishes, answers to GET /cit/d and /cit/s, message ids, serial."""

    def __init__(self, device: Device, *, first_mid: int | None = None) -> None:
        self.device = device
        self.model = model_of(device.profile)
        identity = device.identity
        #: Option 3332: TYPE#ID#VERSION, ID = hostname suffix in upper case (spec/coiot.md §3.2).
        self.devid = f"{identity.model}#{identity.device_id.upper()}#{self.model.version}"
        # A random start keeps a restarted device clear of node-coap's 247 s MID cache.
        self._mid = random.randrange(0x10000) if first_mid is None else first_mid & 0xFFFF
        self._published: tuple[int, bytes] | None = None

    # --- configuration as captured at boot (CoIoT settings need a reboot, spec/coiot.md §10) ---

    @property
    def active(self) -> bool:
        """CoIoT runs while enabled and the radio is up (a sleeping device is silent)."""
        return bool(self.device.active_coiot.get("enabled", True)) and not self.device.asleep

    @property
    def peer(self) -> tuple[str, int] | None:
        """The unicast peer ``(ip, port)``, or None for multicast (``coiot.peer`` empty)."""
        value = str(self.device.active_coiot.get("peer") or "")
        if not value:
            return None
        host, _, port = value.partition(":")
        return host, int(port or COAP_PORT)

    def validity(self) -> int:
        if self.model.validity is not None:
            return self.model.validity
        return validity_for(int(self.device.active_coiot.get("update_period") or _DEFAULT_PERIOD))

    # --- rendering ---------------------------------------------------------------------------

    def description(self) -> Description:
        return self.model.description(self.device.mode)

    def status(self, now: Now) -> tuple[int, bytes]:
        """The status payload and its serial. The serial is the device's status serial; if the
        payload moved without a status change (energy, roller travel), a new serial is started,
        since clients de-duplicate on it (matterbridge: serial alone, spec/coiot.md §4.1)."""
        body = payload(self.description().cit_s(DeviceState(self.device, now)))
        serial = self.device.status_serial
        if self._published is not None:
            last_serial, last_body = self._published
            if last_serial == serial and last_body != body:
                serial = self.device.bump_status_serial()
        self._published = (serial, body)
        return serial, body

    def publish(self, now: Now) -> bytes | None:
        """A NON 0.30 /cit/s datagram with a new message id, or None while CoIoT is off."""
        if not self.active:
            return None
        serial, body = self.status(now)
        self._mid = (self._mid + 1) & 0xFFFF
        return encode_publish(self.devid, self.validity(), serial, self._mid, body)

    def answer(self, data: bytes, now: Now) -> bytes | None:
        """The answer to a request datagram, or None when nothing must be sent back."""
        if not self.active:
            return None
        request = parse_request(data)
        if request is None or request.code != CoapCode.GET:
            return None
        if request.path == ("cit", "d"):
            body = payload(self.description().cit_d())
            return encode_response(request, CoapCode.CONTENT, self.devid, body)
        if request.path == ("cit", "s"):
            serial, body = self.status(now)
            status = (self.validity(), serial)
            return encode_response(request, CoapCode.CONTENT, self.devid, body, status=status)
        return encode_response(request, CoapCode.NOT_FOUND, self.devid, b"")
