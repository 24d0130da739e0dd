"""URL actions (/settings/actions): set over HTTP, called on events with the firmware's query,
in order, by a real local HTTP server; failures counted, never blocking the device."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from emulator.transports.actions import UrlCallbacks
from emulator.transports.net import free_loopback_address

WAIT = 15.0


class Receiver:
    """A local HTTP server that records the path and query of every GET, in arrival order."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with receiver.changed:
                    receiver.calls.append(self.path)
                    receiver.changed.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((free_loopback_address(8080), 8080), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def wait(self, count: int) -> list[str]:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.calls) >= count, WAIT):
                raise TimeoutError(f"{count} callbacks expected, got {self.calls}")
            return list(self.calls)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def _action_log(device, count: int) -> list[int]:
    """Statuses of the device's callbacks once ``count`` are logged (the log entry is written
    after the answer is read, a moment after the receiver has seen the request)."""
    deadline = time.monotonic() + WAIT
    while True:
        statuses = [r.status for r in device.requests() if r.proto == "action"]
        if len(statuses) >= count or time.monotonic() > deadline:
            return statuses
        time.sleep(0.01)


def _set(device, **params) -> requests.Response:
    return requests.get(f"{device.url}/settings/actions", params=params, timeout=WAIT)


def test_actions_listed_and_set_as_firmware_names_them(shelly_device) -> None:
    device = shelly_device("SHSW-21")
    table = _set(device).json()["actions"]
    assert list(table) == [
        "btn_on_url", "btn_off_url", "longpush_url", "shortpush_url", "out_on_url",
        "out_off_url", "roller_open_url", "roller_close_url", "roller_stop_url",
    ]  # fmt: skip
    assert table["out_on_url"] == [
        {"index": 0, "urls": [], "enabled": False},
        {"index": 1, "urls": [], "enabled": False},
    ]
    answer = _set(
        device,
        index=1,
        name="out_on_url",
        enabled="true",
        **{"urls[]": ["http://a/1", "http://b/2"]},
    )
    assert answer.status_code == 200
    assert answer.json()["actions"]["out_on_url"][1] == {
        "index": 1,
        "urls": ["http://a/1", "http://b/2"],
        "enabled": True,
    }
    settings = requests.get(f"{device.url}/settings", timeout=WAIT).json()
    assert settings["actions"]["active"] is True
    # urls[]= (empty) deletes the URLs; enabled=false alone disables.
    _set(device, index=1, name="out_on_url", **{"urls[]": ""})
    _set(device, index=1, name="out_on_url", enabled="false")
    assert _set(device).json()["actions"]["out_on_url"][1] == {
        "index": 1,
        "urls": [],
        "enabled": False,
    }


@pytest.mark.parametrize(
    "params",
    [
        {"name": "no_such_url", "enabled": "1"},
        {"name": "out_on_url", "index": "2", "enabled": "1"},
        {"name": "out_on_url", "urls[]": [f"http://h/{n}" for n in range(6)]},
        {"name": "out_on_url", "urls[]": "ftp://h/x"},
        {"name": "out_on_url", "urls[]": "http://h/" + "x" * 300},
    ],
)
def test_bad_action_settings_change_nothing(shelly_device, params) -> None:
    device = shelly_device("SHSW-21")
    before = _set(device).json()
    answer = _set(device, **params)
    assert answer.status_code == 400
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert _set(device).json() == before


def test_output_actions_called_in_order(shelly_device, receiver, manual_clock) -> None:
    device = shelly_device("SHSW-1")
    on_urls = [receiver.url("/on-a"), receiver.url("/on-b")]
    _set(device, name="out_on_url", enabled="1", **{"urls[]": on_urls})
    _set(device, name="out_off_url", enabled="1", **{"urls[]": receiver.url("/off?x=1")})
    requests.get(f"{device.url}/relay/0?turn=on", timeout=WAIT).raise_for_status()
    requests.get(f"{device.url}/relay/0?turn=on", timeout=WAIT).raise_for_status()  # no change
    requests.get(f"{device.url}/relay/0?turn=off&timer=10", timeout=WAIT).raise_for_status()
    manual_clock.advance(10)  # the flip-back timer turns it on again
    assert receiver.wait(4) == ["/on-a", "/on-b", "/off?x=1", "/on-a"]
    assert receiver.wait(5)[4] == "/on-b"
    assert _action_log(device, 5) == [200] * 5
    assert device.status()["actions_stats"]["skipped"] == 0


def test_button_actions(shelly_device, receiver) -> None:
    device = shelly_device("SHSW-21")
    requests.get(f"{device.url}/settings/relay/1?btn_type=momentary", timeout=WAIT)
    _set(device, index=1, name="shortpush_url", enabled="1", **{"urls[]": receiver.url("/short")})
    _set(device, index=1, name="longpush_url", enabled="1", **{"urls[]": receiver.url("/long")})
    _set(device, index=0, name="longpush_url", enabled="1", **{"urls[]": receiver.url("/other")})
    device.world.press(1)
    device.world.press(1, long=True)
    assert receiver.wait(2) == ["/short", "/long"]


def test_ht_report_url_carries_the_readings(shelly_device, receiver, manual_clock) -> None:
    device = shelly_device("SHHT-1")
    _set(device, name="report_url", enabled="1", **{"urls[]": receiver.url("/ht")})
    manual_clock.advance(60)  # asleep
    device.world.set_humidity(61)  # beyond the 5 % threshold: wakes up and reports
    device.world.set_temperature(25)  # awake: reported with this wake-up's readings next time
    call = receiver.wait(1)[0]
    parts = urlsplit(call)
    assert parts.path == "/ht"
    assert parse_qs(parts.query) == {"hum": ["61"], "temp": ["22.00"], "id": [device.hostname]}


def test_smoke_fire_actions(shelly_device, receiver) -> None:
    device = shelly_device("SHSM-01")
    _set(device, name="fire_detected_url", enabled="1", **{"urls[]": receiver.url("/fire")})
    _set(device, name="fire_gone_url", enabled="1", **{"urls[]": receiver.url("/clear")})
    device.world.set_smoke(True)
    device.world.set_smoke(False)
    assert receiver.wait(2) == ["/fire", "/clear"]


def test_failed_callbacks_are_skipped_and_never_block(
    shelly_device, receiver, shelly_runtime
) -> None:
    UrlCallbacks.attach(shelly_runtime).timeout = 0.5
    silent = socket.socket()  # accepts connections, never answers
    silent.bind((free_loopback_address(8081), 8081))
    silent.listen()
    refused = f"http://{free_loopback_address(8082)}:8082/"
    try:
        device = shelly_device("SHSW-1")
        urls = [f"http://{silent.getsockname()[0]}:8081/", refused, receiver.url("/ok")]
        _set(device, name="out_on_url", enabled="1", **{"urls[]": urls})
        requests.get(f"{device.url}/relay/0?turn=on", timeout=WAIT).raise_for_status()
        # The device answers at once while its callbacks wait on the silent server.
        assert requests.get(f"{device.url}/relay/0?turn=off", timeout=WAIT).json()["ison"] is False
        assert receiver.wait(1) == ["/ok"]
        assert _action_log(device, 3) == [0, 0, 200]
        assert device.status()["actions_stats"]["skipped"] == 2
    finally:
        silent.close()
