"""Test doubles for the fake cloud's tests: a Gen1 device on the device link, an integrator's
callback endpoint, a WebSocket client that waits for frames, an HTML form reader.

All waits are bounded in time and count; none polls with sleep.
"""

import json
import os
import queue
import random
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from fake_cloud import FakeCloud
from fake_cloud.state.events import Event, OnlineChanged

TIMEOUT = 5.0 * float(os.environ.get("SHELLY_TESTS_TIMEOUT_FACTOR", "1"))
MAX_FRAMES = 500


def browser(cloud: FakeCloud) -> requests.Session:
    """A requests session trusting the cloud's CA. `trust_env` is off because requests lets
    REQUESTS_CA_BUNDLE override a session's `verify`."""
    session = requests.Session()
    session.trust_env = False
    session.verify = cloud.ca_path or True
    return session


def random_loopback() -> str:
    return f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


class WsClient:
    """An integrator's or account's socket: send frames, wait for the next matching one."""

    def __init__(self, url: str, cloud: FakeCloud) -> None:
        self.conn: ClientConnection = connect(
            url, ssl=cloud.client_ssl_context(), compression=None, open_timeout=TIMEOUT, legacy=True
        )

    def send(self, frame: dict[str, Any] | str | bytes) -> None:
        self.conn.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    def next(self, event: str | None = None, **match: Any) -> dict[str, Any]:
        """The next frame with this `event` whose top-level fields equal `match`; frames that
        do not match are skipped (and kept in `skipped`)."""
        skipped = []
        for _ in range(MAX_FRAMES):
            frame = json.loads(self.conn.recv(timeout=TIMEOUT))
            if (event is None or frame.get("event") == event) and all(
                frame.get(k) == v for k, v in match.items()
            ):
                self.skipped = skipped
                return frame
            skipped.append(frame)
        raise AssertionError(f"no {event} frame among {MAX_FRAMES}")

    def close(self) -> None:
        self.conn.close()


