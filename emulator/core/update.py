"""Firmware updates as Gen1 firmware runs them: ``/ota`` and the ``/status`` ``update`` block.

Gen1 API docs "/ota": ``status`` is one of ``idle``, ``pending``, ``updating``, ``unknown``;
``pending`` means a newer firmware is available (the docs' /status example shows
``"status": "pending", "has_update": true``), ``updating`` that one is being installed.
Parameters: ``update`` (install the latest stable), ``beta`` (the latest beta), ``url``
(install the package at that URL; the runtime fetches it and reads its Mongoose OS manifest).

The timeline of one update (``UpdateTiming``): ``updating`` while the image downloads (HTTP
still answers), then the device goes down while it flashes and reboots, then it boots the new
firmware with its settings and the block is ``idle`` again. Faults: ``fail`` (it comes back on
the old firmware), ``hang`` (it never comes back until its power is cycled). Pure: the device's
timers carry the steps; the runtime swaps the firmware when ``FirmwareInstalled`` comes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .clock import Now
from .errors import BadRequest
from .events import Event, FirmwareFetch, FirmwareInstalled, WentDown
from .identity import Identity
from .params import Params
from .timers import Timers

__all__ = ["FAULTS", "UpdateTiming", "Updater", "valid_fw"]

#: Gen1 build strings: ``20230913-112003/v1.14.0-gcb84623`` (date-time/version).
_FW = re.compile(r"^\d{8}-\d{6}/\S{1,64}$")
FAULTS = ("fail", "hang")
_TIMER = "ota"


def valid_fw(fw: str) -> bool:
    return bool(_FW.match(fw))


@dataclass(frozen=True, slots=True)
class UpdateTiming:
    """Seconds per step: the download (``updating``, answering) and flash plus boot (down).

    Defaults are what a Shelly 1 on a good link shows (about half a minute in all)."""

    download: float = 20.0
    reboot: float = 10.0

    def __post_init__(self) -> None:
        for name in ("download", "reboot"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 <= value <= 600:
                raise BadRequest(f"{name} must be 0..600 s")


class Updating(Protocol):
    """The device as its updater sees it (core/device.py's Device is one)."""

    identity: Identity
    timers: Timers
    down: bool
    asleep: bool

    def schedule(self, key: str, at: float, action: Callable[[Now], None]) -> None: ...

    def status_changed(self, reason: str) -> None: ...

    def emit(self, event: Event) -> None: ...


class Updater:
    """What the update server offers this device, and the install in progress if any."""

    def __init__(self, device: Updating) -> None:
        self.device = device
        self.stable: str | None = None
        self.beta: str | None = None
        self.timing = UpdateTiming()
        self.fault: str | None = None
        self.installing: str | None = None
        self.fetching = False
        #: An install asked for while the device slept: it starts at the next wake-up.
        self.queued: str | None = None

    @property
    def fw(self) -> str:
        return self.device.identity.fw

    @property
    def has_update(self) -> bool:
        return self.stable is not None and self.stable != self.fw

    @property
    def status(self) -> str:
        if self.installing is not None or self.fetching:
            return "updating"
        return "pending" if self.has_update else "idle"

    def carry_over(self, previous: Updater) -> None:
        """A device rebuilt on new firmware keeps what the server offers."""
        self.stable, self.beta = previous.stable, previous.beta
        self.timing, self.fault = previous.timing, previous.fault

    # --- the world: what the update server offers ---------------------------------------------

    def offer(
        self,
        stable: str | None,
        beta: str | None,
        timing: UpdateTiming | None = None,
        fault: str | None = None,
    ) -> None:
        for name, fw in (("stable", stable), ("beta", beta)):
            if fw is not None and not valid_fw(fw):
                raise BadRequest(
                    f"{name}: {fw!r} is not a Gen1 build string (20230913-112003/v1.14.0-…)"
                )
        if fault is not None and fault not in FAULTS:
            raise BadRequest(f"fault must be one of {FAULTS}")
        self.stable, self.beta = stable, beta
        self.timing = timing or self.timing
        self.fault = fault
        self.device.status_changed("update offered")

    def push(self, now: Now) -> None:
        """The server tells the device to install the offer (as the Shelly Cloud's "update"
        does). A sleeping device (H&T, Smoke) applies it only while awake: it waits for the
        next wake-up, when the device reconnects and hears of it."""
        target = self.stable if self.has_update else self.beta
        if target is None or target == self.fw or self.status == "updating":
            return
        if self.device.asleep:
            self.queued = target
        else:
            self._install(target, now)

    def woke(self, now: Now) -> None:
        """The device woke up: start an install that waited for it."""
        target, self.queued = self.queued, None
        if target is not None and self.status != "updating":
            self._install(target, now)

    # --- rendering ----------------------------------------------------------------------------

    def overlay(self, status: dict[str, Any]) -> None:
        """Fill the profile's ``update`` block and ``has_update`` of a rendered /status with the
        live state; keys the model does not show stay out (beta_version on older captures)."""
        if "has_update" in status:
            status["has_update"] = self.has_update
        block = status.get("update")
        if not isinstance(block, dict):
            return
        block["status"] = self.status
        block["has_update"] = self.has_update
        block["new_version"] = self.stable if self.has_update else self.fw
        block["old_version"] = self.fw
        if self.beta is not None:
            block["beta_version"] = self.beta

    def view(self) -> dict[str, Any]:
        block: dict[str, Any] = {"update": {}}
        self.overlay(block)
        return block["update"]

    # --- /ota ---------------------------------------------------------------------------------

    def http_ota(self, params: Params, now: Now) -> dict[str, Any]:
        url = params.raw("url")
        update, beta = params.boolean("update"), params.boolean("beta")
        if url is not None and not re.match(r"^https?://[^\s/]+", url):
            raise BadRequest("url must be an http:// or https:// URL")
        if self.status == "updating":
            return self.view()
        if url is not None:
            self.fetching = True
            self.device.emit(FirmwareFetch(url))
            self.device.status_changed("update fetching")
        elif beta and self.beta is not None and self.beta != self.fw:
            self._install(self.beta, now)
        elif update and self.has_update:
            assert self.stable is not None
            self._install(self.stable, now)
        return self.view()

    def fetched(self, version: str | None, now: Now) -> None:
        """The runtime fetched ``/ota?url=``: the package's version, or None when it failed
        (bad URL, another model's package, too big, too slow): nothing installs."""
        self.fetching = False
        if version is None:
            self.device.status_changed("update failed")
            return
        self._install(version, now, downloaded=True)

    def _install(self, target: str, now: Now, *, downloaded: bool = False) -> None:
        self.installing = target
        self.device.status_changed("updating")
        wait = 0.0 if downloaded else self.timing.download
        self.device.schedule(_TIMER, now.mono + wait, self._flash)

    def _flash(self, now: Now) -> None:
        self.device.down = True
        self.device.emit(WentDown("flashing"))
        if self.fault == "hang":
            return  # until world power_cycle
        self.device.schedule(_TIMER, now.mono + self.timing.reboot, self._booted)

    def _booted(self, now: Now) -> None:
        target, self.installing = self.installing, None
        installed = self.fw if self.fault == "fail" or target is None else target
        self.device.down = False
        self.device.emit(FirmwareInstalled(installed))
        self.device.status_changed("update done")

    def power_lost(self) -> None:
        """A power cycle ends whatever was in progress; a hung device boots its old image."""
        self.installing = None
        self.fetching = False
        self.queued = None
