"""A small test double of a Gen1 device, built from real captures, with faults to switch on.

It serves /shelly, /settings, /status, /relay/N, /settings/relay/N, /meter/N and /cit/d over
HTTP and answers CoAP GET /cit/d and /cit/s; with a peer it also publishes 0.30 status packets.
It only knows what the conformance tests need, so that each fault breaks exactly one check.
"""

from __future__ import annotations

import copy
import json
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiocoap import ACK, CON, NON, Message
from aiocoap.numbers.codes import Code
from aiocoap.optiontypes import OpaqueOption
from flask import Flask, Response, request
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.datafiles import CAPTURES, COIOT_PAYLOADS

from .captures import unredact

FAULTS = {
    "wrong_type": "/status uptime is a string",
    "missing_key": "/status has no cloud",
    "ok_for_bad_param": "/relay/0?turn=bogus answers 200",
    "server_error": "/relay/0 without parameters answers 500",
    "wrong_content_type": "/status is served as text/html",
    "auth_hole": "/status is readable without credentials",
    "status_lags": "/status keeps showing the relays as they were at start",
    "keeps_bad_value": "/settings/relay/0?default_state=bogus is stored and answered 400",
}
TRUE_WORDS = {"1", "y", "Y", "t", "T"}  # and "true" in any case (seed 003 'HTTP dialect')


@dataclass(frozen=True)
class Model:
    """Which captures make up the double, and its CoIoT status ids."""

    shelly: str
    settings: str
    status: str
    cit_d: str
    coiot: dict[int, Callable[[dict[str, Any]], Any]]


def _ison(s: dict[str, Any]) -> int:
    return int(s["relays"][0]["ison"])


MODELS = {
    "SHSW-1": Model(
        "SHSW-1/shelly__1.json",
        "SHSW-1/settings__3.json",
        "SHSW-1/status__3.json",
        "SHSW-1_citd.json",
        {9103: lambda s: s["cfg_changed_cnt"], 1101: _ison, 2101: lambda s: 0},
    ),
    "SHPLG-S": Model(
        "SHPLG-S/shelly__1.json",
        "SHPLG-S/settings__3.json",
        "SHPLG-S/status__3.json",
        "SHPLG-S_citd.json",
        {9103: lambda s: s["cfg_changed_cnt"], 1101: _ison, 4101: lambda s: 0.0},
    ),
}


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """Tests read results from the tester, not from an access log."""


