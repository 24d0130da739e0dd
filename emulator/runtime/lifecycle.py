"""A device's life as the runtime carries it out: fetching ``/ota?url=`` packages and booting
the firmware an update installed (core/update.py decides when; this does the I/O).

A Gen1 firmware package is a Mongoose OS zip with a ``manifest.json`` (``mos build`` output):
``name`` (the app: ``switch1`` for a Shelly 1, what mDNS TXT ``app`` says), ``platform``
(``esp8266``), ``version`` and ``build_id`` (the build string /shelly ``fw`` shows). Firmware
refuses a package built for another app or platform; so does this. The fetch is bounded in
size (``MAX_PACKAGE``) and time (``FETCH_TIMEOUT``), like the device's flash and its watchdog.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import urllib.request
import zipfile
from collections.abc import Mapping
from typing import Any, Protocol

from ..core.device import Device
from ..core.events import Event, FirmwareFetch, FirmwareInstalled
from ..core.update import valid_fw
from .host import DeviceHost, Listener
from .profiles import Profile

__all__ = ["FETCH_TIMEOUT", "MAX_PACKAGE", "Lifecycle", "PackageError", "read_package"]

logger = logging.getLogger(__name__)

#: Largest package accepted: a Gen1 ESP8266 image is about 1 MB zipped (flash is 2 MB).
MAX_PACKAGE = 4 * 1024 * 1024
#: Seconds a package fetch may take in all.
FETCH_TIMEOUT = 30.0


class PackageError(ValueError):
    """A package this device's firmware would refuse."""


def read_package(data: bytes, app: str | None, arch: str | None) -> str:
    """The build string of a Mongoose OS package for ``app`` on ``arch``; PackageError else."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == "manifest.json"]
        if not names:
            raise PackageError("no manifest.json in the package")
        manifest = json.loads(archive.read(min(names, key=len)))
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PackageError(f"not a firmware package: {error}") from None
    if not isinstance(manifest, dict):
        raise PackageError("manifest.json is not an object")
    if app is not None and manifest.get("name") != app:
        raise PackageError(f"package is for {manifest.get('name')!r}, this device runs {app!r}")
    if arch is not None and manifest.get("platform") != arch:
        raise PackageError(f"package is for platform {manifest.get('platform')!r}, not {arch!r}")
    build_id = manifest.get("build_id")
    if not isinstance(build_id, str) or not valid_fw(build_id):
        raise PackageError(f"manifest build_id {build_id!r} is not a Gen1 build string")
    return build_id


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:
        data = response.read(MAX_PACKAGE + 1)
    if len(data) > MAX_PACKAGE:
        raise PackageError(f"package larger than {MAX_PACKAGE} bytes")
    return data


class Builder(Protocol):
    """The runtime as the lifecycle sees it (runtime.Runtime is one)."""

    listeners: list[Listener]

    def build_device(
        self,
        profile: Profile,
        mac: str,
        *,
        ip: str,
        fw: str | None = None,
        longid: bool | None = None,
        restore: Mapping[str, Any] | None = None,
        fresh: bool = False,
    ) -> Device: ...


class Lifecycle:
    """Listens to every device's events: fetches packages, swaps in installed firmware."""

    def __init__(self, runtime: Builder) -> None:
        self.runtime = runtime
        self._tasks: set[asyncio.Future[Any]] = set()
        runtime.listeners.append(self.on_events)

    def on_events(self, host: DeviceHost, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, FirmwareFetch):
                task = asyncio.ensure_future(self._fetch(host, event.url))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            elif isinstance(event, FirmwareInstalled):
                self._boot(host, event.fw)

    async def _fetch(self, host: DeviceHost, url: str) -> None:
        mdns = host.device.profile.section("mdns")
        try:
            data = await asyncio.wait_for(asyncio.to_thread(_download, url), timeout=FETCH_TIMEOUT)
            version: str | None = read_package(data, mdns.get("app"), mdns.get("arch"))
        except (OSError, ValueError, TimeoutError) as error:
            logger.info("%s: update from %s refused: %s", host.device.identity.hostname, url, error)
            version = None
        host.act(lambda now: host.device.updater.fetched(version, now))

    def _boot(self, host: DeviceHost, fw: str) -> None:
        """Boot ``fw``: a new core on the same socket when the firmware changed (profiles and
        routes follow the build string), with settings and the server's offer kept."""
        old = host.device
        if fw != old.identity.fw:
            new = self.runtime.build_device(
                old.profile,
                old.identity.mac,
                ip=host.ip,
                fw=fw,
                longid=old.identity.device_id == old.identity.mac,
                restore=old.snapshot(),
                fresh=True,
            )
            new.refresh_build_info()
            new.updater.carry_over(old.updater)
            new.cloud_connected = old.cloud_connected
            new.mdns = old.mdns
            host.device = new
        host.act(host.device.reboot)
