"""Fake cloud: Cloud Control API command → live emulated device moved, and → integrator event.

Run: `.venv/bin/python -m bench.cloud_control [--rounds N]`. Prints figures only (JSON rows, see
bench/_common.py). A Shelly 1 on the emulator's runtime is linked to a fake cloud over TLS on a
random loopback block; requests (one keep-alive session) sends `POST /device/relay/control`
(v1, form) and `POST /v2/devices/api/set/switch` (v2, JSON), toggling the relay each round.

Figures per API: "device moved" = request sent → the device's relay changed (a runtime listener
stamps the device's own StatusChanged, on its loop); "answer" = request sent → HTTP answer;
"event" = request sent → Shelly:StatusOnChange on an integrator socket. The API's one call a
second per account is switched off (`cc_rate_limit`): the path is measured, not the policy.
Loops are bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable

import requests
from websockets.sync.client import connect

from bench._common import emit
from emulator.core.clock import ManualClock
from emulator.core.events import StatusChanged
from emulator.runtime import Runtime
from emulator.transports.cloud_wiring import cloud_id, link_to_cloud, register_device
from fake_cloud import CloudConfig, FakeCloud
from fake_cloud.state.backend import Grant
from fake_cloud.state.events import OnlineChanged

BENCH = "cloud_control"
WAIT = 10.0
TIME_LIMIT = 120.0


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(api: str, what: str, samples: list[float]) -> None:
    ms = [s * 1000 for s in samples]
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        emit(
            BENCH, f"{api} command → {what} {name} (n={len(ms)})", round(percentile(ms, q), 3), "ms"
        )


class Moves:
    """Stamps (perf_counter) of the device's status changes, taken on the runtime's loop."""

    def __init__(self) -> None:
        self.stamps: list[float] = []
        self.changed = threading.Condition()

    def listener(self, host: object, events: list[object]) -> None:
        if any(isinstance(event, StatusChanged) for event in events):
            with self.changed:
                self.stamps.append(time.perf_counter())
                self.changed.notify_all()

    def after(self, start: float) -> float:
        with self.changed:
            ok = self.changed.wait_for(lambda: any(s >= start for s in self.stamps), WAIT)
            assert ok, "the device never moved"
            return next(s for s in self.stamps if s >= start)


def measure(
    send: Callable[[bool], requests.Response], rounds: int, moves: Moves, ws, hexdec: str
) -> tuple[list[float], list[float], list[float]]:
    moved, answered, heard = [], [], []
    deadline = time.monotonic() + TIME_LIMIT
    for i in range(rounds):
        if time.monotonic() > deadline:
            break
        start = time.perf_counter()
        answer = send(i % 2 == 0)
        answered.append(time.perf_counter() - start)
        assert answer.status_code == 200, answer.text
        moved.append(moves.after(start) - start)
        while True:
            frame = json.loads(ws.recv(timeout=WAIT))
            if frame.get("event") == "Shelly:StatusOnChange" and frame["deviceId"] == hexdec:
                heard.append(time.perf_counter() - start)
                break
    return moved, answered, heard


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    with FakeCloud(CloudConfig()) as cloud, Runtime(ManualClock()) as runtime:
        cloud.control.set_policies(cc_rate_limit=None)
        cloud.services.recorder.enabled = False
        user = cloud.control.create_user("bench@example.com", "pw")
        link_to_cloud(runtime, cloud)
        host = runtime.add_device("SHSW-1", ip="127.0.0.1", http_port=0)
        moves = Moves()
        runtime.listeners.append(moves.listener)
        hexid = cloud_id(host)
        online = threading.Event()
        cloud.backend.subscribe(
            lambda e: online.set() if isinstance(e, OnlineChanged) and e.device == hexid else None
        )
        register_device(cloud, host, user.id)
        assert online.wait(WAIT), "the device never linked"
        cloud.control.create_integrator("ITG_BENCH", "t")
        cloud.backend.put_grant(Grant("ITG_BENCH", hexid, user.id, "01", "http://unused/"))
        token = cloud.control.integrator_token("ITG_BENCH")
        session = requests.Session()
        session.trust_env = False
        session.verify = cloud.ca_path
        url = cloud.server_url()

        def v1(on: bool) -> requests.Response:
            fields = {"auth_key": user.auth_key, "id": hexid, "channel": 0}
            fields["turn"] = "on" if on else "off"
            return session.post(f"{url}/device/relay/control", data=fields, timeout=WAIT)

        def v2(on: bool) -> requests.Response:
            return session.post(
                f"{url}/v2/devices/api/set/switch",
                params={"auth_key": user.auth_key},
                json={"id": hexid, "on": on},
                timeout=WAIT,
            )

        with connect(cloud.ws_url(token), ssl=cloud.client_ssl_context(), compression=None) as ws:
            for api, send in (("v1 relay/control", v1), ("v2 set/switch", v2)):
                send(False)  # warm the TLS session and the device's state
                moved, answered, heard = measure(send, args.rounds, moves, ws, str(int(hexid, 16)))
                report(api, "device moved", moved)
                report(api, "HTTP answer", answered)
                report(api, "integrator StatusOnChange", heard)


if __name__ == "__main__":
    main()