def random_loopback() -> str:
    """A random 127.x.y.z (never 127.0.0.1): other suites share this machine."""
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def free_udp_address() -> tuple[str, int]:
    """A random loopback address with a UDP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((random_loopback(), 0))
        host, port = sock.getsockname()
        return host, port


def _text(message: str, status: int) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")


def _json(doc: Any, mimetype: str = "application/json") -> Response:
    return Response(json.dumps(doc), mimetype=mimetype)


@dataclass
class Double:
    """One running double: ``url``, ``coap_port``; ``stop()`` when done."""

    model: str = "SHSW-1"
    faults: frozenset[str] = frozenset()
    login: tuple[str, str] | None = None
    peer: tuple[str, int] | None = None
    host: str = field(default_factory=random_loopback)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        assert self.faults <= FAULTS.keys(), self.faults - FAULTS.keys()
        spec = MODELS[self.model]

        def load(path: Path) -> Any:
            return unredact(json.loads(path.read_text()))

        self.shelly = load(CAPTURES / spec.shelly)
        self.settings = load(CAPTURES / spec.settings)
        self.status = load(CAPTURES / spec.status)
        self.cit_d = load(COIOT_PAYLOADS / spec.cit_d)
        mac = "".join(random.choice("0123456789ABCDEF") for _ in range(12))
        self.shelly["mac"] = self.status["mac"] = self.settings["device"]["mac"] = mac
        self.settings["device"]["hostname"] = self.settings["device"]["hostname"][:-12] + mac
        self.settings["coiot"]["update_period"] = 1
        self.status["wifi_sta"]["ip"] = self.host
        self.shelly["auth"] = self.settings["login"]["enabled"] = self.login is not None
        self.relays_at_start = copy.deepcopy(self.status["relays"])
        self.mid = random.randrange(0x10000)
        self._stop = threading.Event()
        self._http = make_server(
            self.host, 0, self._app(), threaded=True, request_handler=_QuietHandler
        )
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind((self.host, 0))
        self._threads = [
            threading.Thread(target=self._http.serve_forever, daemon=True),
            threading.Thread(target=self._serve_coap, daemon=True),
        ]
        if self.peer is not None:
            self._threads.append(threading.Thread(target=self._publish_periodically, daemon=True))
        for t in self._threads:
            t.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._http.server_port}"

    @property
    def coap_port(self) -> int:
        return int(self._udp.getsockname()[1])

    def stop(self) -> None:
        self._stop.set()
        self._http.shutdown()
        self._udp.sendto(b"", self._udp.getsockname())  # wakes the CoAP thread up
        for t in self._threads:
            t.join(timeout=5)
        self._udp.close()
        self._http.server_close()

    # ------------------------------------------------------------------------------- HTTP
    def _app(self) -> Flask:
        app = Flask(f"double-{self.model}")

        @app.before_request
        def auth() -> Response | None:
            if self.login is None or request.path == "/shelly":
                return None
            if "auth_hole" in self.faults and request.path == "/status":
                return None
            creds = request.authorization
            if creds is None or (creds.username, creds.password) != self.login:
                return _text("401 Unauthorized", 401)
            return None

        @app.errorhandler(404)
        def not_found(_: Exception) -> Response:
            return _text("404 Not Found", 404)

        @app.route("/shelly")
        def shelly() -> Response:
            return _json(self.shelly)

        @app.route("/settings")
        def settings() -> Response:
            return self._settings(request.args)

        @app.route("/status")
        def status() -> Response:
            doc = copy.deepcopy(self.status)
            if "wrong_type" in self.faults:
                doc["uptime"] = str(doc["uptime"])
            if "missing_key" in self.faults:
                del doc["cloud"]
            if "status_lags" in self.faults:
                doc["relays"] = self.relays_at_start
            mimetype = "text/html" if "wrong_content_type" in self.faults else "application/json"
            return _json(doc, mimetype)

        @app.route("/relay/<int:i>")
        def relay(i: int) -> Response:
            return self._relay(i, request.args)

        @app.route("/settings/relay/<int:i>")
        def settings_relay(i: int) -> Response:
            return self._settings_relay(i, request.args)

        @app.route("/meter/<int:i>")
        def meter(i: int) -> Response:
            meters = self.status.get("meters", [])
            return _json(meters[i]) if i < len(meters) else _text("Bad meter index!", 404)

        @app.route("/cit/d")
        def cit_d() -> Response:
            return _json(self.cit_d)

        return app

    def _settings(self, args: Any) -> Response:
        with self.lock:
            before = json.dumps(self.settings, sort_keys=True)
            if "max_power" in args:
                try:
                    value = float(args["max_power"])
                except ValueError:
                    value = -1
                if value < 0 or "max_power" not in self.settings:
                    return _text("Bad max_power!", 400)
                self.settings["max_power"] = int(value)
            if "discoverable" in args:
                word = args["discoverable"]
                self.settings["discoverable"] = word in TRUE_WORDS or word.lower() == "true"
            if json.dumps(self.settings, sort_keys=True) != before:
                self.status["cfg_changed_cnt"] += 1
                self._changed()
            return _json(self.settings)

    def _relay(self, i: int, args: Any) -> Response:
        relays = self.status["relays"]
        if i >= len(relays):
            return _text("Bad relay index!", 404)
        if not args and "server_error" in self.faults:
            return _text("500 Internal Server Error", 500)
        turn = args.get("turn")
        if turn is not None and turn not in ("on", "off", "toggle"):
            if "ok_for_bad_param" not in self.faults:
                return _text("Bad turn!", 400)
        elif turn is not None:
            with self.lock:
                ison = not relays[i]["ison"] if turn == "toggle" else turn == "on"
                if ison != relays[i]["ison"]:
                    relays[i]["ison"] = self.settings["relays"][i]["ison"] = ison
                    relays[i]["source"] = "http"
                    self._changed()
        return _json(relays[i])

    def _settings_relay(self, i: int, args: Any) -> Response:
        channels = self.settings["relays"]
        if i >= len(channels):
            return _text("Bad relay index!", 404)
        state = args.get("default_state")
        if state is not None:
            valid = state in ("off", "on", "last", "switch")
            if valid or "keeps_bad_value" in self.faults:
                with self.lock:
                    channels[i]["default_state"] = state
                    self.status["cfg_changed_cnt"] += 1
                    self._changed()
            if not valid:
                return _text("Bad default_state!", 400)
        return _json(channels[i])

    # ------------------------------------------------------------------------------ CoIoT
    def _changed(self) -> None:
        """Status changed (caller holds the lock): new serial, publish now (coiot.md 4.1)."""
        self.status["serial"] = self.status["serial"] % 65535 + 1
        if self.peer is not None:
            self._send(self._status_message(Code(30), NON, self._next_mid(), b""), self.peer)

    def _next_mid(self) -> int:
        self.mid = (self.mid + 1) % 0x10000
        return self.mid

    def _status_message(self, code: Code, mtype: Any, mid: int, token: bytes) -> Message:
        spec = MODELS[self.model]
        g = [[0, sid, value(self.status)] for sid, value in spec.coiot.items()]
        msg = self._message(code, mtype, mid, token, {"G": g})
        msg.opt.uri_path = ("cit", "s")
        msg.opt.add_option(OpaqueOption(3412, b"\x96\x00"))
        msg.opt.add_option(OpaqueOption(3420, self.status["serial"].to_bytes(2, "little")))
        return msg

    def _message(self, code: Code, mtype: Any, mid: int, token: bytes, body: Any) -> Message:
        msg = Message(code=code, payload=json.dumps(body, separators=(",", ":")).encode())
        msg.mtype, msg.mid, msg.token = mtype, mid, token
        devid = f"{self.model}#{self.shelly['mac']}#2"
        msg.opt.add_option(OpaqueOption(3332, devid.encode()))
        return msg

    def _send(self, msg: Message, address: tuple[str, int]) -> None:
        self._udp.sendto(msg.encode(), address)

    def _serve_coap(self) -> None:
        while not self._stop.is_set():
            raw, source = self._udp.recvfrom(2048)
            if self._stop.is_set():
                return
            try:
                req = Message.decode(raw)
            except ValueError:
                continue
            mtype = ACK if req.mtype == CON else NON
            with self.lock:
                if req.opt.uri_path == ("cit", "d"):
                    reply = self._message(Code.CONTENT, mtype, req.mid, req.token, self.cit_d)
                elif req.opt.uri_path == ("cit", "s"):
                    reply = self._status_message(Code.CONTENT, mtype, req.mid, req.token)
                else:
                    continue
            self._send(reply, source)

    def _publish_periodically(self) -> None:
        assert self.peer is not None
        while not self._stop.wait(0.2):
            with self.lock:
                msg = self._status_message(Code(30), NON, self._next_mid(), b"")
            self._send(msg, self.peer)
