"""Flash for emulated devices: settings survive restarts and ``kill -9`` (DESIGN.md principle 7).

One JSON file per device, keyed by MAC, written atomically (temp file + rename). A settings
change (``SettingsChanged``) is written before the listener returns, that is before the HTTP
answer that acknowledges it leaves: a ``kill -9`` after the answer never loses it. The rename
is what that guarantee needs (the page cache outlives the process); an fsync per write would
only add power-loss durability, which an emulator does not need (``make bench`` prints what
an fsync costs on the machine at hand).

Status-only changes that flash also keeps (the relay's last state for ``default_state=last``)
are debounced: flushed ``debounce`` seconds after the first one, and at ``flush()`` (the
runtime's stop), as real firmware writes them lazily. Only a digest of each written snapshot
is kept in memory, so a 10,000-device fleet does not hold a second copy of its config.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.events import SettingsChanged, StatusChanged

if TYPE_CHECKING:
    from ..core.events import Event
    from .host import DeviceHost

__all__ = ["StateStore"]

#: Schedules a callback after a delay (the runtime gives ``loop.call_later``).
type Scheduler = Callable[[float, Callable[[], None]], object]


class StateStore:
    """A directory of device snapshots."""

    def __init__(
        self, directory: Path, *, debounce: float = 1.0, schedule: Scheduler | None = None
    ) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.debounce = debounce
        self.schedule = schedule
        self._digests: dict[str, bytes] = {}
        self._dirty: dict[str, DeviceHost] = {}
        self.writes = 0

    def path(self, mac: str) -> Path:
        return self.directory / f"{mac}.json"

    def load(self, mac: str) -> dict[str, Any] | None:
        try:
            text = self.path(mac).read_text()
        except FileNotFoundError:
            return None
        data: dict[str, Any] = json.loads(text)
        self._digests[mac] = _digest(text)  # what save() wrote: no need to encode again
        return data

    def baseline(self, mac: str, snapshot: dict[str, Any]) -> None:
        """A new device's creation state, which its creator can reproduce (factory plus the
        fleet file's or caller's settings): remembered, not written. A 10,000-device fleet
        then starts without 10,000 file creations; the first real change writes the file."""
        self._digests[mac] = _digest(_encode(snapshot))

    def save(self, mac: str, snapshot: dict[str, Any]) -> None:
        """Write ``snapshot`` now unless the file already holds exactly it."""
        text = _encode(snapshot)
        digest = _digest(text)
        if self._digests.get(mac) == digest:
            return
        fd, temp = tempfile.mkstemp(dir=self.directory, prefix=f".{mac}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
            os.replace(temp, self.path(mac))
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        self._digests[mac] = digest
        self.writes += 1

    def listener(self, host: DeviceHost, events: list[Event]) -> None:
        """Runtime listener: settings now, status-only changes debounced."""
        if not any(isinstance(e, SettingsChanged | StatusChanged) for e in events):
            return  # e.g. only a CoIoT period came round: nothing flash keeps changed
        mac = host.device.identity.mac
        if self.schedule is None or any(isinstance(e, SettingsChanged) for e in events):
            self._dirty.pop(mac, None)
            self.save(mac, host.device.snapshot())
            return
        if mac not in self._dirty:
            if not self._dirty:
                self.schedule(self.debounce, self.flush)
            self._dirty[mac] = host

    def flush(self) -> None:
        """Write every device whose snapshot may have changed since its last write."""
        dirty, self._dirty = self._dirty, {}
        for mac, host in dirty.items():
            self.save(mac, host.device.snapshot())

    def forget(self, mac: str) -> None:
        """Drop a device's file (a fleet reset to its file starts from factory state)."""
        self._dirty.pop(mac, None)
        self._digests.pop(mac, None)
        self.path(mac).unlink(missing_ok=True)


def _encode(snapshot: dict[str, Any]) -> str:
    """Compact and sorted: ``indent`` would switch json to its pure-Python encoder (5x slower)."""
    return json.dumps(snapshot, sort_keys=True, separators=(",", ":"))


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()
