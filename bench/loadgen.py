"""HTTP load generator for fleet benchmarks: a separate process, raw asyncio, keep-alive.

Run by the bench scripts as ``python -m bench.loadgen``; it prints one JSON line. It only ever
connects to 127.0.0.0/8, and stops at whichever comes first of ``--requests`` and
``--seconds``. Each connection walks its own stride of the target list, moving to the next
device every ``--per-connection`` requests, so a run touches the whole fleet.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import ipaddress
import json
import time

__all__ = ["main"]


def _targets(spec: str) -> list[tuple[str, int]]:
    """``FIRST_IP:COUNT:PORT`` (consecutive addresses) or ``IP:PORT,IP:PORT...``."""
    parts = spec.split(":")
    if len(parts) == 3:
        first, count, port = parts
        base = int(ipaddress.IPv4Address(first))
        targets = [(str(ipaddress.IPv4Address(base + i)), int(port)) for i in range(int(count))]
    else:
        targets = [(ip, int(port)) for ip, _, port in (t.rpartition(":") for t in spec.split(","))]
    for ip, _ in targets:
        if not ipaddress.IPv4Address(ip).is_loopback:
            raise SystemExit(f"loadgen: {ip} is not a loopback address; refusing")
    return targets


class _Client(asyncio.Protocol):
    """One keep-alive connection: send a request, wait for the whole answer, repeat."""

    def __init__(self) -> None:
        self.buffer = b""
        self.waiter: asyncio.Future[int] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head, sep, rest = self.buffer.partition(b"\r\n\r\n")
        if not sep or self.waiter is None:
            return
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(rest) >= length:
            self.buffer = rest[length:]
            status = int(head.split(b" ", 2)[1])
            if not self.waiter.done():
                self.waiter.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("closed"))

    async def request(self, payload: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(payload)
        return await self.waiter


async def _worker(
    index: int,
    stride: int,
    targets: list[tuple[str, int]],
    payload: bytes,
    args: argparse.Namespace,
    state: dict[str, object],
) -> None:
    loop = asyncio.get_running_loop()
    latencies: list[float] = state["latencies"]  # type: ignore[assignment]
    position = index
    while time.monotonic() < state["deadline"] and state["sent"] < args.requests:  # type: ignore[operator]
        host, port = targets[position % len(targets)]
        position += stride
        try:
            transport, client = await loop.create_connection(_Client, host, port)
        except OSError:
            state["errors"] += 1  # type: ignore[operator]
            continue
        try:
            for _ in range(args.per_connection):
                if time.monotonic() >= state["deadline"] or state["sent"] >= args.requests:  # type: ignore[operator]
                    break
                state["sent"] += 1  # type: ignore[operator]
                start = time.perf_counter()
                status = await client.request(payload)
                latencies.append(time.perf_counter() - start)
                if status != 200:
                    state["errors"] += 1  # type: ignore[operator]
        except ConnectionError:
            state["errors"] += 1  # type: ignore[operator]
        finally:
            transport.close()


async def _run(args: argparse.Namespace) -> dict[str, float]:
    targets = _targets(args.targets)
    auth = ""
    if args.auth:
        auth = f"Authorization: Basic {base64.b64encode(args.auth.encode()).decode()}\r\n"
    payload = f"GET {args.path} HTTP/1.1\r\nHost: shelly\r\n{auth}\r\n".encode()
    state: dict[str, object] = {
        "latencies": [],
        "sent": 0,
        "errors": 0,
        "deadline": time.monotonic() + args.seconds,
    }
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _worker(i, args.connections, targets, payload, args, state)
            for i in range(args.connections)
        )
    )
    elapsed = time.perf_counter() - started
    latencies: list[float] = sorted(state["latencies"])  # type: ignore[arg-type]
    done = len(latencies)

    def pct(p: float) -> float:
        return latencies[min(done - 1, int(done * p))] * 1000 if done else float("nan")

    return {
        "requests": done,
        "errors": state["errors"],  # type: ignore[dict-item]
        "seconds": round(elapsed, 3),
        "rps": round(done / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(pct(0.50), 3),
        "p99_ms": round(pct(0.99), 3),
        "devices": min(len(targets), done),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen")
    parser.add_argument("--targets", required=True, help="FIRST_IP:COUNT:PORT or IP:PORT,...")
    parser.add_argument("--path", default="/status")
    parser.add_argument("--auth", help="USER:PASSWORD for Basic auth")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--per-connection", type=int, default=20)
    parser.add_argument("--requests", type=int, default=100_000, help="upper bound on requests")
    parser.add_argument("--seconds", type=float, default=10.0, help="upper bound on run time")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(_run(args))), flush=True)


if __name__ == "__main__":
    main()
