"""Device HTTP limits over real sockets (issue 18): oversized lines, heads and bodies are refused
at once with 414/431/413 and a close, slow and idle connections are timed out, a client that
does not read its answers is not buffered without bound, and the device keeps serving.

The abusive clients are raw sockets (a hostile client is no library); every wait is bounded.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from emulator.core.clock import ManualClock
from emulator.runtime import DeviceHost, Runtime
from emulator.transports.http.limits import (
    DEFAULT_LIMITS,
    HttpLimits,
    LimitError,
    parse_limit_options,
)
from emulator.transports.net import free_loopback_address

WAIT = 10.0


@pytest.fixture
def limited() -> Iterator[Callable[..., DeviceHost]]:
    """A device on a runtime of its own with the given limits."""
    runtimes: list[Runtime] = []

    def make(model: str = "SHSW-1", **limits: Any) -> DeviceHost:
        runtime = Runtime(ManualClock(), limits=HttpLimits(**limits)).start()
        runtimes.append(runtime)
        return runtime.add_device(model, ip=free_loopback_address(0), http_port=0)

    yield make
    for runtime in runtimes:
        runtime.stop()


def connect(host: DeviceHost, rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(WAIT)
    sock.connect((host.ip, host.http_port))
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (bounded by WAIT per read and 64 MB)."""
    data = b""
    while len(data) < 64 << 20:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def still_serves(host: DeviceHost) -> None:
    assert requests.get(f"{host.url}/shelly", timeout=WAIT).status_code == 200


def test_defaults_are_those_of_robust_servers() -> None:
    assert (DEFAULT_LIMITS.max_line, DEFAULT_LIMITS.max_head) == (8192, 16384)
    assert DEFAULT_LIMITS.keep_alive_timeout > 15  # longer than aiohttp's pool: no reuse race


