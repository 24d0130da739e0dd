"""MQTT benchmark: 1,000 devices connected to one broker (spec/mqtt.md; issue 12).

Run: ``.venv/bin/python -m bench.mqtt [--devices 1000] [--rounds 5] [--broker amqtt|mosquitto]``.
The broker runs in a process of its own (the embedded amqtt, or mosquitto when asked and
installed) pinned to the second CPU; the devices (Shelly Plug S, a fleet on a random loopback
block) and a paho subscriber on ``shellies/+/relay/0`` run here. Figures: time until every
device is connected (fleet start included), RSS of the devices' process and of the broker,
and the rate of state publishes reaching the subscriber while every relay toggles ``rounds``
times. Prints figures; asserts nothing. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bench._common import CLIENT_CPU, SERVER_CPU, emit, pin_to_cpu, random_block, rss_kb
from emulator.fleet import Fleet
from emulator.fleet.spec import parse_fleet
from emulator.transports.mqtt.broker import MosquittoBroker
from emulator.transports.net import free_loopback_address

#: Upper bound on each phase (connect, publish rounds).
PHASE_LIMIT = 300.0

_AMQTT_CHILD = """
import os, sys
from emulator.transports.mqtt.broker import EmbeddedBroker
if {cpu} in os.sched_getaffinity(0):
    os.sched_setaffinity(0, {{{cpu}}})
broker = EmbeddedBroker({host!r}, {port}).start()
print("ready", flush=True)
sys.stdin.read()
broker.close()
"""


def _process_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _start_broker(kind: str, host: str, port: int) -> tuple[subprocess.Popen[str], object | None]:
    if kind == "mosquitto":
        broker = MosquittoBroker(host, port).start()
        assert broker._process is not None
        return broker._process, broker  # type: ignore[return-value]
    child = subprocess.Popen(
        [sys.executable, "-c", _AMQTT_CHILD.format(cpu=CLIENT_CPU, host=host, port=port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    if child.stdout.readline().strip() != "ready":
        raise RuntimeError("the broker did not start")
    return child, None


class Counter:
    """A paho subscriber counting relay state messages."""

    def __init__(self, host: str, port: int) -> None:
        self.count = 0
        self.changed = threading.Condition()
        self.client = paho.Client(CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.subscribe("shellies/+/relay/0")
        self.client.loop_start()

    def _on_message(self, *args: object) -> None:
        with self.changed:
            self.count += 1
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.count >= count, timeout)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--broker", choices=("amqtt", "mosquitto"), default="amqtt")
    args = parser.parse_args()
    pin_to_cpu(SERVER_CPU)
    name = f"mqtt {args.broker}"
    broker_host = free_loopback_address(1883)
    child, owner = _start_broker(args.broker, broker_host, 1883)
    # Subscribe first: paho's loop uses select(), which cannot watch a descriptor past 1023,
    # and the fleet takes two descriptors per device.
    counter = Counter(broker_host, 1883)
    try:
        rss_before = rss_kb()
        spec = parse_fleet(
            {
                "devices": [
                    {
                        "model": "SHPLG-S",
                        "count": args.devices,
                        "address": random_block(),
                        "settings": {
                            "mqtt_enable": True,
                            "mqtt_server": f"{broker_host}:1883",
                            "mqtt_update_period": 0,
                        },
                    }
                ]
            },
            "bench.mqtt",
        )
        started = time.perf_counter()
        fleet = Fleet(spec).start(per_device=2)
        try:
            hosts = [member.host for member in fleet]
            deadline = time.monotonic() + PHASE_LIMIT
            connected = 0
            while time.monotonic() < deadline:
                connected = fleet.runtime.call(
                    lambda: sum(h.device.of_kind("mqtt")[0].connected for h in hosts)
                )
                if connected == len(hosts):
                    break
                time.sleep(0.1)
            emit(name, f"{args.devices} devices connected", connected, "devices")
            connect_seconds = round(time.perf_counter() - started, 1)
            grown = rss_kb() - rss_before
            emit(name, "connect time (fleet start included)", connect_seconds, "s")
            emit(name, "RSS devices process", round(grown / 1024, 1), "MiB")
            emit(name, "RSS per device (HTTP + MQTT)", round(grown / len(hosts), 1), "KiB")
            emit(name, "RSS broker process", round(_process_rss_kb(child.pid) / 1024, 1), "MiB")

            base = counter.count
            started = time.perf_counter()
            expected = base
            for _ in range(args.rounds):
                fleet.runtime.call(lambda: [h.call("relay/0", {"turn": "toggle"}) for h in hosts])
                expected += len(hosts)
            arrived = counter.wait_for(expected, PHASE_LIMIT)
            seconds = time.perf_counter() - started
            received = counter.count - base
            emit(name, "relay publishes received", received, f"of {expected - base}")
            emit(name, "publish rate (toggle -> subscriber)", round(received / seconds), "msg/s")
            if not arrived:
                emit(name, "publish phase", "timed out", f"{PHASE_LIMIT:.0f} s")
        finally:
            fleet.stop()
    finally:
        counter.close()
        if owner is not None:
            owner.close()  # type: ignore[attr-defined]
        else:
            assert child.stdin is not None
            child.stdin.close()
            child.wait(120)


if __name__ == "__main__":
    main()
