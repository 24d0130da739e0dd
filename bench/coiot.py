"""CoIoT benchmark: latency from a state change to its datagram, and publish throughput.

Run: ``.venv/bin/python bench/coiot.py [--devices 300] [--changes 1000] [--rounds 10]``.
Devices sit on random loopback addresses with the UDP transport; their CoIoT peer is one
receiver socket on 127.0.0.1 (a thread that timestamps arrivals), and their update period is
long so periodic publishes do not mix in. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time

from aioshelly.block_device.coap import CoapMessage

from emulator.runtime import DeviceHost, Runtime
from emulator.transports.coiot.udp import CoiotTransport
from emulator.transports.net import free_loopback_address


class Receiver(threading.Thread):
    """Counts and timestamps every datagram until told to stop (or 30 s of silence)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(30)
        self.arrivals: list[tuple[float, bytes]] = []
        self.arrived = threading.Condition()

    @property
    def peer(self) -> str:
        return f"127.0.0.1:{self.sock.getsockname()[1]}"

    def run(self) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except (TimeoutError, OSError):
                return
            with self.arrived:
                self.arrivals.append((time.perf_counter(), data))
                self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 30) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.arrivals) >= count, timeout)


def toggle(host: DeviceHost) -> float:
    """Flip relay 0 on the loop thread; the moment just before the change."""

    def action() -> float:
        started = time.perf_counter()
        host.call("relay/0", {"turn": "toggle"})
        return started

    return host.runtime.call(action)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=300)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()

    receiver = Receiver()
    receiver.start()
    runtime = Runtime().start()
    CoiotTransport.attach(runtime)
    started = time.perf_counter()
    hosts = []
    for index in range(args.devices):
        model = ("SHSW-1", "SHPLG-S", "SHSW-21")[index % 3]
        settings = {"coiot_peer": receiver.peer, "coiot_update_period": "3600"}
        host = runtime.add_device(model, ip=free_loopback_address(5683), settings=settings)
        runtime.call(lambda h=host: h.act(h.device.reboot))
        hosts.append(host)
    receiver.wait_for(args.devices)
    print(f"{args.devices} devices up with CoIoT in {time.perf_counter() - started:.2f} s")

    # Latency: one change at a time, change -> datagram in the receiver's hands.
    latencies = []
    for index in range(args.changes):
        expected = len(receiver.arrivals) + 1
        before = toggle(hosts[index % len(hosts)])
        if not receiver.wait_for(expected, timeout=5):
            print(f"change {index}: no datagram within 5 s")
            break
        latencies.append((receiver.arrivals[expected - 1][0] - before) * 1000)
    CoapMessage(("127.0.0.1", 5683), receiver.arrivals[-1][1])  # a valid publish, to aioshelly
    print(
        f"latency change -> datagram over {len(latencies)} changes: "
        f"p50 {statistics.median(latencies):.3f} ms, p99 {percentile(latencies, 0.99):.3f} ms, "
        f"max {max(latencies):.3f} ms"
    )

    # Throughput: every device changes state `rounds` times in one burst on the loop.
    first = len(receiver.arrivals)
    total = args.devices * args.rounds

    def burst() -> float:
        begin = time.perf_counter()
        for _ in range(args.rounds):
            for host in hosts:
                host.call("relay/0", {"turn": "toggle"})
        return begin

    begin = runtime.call(burst, timeout=120)
    complete = receiver.wait_for(first + total, timeout=60)
    got = len(receiver.arrivals) - first
    elapsed = receiver.arrivals[-1][0] - begin
    print(
        f"throughput: {got}/{total} datagrams from {args.devices} devices in {elapsed:.3f} s "
        f"= {got / elapsed:,.0f} datagrams/s{'' if complete else ' (some lost)'}"
    )
    runtime.stop()
    receiver.sock.close()


if __name__ == "__main__":
    main()
