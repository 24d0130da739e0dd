"""Flash for emulated devices: settings survive restarts and ``kill -9`` (DESIGN.md principle 7).

One JSON file per device, keyed by MAC, written atomically (temp file + rename) whenever the
device's snapshot changed after an event batch.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core.events import Event
    from .runtime import DeviceHost

__all__ = ["StateStore"]


class StateStore:
    """A directory of device snapshots."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._written: dict[str, dict[str, Any]] = {}

    def path(self, mac: str) -> Path:
        return self.directory / f"{mac}.json"

    def load(self, mac: str) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.path(mac).read_text())
        except FileNotFoundError:
            return None
        self._written[mac] = data
        return data

    def save(self, mac: str, snapshot: dict[str, Any]) -> None:
        if self._written.get(mac) == snapshot:
            return
        fd, temp = tempfile.mkstemp(dir=self.directory, prefix=f".{mac}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(snapshot, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path(mac))
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        self._written[mac] = snapshot

    def listener(self, host: DeviceHost, events: list[Event]) -> None:
        """Runtime listener: persist after every event batch that changed the snapshot."""
        self.save(host.device.identity.mac, host.device.snapshot())
