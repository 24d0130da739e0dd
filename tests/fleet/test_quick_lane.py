"""The quick lane (transports/http/quick.py) answers on the wire exactly what the fast path and
Flask answer, and its reused /status bytes are never stale: a change shows at once, the clock
fields move with every whole second, and a value that moves on its own (energy drawn) is
rendered afresh."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests

from emulator.clock import ManualClock
from emulator.runtime import DeviceHost, Runtime
from emulator.transports.http.app import fast_answer
from emulator.transports.http.quick import QuickLane
from emulator.transports.net import free_loopback_address
from tests.fleet.test_fast_path import AUTH, PATHS, QUERIES, _environ, _flask


def _wire(status: str, headers: list[tuple[str, str]], body: bytes) -> tuple[bytes, bytes]:
    """A fast or Flask answer's head as server.HttpConnection writes it (Connection line aside)."""
    head = "".join(f"{n}: {v}\r\n" for n, v in headers if n.lower() != "content-length")
    return f"HTTP/1.1 {status}\r\n{head}Content-Length: {len(body)}\r\n".encode("latin-1"), body


@pytest.fixture(params=[None, ("admin", "pw")], ids=["open", "login"])
def twins(request: pytest.FixtureRequest) -> Iterator[tuple[DeviceHost, DeviceHost]]:
    """Two identical devices on identical manual clocks (see test_fast_path.twins)."""
    ip = free_loopback_address()
    runtimes = [Runtime(ManualClock()).start(), Runtime(ManualClock()).start()]
    hosts = [
        rt.add_device("SHSW-1", ip=ip, http_port=0, mac="349454A1B2C3", login=request.param)
        for rt in runtimes
    ]
    yield hosts[0], hosts[1]
    for runtime in runtimes:
        runtime.stop()


def test_quick_lane_writes_what_the_fast_path_and_flask_write(
    twins: tuple[DeviceHost, DeviceHost],
) -> None:
    reference, quick_host = twins
    lane = QuickLane(quick_host)
    taken = 0
    for path in [*PATHS, "/status", "/shelly"]:  # each twice: the second /status is reused
        for query in QUERIES:
            for auth in AUTH:
                environ = _environ(reference, "GET", path, query, auth)
                expected = fast_answer(environ) or _flask(reference, environ)
                given = _environ(quick_host, "GET", path, query, auth).get("HTTP_AUTHORIZATION")
                quick = lane("GET", path, query, given)
                if quick is None:  # not plain: the server builds the environ for Flask
                    environ = _environ(quick_host, "GET", path, query, auth)
                    assert fast_answer(environ) is None
                    answer = _wire(*_flask(quick_host, environ))
                else:
                    taken += 1
                    answer = quick[1:]
                    assert quick[0] == int(expected[0][:3])
                assert answer == _wire(*expected), (path, query, auth)
    assert taken > len(PATHS) * len(AUTH) * 8


@pytest.fixture
def plug() -> Iterator[tuple[Runtime, DeviceHost]]:
    runtime = Runtime(ManualClock()).start()
    yield runtime, runtime.add_device("SHPLG-S", ip=free_loopback_address(), http_port=0)
    runtime.stop()


def _raw_status(url: str) -> bytes:
    """GET /status on one keep-alive connection, twice: both answers as raw bytes."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        answers = []
        for _ in range(2):
            sock.sendall(b"GET /status HTTP/1.1\r\nHost: d\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data or len(data) < _length(data):
                data += sock.recv(65536)
            answers.append(data)
    assert answers[0] == answers[1]  # same second, same state: the same bytes
    return answers[0]


def _length(data: bytes) -> int:
    head, _, _ = data.partition(b"\r\n\r\n")
    size = next(
        int(line[15:]) for line in head.split(b"\r\n") if line.startswith(b"Content-Length")
    )
    return len(head) + 4 + size


def test_reused_status_follows_changes_and_every_second(plug: tuple[Runtime, DeviceHost]) -> None:
    runtime, host = plug
    first = _raw_status(host.url)
    before = requests.get(f"{host.url}/status", timeout=5).json()
    requests.get(f"{host.url}/relay/0?turn=toggle", timeout=5).raise_for_status()
    on = requests.get(f"{host.url}/status", timeout=5).json()
    # The same second: the change shows at once.
    assert on["relays"][0]["ison"] is not before["relays"][0]["ison"]
    assert on["serial"] != before["serial"]
    runtime.advance(0.4)  # a whole second not crossed (the manual clock starts on one)
    assert requests.get(f"{host.url}/status", timeout=5).json() == on
    runtime.advance(0.7)
    later = requests.get(f"{host.url}/status", timeout=5).json()
    assert (later["unixtime"], later["uptime"]) == (on["unixtime"] + 1, on["uptime"] + 1)
    assert _raw_status(host.url) != first


def test_energy_being_drawn_is_rendered_afresh(plug: tuple[Runtime, DeviceHost]) -> None:
    runtime, host = plug
    host.world.set_load(0, 1200.0)
    requests.get(f"{host.url}/relay/0?turn=on", timeout=5).raise_for_status()
    start = requests.get(f"{host.url}/status", timeout=5).json()["meters"][0]["total"]
    runtime.advance(0.5)  # 1200 W for half a second: 10 watt-minutes, within the second
    total = requests.get(f"{host.url}/status", timeout=5).json()["meters"][0]["total"]
    assert total == start + 10
