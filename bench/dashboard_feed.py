"""Dashboard feed: how long a change made over HTTP takes to reach ``/_emu/events``, and what
one batch costs the loop (a full scan of the fleet plus the changed rows) at N devices."""

from __future__ import annotations

import argparse
import json
import statistics
import time

import requests

from bench._common import emit, random_block
from emulator.clock import ManualClock
from emulator.fleet import Fleet
from emulator.fleet.control import serve
from emulator.fleet.dashboard import row
from emulator.fleet.spec import parse_fleet

_SAMPLES = 20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=1000)
    args = parser.parse_args()
    spec = parse_fleet(
        {"devices": [{"model": "SHPLG-S", "count": args.devices, "address": random_block()}]}
    )
    with Fleet(spec, clock=ManualClock()) as fleet:
        base = serve(fleet.control)
        members = list(fleet)
        started = time.perf_counter()
        fleet.runtime.call(lambda: [row(m) for m in members])
        emit(
            "dashboard_feed",
            f"all rows ({args.devices} devices)",
            (time.perf_counter() - started) * 1e3,
            "ms",
        )
        started = time.perf_counter()
        fleet.runtime.call(lambda: [(m.host.faults, m.host.device.asleep) for m in members])
        emit(
            "dashboard_feed",
            f"scan per batch ({args.devices} devices)",
            (time.perf_counter() - started) * 1e3,
            "ms",
        )
        latencies = []
        with requests.get(f"{base}/_emu/events", stream=True, timeout=10) as stream:
            lines = stream.iter_lines(chunk_size=1)  # lines as they come
            deadline = time.monotonic() + 60
            for sample in range(_SAMPLES):
                target = members[sample % len(members)]
                sent = time.perf_counter()
                answer = requests.get(f"{target.host.url}/relay/0?turn=toggle", timeout=5)
                turn = "on" if answer.json()["ison"] else "off"
                while time.monotonic() < deadline:
                    line = next(lines)
                    if line.startswith(b"data:") and any(
                        r["id"] == target.id and f"relay 0 {turn}" in r["state"]
                        for r in json.loads(line[5:])
                    ):
                        latencies.append(time.perf_counter() - sent)
                        break
        fleet.control.close()
    emit(
        "dashboard_feed",
        "HTTP change to event, median",
        statistics.median(latencies) * 1e3,
        "ms",
        "< 1000",
    )
    emit("dashboard_feed", "HTTP change to event, max", max(latencies) * 1e3, "ms", "< 1000")


if __name__ == "__main__":
    main()
