"""Soak: N devices for M minutes under a bounded load with some abuse mixed in, printing RSS,
descriptors, p50/p99 latency and errors every interval (``make soak``; issue 18).

    python -m bench.soak                                   # 200 devices, 2 minutes
    python -m bench.soak --devices 1000 --minutes 10 --rate 500

The devices run in a child process (its RSS and descriptors are read from /proc); the load is
``--rate`` GET /status per second over ``--connections`` keep-alive connections (each reopened
every 50 requests), plus ``--idle`` connections that never send and ``--slowloris`` ones that
send a header line every 2 s, both reopened whenever the devices close them. Everything is on
127.0.0.0/8 and bounded by ``--minutes``. A figure-printing benchmark, not a test: it is not
part of ``make bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from bench._common import emit
from bench.loadgen import _Client

_REQUEST = b"GET /status HTTP/1.1\r\nHost: shelly\r\n\r\n"
_PER_CONNECTION = 50


def _serve(count: int) -> None:
    """The child: ``count`` devices on one runtime, their addresses on stdout, until stdin
    closes."""
    import logging

    from emulator.runtime import Runtime
    from emulator.transports.net import free_loopback_block, loopback_plan

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    runtime = Runtime().start()
    root = os.geteuid() == 0
    first = free_loopback_block(count, 80) if root else "127.0.0.1"
    ips = loopback_plan(first, count) if root else ["127.0.0.1"] * count
    hosts = [runtime.add_device("SHSW-1", ip=ip, http_port=80 if root else 0) for ip in ips]
    print(json.dumps([[h.ip, h.http_port] for h in hosts]), flush=True)
    sys.stdin.read()
    runtime.stop()


class _Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.reopened = 0

    def take(self) -> tuple[list[float], int, int]:
        taken = (sorted(self.latencies), self.errors, self.reopened)
        self.latencies, self.errors, self.reopened = [], 0, 0
        return taken


async def _worker(
    index: int, targets: list[tuple[str, int]], interval: float, deadline: float, stats: _Stats
) -> None:
    loop = asyncio.get_running_loop()
    position = index
    next_at = time.monotonic() + interval * index / 10
    while time.monotonic() < deadline:
        host, port = targets[position % len(targets)]
        position += 7
        try:
            transport, client = await loop.create_connection(_Client, host, port)
        except OSError:
            stats.errors += 1
            await asyncio.sleep(interval)
            continue
        try:
            for _ in range(_PER_CONNECTION):
                next_at = max(next_at + interval, time.monotonic())
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                if time.monotonic() >= deadline:
                    break
                started = time.perf_counter()
                status = await asyncio.wait_for(client.request(_REQUEST), 5)
                stats.latencies.append(time.perf_counter() - started)
                stats.errors += status != 200
        except (ConnectionError, TimeoutError):
            stats.errors += 1
        finally:
            transport.close()


async def _abuser(target: tuple[str, int], slow: bool, deadline: float, stats: _Stats) -> None:
    """An idle or slowloris connection, reopened whenever the device closes it."""
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection(*target)
        except OSError:
            await asyncio.sleep(1)
            continue
        stats.reopened += 1
        try:
            if slow:
                writer.write(b"GET /status HTTP/1.1\r\n")
            while time.monotonic() < deadline:
                if slow:
                    writer.write(b"X-a: b\r\n")
                    await writer.drain()
                try:
                    if await asyncio.wait_for(reader.read(65536), 2) == b"":
                        break  # closed (timed out or reclaimed): open another
                except TimeoutError:
                    pass
        except OSError:
            pass
        finally:
            writer.close()


def _proc(pid: int) -> tuple[float, int]:
    with open(f"/proc/{pid}/status") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return rss / 1024, len(os.listdir(f"/proc/{pid}/fd"))


async def _report(
    pid: int, args: argparse.Namespace, started: float, deadline: float, stats: _Stats
) -> list[dict[str, Any]]:
    rows = []
    print(f"{'t s':>6} {'RSS MB':>8} {'fds':>6} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'errors':>6} {'abuse reopened':>14}", flush=True)  # fmt: skip
    while time.monotonic() < deadline:
        await asyncio.sleep(min(args.interval, max(0.0, deadline - time.monotonic())))
        latencies, errors, reopened = stats.take()
        rss, fds = _proc(pid)
        done = len(latencies)

        def pct(p: float, values: list[float] = latencies, n: int = done) -> float:
            return values[min(n - 1, int(n * p))] * 1000 if n else float("nan")

        row = {
            "t": round(time.monotonic() - started),
            "rss_mb": round(rss, 1),
            "fds": fds,
            "rps": round(done / args.interval, 1),
            "p50_ms": round(pct(0.5), 2),
            "p99_ms": round(pct(0.99), 2),
            "errors": errors,
            "reopened": reopened,
        }
        rows.append(row)
        print(f"{row['t']:>6} {row['rss_mb']:>8} {row['fds']:>6} {row['rps']:>7} "
              f"{row['p50_ms']:>7} {row['p99_ms']:>7} {row['errors']:>6} {row['reopened']:>14}",
              flush=True)  # fmt: skip
    return rows


async def _load(pid: int, targets: list[tuple[str, int]], args: argparse.Namespace) -> list[Any]:
    stats = _Stats()
    started = time.monotonic()
    deadline = started + args.minutes * 60
    interval = args.connections / args.rate
    tasks = [_worker(i, targets, interval, deadline, stats) for i in range(args.connections)]
    tasks += [_abuser(targets[i % len(targets)], False, deadline, stats) for i in range(args.idle)]
    tasks += [
        _abuser(targets[-1 - i % len(targets)], True, deadline, stats)
        for i in range(args.slowloris)
    ]
    report = asyncio.ensure_future(_report(pid, args, started, deadline, stats))
    await asyncio.gather(*tasks)
    return await report


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--rate", type=float, default=200.0, help="GET /status per second")
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--idle", type=int, default=50, help="idle connections held")
    parser.add_argument("--slowloris", type=int, default=20, help="slowloris connections held")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between reports")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve)
        return 0
    with tempfile.TemporaryFile() as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.soak", "--serve", str(args.devices)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        assert child.stdout is not None and child.stdin is not None
        targets = [tuple(t) for t in json.loads(child.stdout.readline())]
        print(f"soak: {args.devices} devices, {args.minutes:g} min, {args.rate:g} req/s over "
              f"{args.connections} connections, {args.idle} idle and {args.slowloris} slowloris "
              "connections held", flush=True)  # fmt: skip
        try:
            rows = asyncio.run(_load(child.pid, targets, args))  # type: ignore[arg-type]
        finally:
            child.stdin.close()
            child.wait(30)
        log_bytes = log.seek(0, os.SEEK_END)
    first, last = rows[0], rows[-1]
    emit("soak", "RSS first/last interval", f"{first['rss_mb']} / {last['rss_mb']}", "MB")
    emit("soak", "descriptors first/last interval", f"{first['fds']} / {last['fds']}")
    emit("soak", "p99 worst interval", max(r["p99_ms"] for r in rows), "ms")
    emit("soak", "errors in all", sum(r["errors"] for r in rows))
    emit("soak", "device log written", log_bytes, "bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
