"""Fleet scale: start time, ready time and RSS at 100 / 1,000 / 10,000 devices, then GET
/status throughput and p99 across the 10,000 (load generator in its own process); a fleet with
CoIoT per device at 9,000 devices (its UDP socket per device makes 10,000 need more than the
20,000 descriptors a process may hold here); and 10,000 devices with CoIoT on the shared socket
(one UDP socket for the fleet), ready when the last device answers HTTP and CoAP GET /cit/s from
its own address. The shared socket takes a free ephemeral port, not 5683, so that the bench
never shares the wildcard port with a client or another suite on this machine (the cost per
device does not depend on the port).

Each size runs in a fresh child process so that RSS figures do not carry over.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time

import requests

from bench._common import SERVER_CPU, emit, loadgen, pin_to_cpu, random_block, rss_kb
from emulator.conformance import coap
from emulator.fleet import Fleet
from emulator.fleet.spec import parse_fleet
from emulator.runtime import Runtime
from emulator.transports.coiot.udp import CoiotTransport

SIZES = (100, 1_000, 10_000)
COIOT_SIZE = 9_000
SHARED_COIOT_SIZE = 10_000
TARGETS = {
    "start": "",
    "ready": "<= 20 s at 10,000",
    "rss/device": "<= 100 KB",
    "rps": ">= 6,000",
    "rps keep-alive": ">= 30,000",  # issue 14
    "p99": "<= 20 ms",
}


def child(count: int, http: bool, coiot: bool, shared: bool = False) -> None:
    first = random_block()
    spec = parse_fleet(
        {"devices": [{"model": "SHPLG-S", "count": count, "address": first, "name": "P{n}"}]}
    )
    before = rss_kb()
    started = time.perf_counter()
    runtime = Runtime().start()
    transport = None
    if coiot:
        transport = CoiotTransport.attach(runtime, port=0 if shared else 5683, shared_socket=shared)
    fleet = Fleet(spec, runtime).start(per_device=2 if coiot and not shared else 1)
    start = time.perf_counter() - started
    last = fleet[count - 1]
    requests.get(f"{last.url}/shelly", timeout=10).raise_for_status()
    if shared:
        assert transport is not None
        packet = coap.request(last.ip, transport.port, "s", confirmable=False, tries=1)
        if packet is None or packet.source != (last.ip, transport.port):
            raise SystemExit(f"no CoAP answer from {last.ip}:{transport.port}: {packet}")
    ready = time.perf_counter() - started
    gc.freeze()  # as the CLI does once a fleet is up
    pin_to_cpu(SERVER_CPU)
    after = rss_kb()
    name = f"fleet {count:,}" + (
        " + CoIoT shared socket" if shared else " + CoIoT" if coiot else ""
    )
    emit(name, "start", round(start, 2), "s", TARGETS["start"])
    emit(name, "ready (last device answers)", round(ready, 2), "s", TARGETS["ready"])
    emit(name, "RSS per device", round((after - before) / count, 1), "KB", TARGETS["rss/device"])
    emit(name, "RSS total", round(after / 1024), "MB")
    if http:
        emit(name, "load average before the HTTP runs (other work here)", os.getloadavg()[0], "")
        for per_connection, label in ((100, "keep-alive"), (5, "new device every 5")):
            # Best of three: this machine is shared (other suites run here), and a throughput
            # figure is about the server, not about who else had the CPU at that moment.
            runs = [
                loadgen(
                    f"{first}:{count}:80",
                    seconds=5,
                    requests=100_000,
                    connections=50,
                    per_connection=per_connection,
                )
                for _ in range(3)
            ]
            best = max(runs, key=lambda run: run["rps"])
            where = f"GET /status, 50 conns, {label}"
            target = TARGETS["rps keep-alive" if per_connection == 100 else "rps"]
            emit(name, f"{where}: req/s (best of 3)", best["rps"], "req/s", target)
            emit(name, f"{where}: p50", best["p50_ms"], "ms")
            emit(name, f"{where}: p99", best["p99_ms"], "ms", TARGETS["p99"])
            emit(name, f"{where}: req/s of the 3 runs", " / ".join(str(r["rps"]) for r in runs))
            emit(name, f"{where}: errors", sum(run["errors"] for run in runs), "")
    runtime.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", type=int)
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--coiot", action="store_true")
    parser.add_argument("--shared", action="store_true", help="with --coiot: one UDP socket")
    parser.add_argument("--only-shared", action="store_true", help="run only the shared fleet")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.http, args.coiot, args.shared)
        return
    shared = [sys.executable, "-m", "bench.fleet_scale", "--coiot", "--shared"]
    shared += ["--child", str(SHARED_COIOT_SIZE)]
    if args.only_shared:
        subprocess.run(shared, check=True, timeout=300)
        return
    for count in SIZES:
        command = [sys.executable, "-m", "bench.fleet_scale", "--child", str(count)]
        if count == SIZES[-1]:
            command.append("--http")
        subprocess.run(command, check=True, timeout=300)
    command = [sys.executable, "-m", "bench.fleet_scale", "--child", str(COIOT_SIZE), "--coiot"]
    subprocess.run(command, check=True, timeout=300)
    subprocess.run(shared, check=True, timeout=300)


if __name__ == "__main__":
    main()
