"""Persistence at scale: a 10,000-device fleet with a state directory. Start (every device
writes its named settings once), an acknowledged settings change (written before the answer),
a burst of status-only changes (debounced), and a restart that loads every file."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from bench._common import emit, random_block
from emulator.fleet import Fleet
from emulator.fleet.spec import parse_fleet
from emulator.runtime.persistence import StateStore

COUNT = 10_000
CHANGES = 2_000


def _fsync_write_ms(directory: Path, snapshot: dict[str, object]) -> float:
    """What one write cost with the earlier fsync per write, for comparison."""
    path = directory / "fsync-probe.json"
    started = time.perf_counter()
    for _ in range(20):
        with open(path, "w") as handle:
            handle.write(str(snapshot))
            handle.flush()
            os.fsync(handle.fileno())
    return (time.perf_counter() - started) / 20 * 1000


def main() -> None:
    first = random_block()
    spec = parse_fleet(
        {"devices": [{"model": "SHSW-1", "count": COUNT, "address": first, "name": "S{n}"}]}
    )
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        fleet = Fleet(spec, state_dir=tmp).start()
        start = time.perf_counter() - started
        store = fleet.runtime.store
        assert isinstance(store, StateStore)
        emit("persistence 10,000", "start with an empty state dir", round(start, 2), "s")
        hosts = [fleet[i] for i in range(CHANGES)]
        started = time.perf_counter()
        for host in hosts:
            host.get("settings", name="renamed")
        per_change = (time.perf_counter() - started) / CHANGES * 1000
        emit("persistence 10,000", "settings change incl. atomic write", round(per_change, 3), "ms")
        writes = store.writes
        started = time.perf_counter()
        for host in hosts:
            host.get("relay/0", turn="toggle")
        per_toggle = (time.perf_counter() - started) / CHANGES * 1000
        emit("persistence 10,000", "status change (debounced)", round(per_toggle, 3), "ms")
        emit("persistence 10,000", "writes during the status burst", store.writes - writes, "")
        snapshot = hosts[0].device.snapshot()
        fleet.stop()
        emit(
            "persistence 10,000",
            "fsync per write (the old way)",
            round(_fsync_write_ms(Path(tmp), snapshot), 3),
            "ms",
        )
        started = time.perf_counter()
        fleet = Fleet(spec, state_dir=tmp).start()
        emit(
            "persistence 10,000",
            "restart (2,000 saved files)",
            round(time.perf_counter() - started, 2),
            "s",
        )
        assert fleet[0].settings()["name"] == "renamed"
        fleet.stop()


if __name__ == "__main__":
    main()