def test_long_request_line_gets_414_and_a_close(limited) -> None:
    host = limited()
    sock = connect(host)
    sock.sendall(b"GET /status?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = read_until_closed(sock)
    assert status_of(answer) == 414
    assert b"Connection: close" in answer
    record = host.runtime.request_log.select()[-1]
    assert (record.status, record.path, record.query) == (414, "/status", "")
    still_serves(host)


def test_long_header_line_gets_431(limited) -> None:
    host = limited()
    sock = connect(host)
    sock.sendall(b"GET /shelly HTTP/1.1\r\nX-Big: " + b"h" * 9000 + b"\r\n\r\n")
    assert status_of(read_until_closed(sock)) == 431
    still_serves(host)


def test_200_headers_of_8_kb_get_431_not_200(limited) -> None:
    """The issue's case: 200 headers of 8 KB were answered 200."""
    host = limited()
    sock = connect(host)
    head = b"GET /shelly HTTP/1.1\r\n" + b"X-Big: " + b"h" * 8000 + b"\r\n"
    sock.sendall(head)
    try:
        for _ in range(199):
            sock.sendall(b"X-Big: " + b"h" * 8000 + b"\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # refused and closed before the client finished: what we want
    answer = read_until_closed(sock)
    assert answer == b"" or status_of(answer) == 431
    still_serves(host)


def test_head_over_max_head_gets_431(limited) -> None:
    host = limited(max_head=4096, max_line=1024)
    sock = connect(host)
    sock.sendall(b"GET /shelly HTTP/1.1\r\n" + b"X-A: " + b"a" * 900 + b"\r\n" * 1)
    sock.sendall(b"".join(b"X-%d: %s\r\n" % (i, b"b" * 900) for i in range(6)) + b"\r\n")
    assert status_of(read_until_closed(sock)) == 431


def test_body_over_the_limit_gets_413_before_it_is_sent(limited) -> None:
    """Content-Length of 50 MB is refused at the head: the client has sent no body byte yet."""
    host = limited()
    sock = connect(host)
    sock.sendall(b"POST /settings HTTP/1.1\r\nHost: x\r\nContent-Length: 52428800\r\n\r\n")
    answer = read_until_closed(sock)
    assert status_of(answer) == 413
    assert answer.endswith(b"request body too large")
    still_serves(host)


def test_chunked_body_over_the_limit_gets_413(limited) -> None:
    host = limited(max_body=10_000)
    sock = connect(host)
    sock.sendall(b"POST /settings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    try:
        for _ in range(20):
            sock.sendall(b"3e8\r\n" + b"x" * 1000 + b"\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    answer = read_until_closed(sock)
    assert answer == b"" or status_of(answer) == 413


def test_body_within_the_limit_is_served(limited) -> None:
    host = limited(max_body=1000)
    answer = requests.post(f"{host.url}/settings", data={"name": "Porch"}, timeout=WAIT)
    assert answer.status_code == 200


def test_bare_crlf_flood_is_answered_400_and_closed(limited) -> None:
    """The issue's case: 1 MB of bare CRLF hung the connection with no answer and no close."""
    host = limited()
    sock = connect(host)
    sock.sendall(b"\r\n" * 16_000)  # 32 KB: over the 16 KB head, within the socket buffers
    answer = read_until_closed(sock)
    assert status_of(answer) == 400
    still_serves(host)


def test_slowloris_head_gets_408_and_a_close(limited) -> None:
    host = limited(header_timeout=0.5)
    sock = connect(host)
    sock.sendall(b"GET /shelly HTTP/1.1\r\n")
    answer = b""
    for _ in range(100):  # one header line every 0.1 s, never the blank line
        try:
            sock.sendall(b"X-a: b\r\n")
        except (BrokenPipeError, ConnectionResetError):
            break
        sock.settimeout(0.1)
        try:
            answer = sock.recv(65536)
        except TimeoutError:
            continue
        break
    assert status_of(answer) == 408
    sock.settimeout(WAIT)
    assert read_until_closed(sock) == answer[len(answer) :]
    still_serves(host)


def test_slow_body_gets_408(limited) -> None:
    host = limited(body_timeout=0.3)
    sock = connect(host)
    sock.sendall(b"POST /settings HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nname=")
    assert status_of(read_until_closed(sock)) == 408


def test_idle_keep_alive_connection_is_closed(limited) -> None:
    host = limited(keep_alive_timeout=0.3)
    sock = connect(host)
    sock.sendall(b"GET /shelly HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = read_until_closed(sock)  # the answer, then the close after 0.3 s idle
    assert status_of(answer) == 200
    assert answer.count(b"HTTP/1.1") == 1


def test_silent_new_connection_is_closed_without_an_answer(limited) -> None:
    host = limited(header_timeout=0.3)
    sock = connect(host)
    assert read_until_closed(sock) == b""


def test_keep_alive_connection_serves_many_requests(limited) -> None:
    host = limited()
    with requests.Session() as session:
        for _ in range(20):
            assert session.get(f"{host.url}/status", timeout=WAIT).status_code == 200
    assert len(host.runtime.connections) <= 1


def test_client_that_reads_no_answers_is_not_buffered(limited) -> None:
    """Pipelined requests from a client that reads nothing: the device stops reading them once
    its answers back up (flow control), then answers every one, in order, as the client reads."""
    host = limited()
    count = 5000
    sock = connect(host, rcvbuf=4096)
    request = b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n"
    sock.settimeout(0.5)
    sent = 0
    try:
        while sent < count:
            sock.sendall(request)
            sent += 1
    except TimeoutError:
        pass  # the device stopped reading: the kernel buffers are full
    runtime = host.runtime
    answered = -1
    for _ in range(50):  # until the device stops answering (it waits for the client)
        time.sleep(0.1)
        now = len(runtime.request_log)
        if now == answered:
            break
        answered = now
    buffered = runtime.call(
        lambda: [c.transport.get_write_buffer_size() for m in runtime.connections._owners.values()
                 for c in m if c.transport is not None]
    )  # fmt: skip
    assert answered < count
    assert max(buffered) < 1 << 20  # a slice's worth of answers over the high-water mark
    sock.settimeout(WAIT)
    sock.setblocking(True)
    rest = request * (count - sent)
    received = b""
    while rest or received.count(b"HTTP/1.1 200") < count:
        if rest:
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                rest = rest[sock.send(rest) :]
            sock.setblocking(True)
        sock.settimeout(WAIT)
        chunk = sock.recv(1 << 20)
        assert chunk, "closed before every answer came"
        received += chunk
    assert received.count(b"HTTP/1.1 200") == count


def test_limits_are_checked_with_their_name_and_range() -> None:
    with pytest.raises(LimitError, match="max_line: 10 is out of range 256"):
        HttpLimits(max_line=10)
    with pytest.raises(LimitError, match="unknown limit 'nope'; known: max_line"):
        DEFAULT_LIMITS.merged({"nope": 1})
    with pytest.raises(LimitError, match="keep_alive_timeout: 'soon' is not a number"):
        parse_limit_options(["keep_alive_timeout=soon"])
    limits = parse_limit_options(["keep_alive_timeout=5", "max_connections=4"])
    assert (limits.keep_alive_timeout, limits.max_connections) == (5.0, 4)
