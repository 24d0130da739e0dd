"""The HTTP fast path answers exactly what the Flask view answers (status line, headers, body),
request by request, on two identical devices fed the same sequence; it steps aside (None) for
everything that is not a plain GET."""

from __future__ import annotations

import base64
import io
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from emulator.clock import ManualClock
from emulator.runtime import DeviceHost, Runtime
from emulator.transports.http.app import fast_answer
from emulator.transports.net import free_loopback_address

PATHS = [
    "/shelly", "/status", "/settings", "/settings/relay/0", "/relay/0", "/relay/9", "/meter/0",
    "/nope", "/settings/login", "/settings/cloud", "/status/", "//status", "/relay/0/", "/",
]  # fmt: skip
QUERIES = [
    "", "turn=on", "turn=toggle&timer=5", "turn=bogus", "name=Kitchen+Light", "name=K%C3%BCche",
    "name=a&name=b", "a", "&&turn=off", "name=%zz", "name=\xe9", "turn=on;x=1", "timer=5",
    "auto_off=30&btn_type=momentary", "default_state=last", "name=",
]  # fmt: skip
AUTH = [None, "admin:pw", "admin:wrong", "!!!"]


def _environ(host: DeviceHost, method: str, path: str, query: str, auth: str | None) -> Any:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": host.ip,
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": "0",
        "shelly_emu.host": host,
    }
    if auth is not None:
        token = base64.b64encode(auth.encode()).decode() if ":" in auth else auth
        environ["HTTP_AUTHORIZATION"] = f"Basic {token}"
    return environ


def _flask(host: DeviceHost, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    started: list[Any] = []
    body = b"".join(host.runtime.app.wsgi_app(environ, lambda s, h, e=None: started.extend([s, h])))
    return started[0], list(started[1]), body


@pytest.fixture(params=[None, ("admin", "pw")], ids=["open", "login"])
def twins(request: pytest.FixtureRequest) -> Iterator[tuple[DeviceHost, DeviceHost]]:
    """Two identical devices (same MAC, address and clock) in two runtimes; the test calls
    them from its own thread while their loops sit idle (no traffic reaches their sockets)."""
    ip = free_loopback_address()
    runtimes = [Runtime(ManualClock()).start(), Runtime(ManualClock()).start()]
    hosts = [
        rt.add_device("SHSW-1", ip=ip, http_port=0, mac="349454A1B2C3", login=request.param)
        for rt in runtimes
    ]
    yield hosts[0], hosts[1]
    for runtime in runtimes:
        runtime.stop()


def test_fast_path_answers_exactly_as_flask(twins: tuple[DeviceHost, DeviceHost]) -> None:
    flask_host, fast_host = twins
    fast_used = 0
    for path in PATHS:
        for query in QUERIES:
            for auth in AUTH:
                expected = _flask(flask_host, _environ(flask_host, "GET", path, query, auth))
                answer = fast_answer(_environ(fast_host, "GET", path, query, auth))
                if answer is None:  # not plain: the server hands it to Flask
                    answer = _flask(fast_host, _environ(fast_host, "GET", path, query, auth))
                else:
                    fast_used += 1
                assert answer == expected, (path, query, auth)
    assert fast_used > len(PATHS) * len(AUTH) * 8  # the common requests took the fast path


@pytest.mark.parametrize("method", ["POST", "HEAD", "PUT", "OPTIONS"])
def test_other_methods_go_through_flask(twins: tuple[DeviceHost, DeviceHost], method: str) -> None:
    assert fast_answer(_environ(twins[0], method, "/status", "", None)) is None