@dataclass
class Gen1State:
    relays: int = 1
    rollers: int = 0
    positioning: bool = True
    status: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.status = {
            "serial": 1,
            "relays": [{"ison": False, "has_timer": False} for _ in range(self.relays)],
            "rollers": [
                {"state": "stop", "current_pos": 0, "positioning": self.positioning}
                for _ in range(self.rollers)
            ],
            "meters": [{"power": 0.0, "is_valid": True}],
        }

    def http(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        """A Gen1 device's answer to `/relay/N` and `/roller/N` (seed 003)."""
        parts = path.strip("/").split("/")
        if len(parts) != 2 or not parts[1].isdigit():
            return 404, "Not Found"
        kind, channel = parts[0] + "s", int(parts[1])
        items = self.status.get(kind, [])
        if channel >= len(items):
            return 404, "Not Found"
        item = items[channel]
        if kind == "relays":
            turn = params.get("turn")
            if turn not in ("on", "off", "toggle"):
                return 400, "Bad turn!"
            item["ison"] = not item["ison"] if turn == "toggle" else turn == "on"
        elif kind == "rollers":
            go = params.get("go")
            if go == "to_pos":
                if not item["positioning"]:
                    return 400, "Not calibrated!"
                item["current_pos"] = int(params["roller_pos"])
            elif go in ("open", "close"):
                item["current_pos"] = 100 if go == "open" else 0
            elif go != "stop":
                return 400, "Bad go!"
        self.status["serial"] += 1
        return 200, item


class FakeDevice:
    """A small Gen1 device on the device link: says hello, reports status changes, answers
    calls from its own state. It reports the status change before the call's result, the
    harder order for the cloud (it must still send CommandResponse first)."""

    def __init__(
        self,
        cloud: FakeCloud,
        hexid: str,
        server: str | None = None,
        code: str = "SHSW-1",
        answer: bool = True,
        **state: Any,
    ) -> None:
        self.hexid = hexid
        self.gen1 = Gen1State(**state)
        self.answer = answer
        self.calls: queue.Queue[dict[str, Any]] = queue.Queue()
        self.errors: queue.Queue[dict[str, Any]] = queue.Queue()
        self.closed = threading.Event()
        self.close_code: int | None = None
        self.conn = connect(
            cloud.link_url(hexid, server),
            ssl=cloud.client_ssl_context(),
            open_timeout=TIMEOUT,
            legacy=True,
        )
        self.conn.send(json.dumps(self.hello(code)))
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def hello(self, code: str) -> dict[str, Any]:
        return {
            "type": "hello",
            "id": self.hexid,
            "code": code,
            "gen": 1,
            "mac": f"A4CF12{self.hexid.upper()}",
            "fw": "20230913-112003/v1.14.0-gcb84623",
            "name": f"Device {self.hexid}",
            "status": self.gen1.status,
            "settings": {"name": f"Device {self.hexid}", "relays": [{"name": "Lamp"}]},
        }

    @property
    def status(self) -> dict[str, Any]:
        return self.gen1.status

    def _run(self) -> None:
        try:
            for message in self.conn:
                frame = json.loads(message)
                if frame.get("type") == "call":
                    self.calls.put(frame)
                    if self.answer:
                        self._answer(frame)
                else:
                    self.errors.put(frame)
        except ConnectionClosed as exc:
            self.close_code = exc.rcvd.code if exc.rcvd else None
        finally:
            self.closed.set()

    def wait_closed(self) -> int | None:
        """The close code the cloud sent, once the link is closed."""
        assert self.closed.wait(TIMEOUT), "link still open"
        return self.close_code

    def _answer(self, call: dict[str, Any]) -> None:
        code, body = self.gen1.http(call["path"], call["params"])
        if code == 200:
            self.send({"type": "status", "status": self.gen1.status})
            self.send({"type": "result", "id": call["id"], "code": 200, "body": body})
        else:
            self.send({"type": "result", "id": call["id"], "code": code, "error": body})

    def press(self, channel: int = 0) -> None:
        """The physical button: flip a relay and report it."""
        self.gen1.http(f"/relay/{channel}", {"turn": "toggle"})
        self.send({"type": "status", "status": self.gen1.status})

    def send(self, frame: dict[str, Any] | str) -> None:
        self.conn.send(frame if isinstance(frame, str) else json.dumps(frame))

    def close(self) -> None:
        self.conn.close()
        self._thread.join(TIMEOUT)


@dataclass
class Received:
    path: str
    query: str
    headers: dict[str, str]
    body: dict[str, Any]


class CallbackServer:
    """The integrator's consent callback endpoint (the `cb` URL), recording what it gets."""

    def __init__(self) -> None:
        self.received: queue.Queue[Received] = queue.Queue()
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                parts = urlsplit(self.path)
                outer.received.put(Received(parts.path, parts.query, dict(self.headers), body))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((random_loopback(), 0), Handler)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}/shelly/callback?homey=abc123"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def next(self) -> Received:
        return self.received.get(timeout=TIMEOUT)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class FormReader(HTMLParser):
    """The first form of a page: action, and the values a browser would submit by default."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, Any] = {}
        self.checkboxes: list[str] = []
        self._select: str | None = None
        self._forms = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self._forms += 1
            if self._forms == 1:
                self.action = a.get("action")
        if self._forms != 1:
            return
        if tag == "input" and a.get("type") == "checkbox":
            self.checkboxes.append(a.get("value") or "")
        elif tag == "input" and a.get("name"):
            self.fields[a["name"] or ""] = a.get("value") or ""
        elif tag == "select":
            self._select = a.get("name")
        elif (
            tag == "option"
            and self._select
            and ("selected" in a or self._select not in self.fields)
        ):
            self.fields[self._select] = a.get("value")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def wait_online(cloud: FakeCloud, hexid: str, online: bool = True) -> None:
    """Block until the cloud has the device in this online state (an event wait, no polling)."""
    reached = threading.Event()

    def listener(event: Event) -> None:
        if isinstance(event, OnlineChanged) and event.device == hexid and event.online == online:
            reached.set()

    cloud.backend.subscribe(listener)
    try:
        device = cloud.backend.devices.get(hexid)
        if device is not None and device.online == online:
            return
        assert reached.wait(TIMEOUT), f"{hexid} never became {'online' if online else 'offline'}"
    finally:
        cloud.backend.unsubscribe(listener)
