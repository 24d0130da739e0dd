"""A small HTTP/1.1 server on the asyncio loop that calls a WSGI app inline.

Why not an off-the-shelf server: the handlers only touch in-memory state, so calling Flask on
the loop is the fastest safe option (DESIGN.md: ~8,200 req/s inline vs 3,700 through a thread
pool), and one listener per device must cost one descriptor and nothing per device in threads.
httptools (the parser uvicorn uses) does the parsing; keep-alive and ``Connection: close``
are both honoured (aiohttp keeps connections, pyShelly closes them: spec/clients.md pitfall 22).
"""

from __future__ import annotations

import asyncio
import io
import logging
import math
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast
from urllib.parse import unquote_to_bytes

import httptools

from .connections import Connections, reset
from .limits import DEFAULT_LIMITS, HttpLimits

__all__ = ["FastPath", "Gate", "HttpConnection", "Observer", "Quick", "bind_listener"]

logger = logging.getLogger(__name__)

type WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: Optional hook before a request is answered (fault injection: latency, drop, errors): returns
#: None to answer at once, or an awaitable resolving to True (answer), False (drop the
#: connection unanswered) or an HTTP status (answer that error instead).
type Gate = Callable[[], Awaitable[bool | int] | None]
#: Optional hook after a request was answered: (environ, status code, seconds it took).
type Observer = Callable[[dict[str, Any], int, float], None]
#: Optional shortcut tried before the WSGI app: (status, headers, body), or None to call the app.
type FastPath = Callable[[dict[str, Any]], tuple[str, list[tuple[str, str]], bytes] | None]
#: Optional shortcut tried first, without a WSGI environ: (method, path, query, Authorization)
#: -> (status code, head bytes up to the Connection line, body), or None to go the WSGI way.
type Quick = Callable[[str, str, str, str | None], tuple[int, bytes, bytes] | None]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    500: "Error",
}


def bind_listener(host: str, port: int) -> socket.socket:
    """A non-blocking TCP listener; IPPROTO_TCP explicitly (DESIGN.md: Nagle + delayed ACK)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing a request the limits refuse."""


#: Bytes parsed at a time: answers are checked for back-pressure between slices, so a client
#: pipelining requests without reading the answers gets at most a slice's worth buffered.
_SLICE = 4096
#: The loop's clock (BaseEventLoop.time() is time.monotonic()), without a method call.
_now = time.monotonic
_KEEP_ALIVE = b"Connection: keep-alive\r\n\r\n"
_CLOSE = b"Connection: close\r\n\r\n"
#: Phases of a connection; each has its own timeout (HttpLimits).
_IDLE, _HEAD, _BODY, _ANSWERING, _CLOSED = range(5)


class HttpConnection(asyncio.Protocol):
    """One client connection: parse requests, run the WSGI app, write answers in order.

    Bounded as HttpLimits says: a request line or header line over ``max_line`` is answered
    414/431, a head over ``max_head`` 431, a body over ``max_body`` 413 as soon as its
    Content-Length says so (or its chunks reach it), each with ``Connection: close``. Bytes that
    never start a request (a flood of bare CRLF) count against the head. A head not complete
    within ``header_timeout``, or a body within ``body_timeout``, gets 408 and a close; an idle
    keep-alive connection is closed after ``keep_alive_timeout``. While the transport's write
    buffer is over its high-water mark (a client that sends without reading), reading pauses.
    """

    def __init__(
        self,
        app: WsgiApp,
        environ_extra: dict[str, Any],
        gate: Gate | None = None,
        observer: Observer | None = None,
        fast: FastPath | None = None,
        *,
        limits: HttpLimits = DEFAULT_LIMITS,
        connections: Connections | None = None,
        owner: Any = None,
        quick: Quick | None = None,
    ):
        self.app = app
        self.environ_extra = environ_extra
        self.gate = gate
        self.observer = observer
        self.fast = fast
        self.quick = quick
        self.limits = limits
        self.connections = connections
        #: The device this connection belongs to (per-device connection counts).
        self.owner = owner
        #: Loop time at which the current phase times out (Connections sweeps it).
        self.deadline = math.inf
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._phase = _IDLE
        self._served = 0
        #: Raw bytes received since the last head completed (stray bytes before a request too).
        self._head_bytes = 0
        #: Bytes of the current head as parsed (url, header lines).
        self._head_size = 0
        self._refusal: tuple[int, bytes] | None = None
        self._waiting = False
        self._write_paused = False
        #: Bytes received while answers were paused, parsed once they resume.
        self._backlog = b""
        self._pending: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: The part of the WSGI environ that is the same for every request on this connection.
        self._base_environ: dict[str, Any] = {}

    # --- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's is not an asyncio.Transport subclass: no isinstance).
        transport = cast(asyncio.Transport, transport)
        self._loop = asyncio.get_running_loop()
        self.deadline = _now() + self.limits.header_timeout
        if self.connections is not None and not self.connections.admit(self):
            self._phase = _CLOSED
            reset(transport)
            return
        self.transport = transport
        # No TCP_NODELAY here: asyncio sets it on accepted sockets whose proto is IPPROTO_TCP,
        # which bind_listener guarantees (one syscall less per connection).
        local = transport.get_extra_info("sockname") or ("", 0)
        peer = transport.get_extra_info("peername") or ("", 0)
        self._base_environ = {
            "SCRIPT_NAME": "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "SERVER_NAME": local[0],
            "SERVER_PORT": str(local[1]),
            "REMOTE_ADDR": peer[0],
            **self.environ_extra,
        }

    def data_received(self, data: bytes) -> None:
        if self._phase == _CLOSED:
            return
        if self._backlog:  # still draining what arrived while paused
            self._backlog += data
            return
        if len(data) <= _SLICE and not (self._waiting or self._write_paused):  # the usual case
            self._feed(data)
            return
        view = memoryview(data)
        for start in range(0, len(data), _SLICE):
            if self._waiting or self._write_paused:
                # Answers wait (a fault's latency) or the client reads none: keep the rest for
                # later so pipelined requests neither overtake nor pile up answers.
                self._backlog = bytes(view[start:])
                return
            if not self._feed(view[start : start + _SLICE]):
                return

    def _feed(self, data: bytes | memoryview) -> bool:
        """Parse one slice; False once the connection is refused."""
        if self._phase <= _HEAD:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400, b"upgrade not supported")
            return False
        except httptools.HttpParserError:
            self._refuse(*(self._refusal or (400, b"malformed request")))
            return False
        if self._phase <= _HEAD and self._head_bytes > self.limits.max_head:
            if self._phase == _IDLE:
                self._refuse(400, b"no request in the bytes sent")
            else:
                self._refuse(431, b"request head too large")
            return False
        return self._phase != _CLOSED

    def _drain_backlog(self) -> None:
        data, self._backlog = self._backlog, b""
        if data and self._phase != _CLOSED:
            self.data_received(data)
        self._follow_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._phase = _CLOSED
        if self.connections is not None:
            self.connections.release(self)

    def pause_writing(self) -> None:
        """The client is not reading its answers: stop reading its requests meanwhile."""
        self._write_paused = True
        self._follow_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._follow_reading()

    def _follow_reading(self) -> None:
        if self.transport is None:
            return
        if self._waiting or self._write_paused:
            self.transport.pause_reading()
        elif self._backlog:
            self._loop.call_soon(self._drain_backlog)  # type: ignore[union-attr]
        else:
            self.transport.resume_reading()

    # --- Connections (the registry) ------------------------------------------------------------

    @property
    def evictable(self) -> bool:
        """Not being answered: idle, or still sending its request."""
        return self._phase != _ANSWERING

    def expire(self) -> None:
        """The current phase timed out: 408 to a request still coming, a close to an idle one."""
        if self._phase in (_HEAD, _BODY):
            self._refuse(408, b"request timeout")
        else:
            self.reclaim()

    def reclaim(self) -> None:
        """Close now (budget pressure): gently when nothing is left to write."""
        self._phase = _CLOSED
        if self.transport is not None:
            if self.transport.get_write_buffer_size():
                self.transport.abort()
            else:
                self.transport.close()

    # --- httptools callbacks ---------------------------------------------------------------

    def _reject(self, status: int, message: bytes) -> None:
        self._refusal = (status, message)
        raise _Refused(message.decode())

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._body = []
        self._size = 0
        self._head_size = 0
        if self._phase == _IDLE:
            self._phase = _HEAD
            limit = self.limits.header_timeout + _now()
            # A fresh connection keeps the deadline it got when it opened.
            self.deadline = min(self.deadline, limit) if self._served == 0 else limit

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > self.limits.max_line:
            self._reject(414, b"request line too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value) + 4
        if size > self.limits.max_line:
            self._reject(431, b"header line too long")
        self._head_size += size
        if self._head_size + len(self._url) > self.limits.max_head:
            self._reject(431, b"request head too large")
        if (
            len(name) == 14
            and name.lower() == b"content-length"
            and value.strip().isdigit()
            and int(value) > self.limits.max_body
        ):  # refused before any of the body is sent
            self._reject(413, b"request body too large")
        self._headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        if self._phase == _HEAD:  # the head is in: the body has its own timeout
            self._phase = _BODY
            self._head_bytes = 0
            self.deadline = _now() + self.limits.body_timeout
        self._size += len(body)
        if self._size > self.limits.max_body:
            self._reject(413, b"request body too large")
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._head_bytes = 0
        self._phase = _ANSWERING
        self.deadline = math.inf
        started = time.perf_counter()
        keep_alive = self.parser.should_keep_alive()
        waiting = self.gate() if self.gate is not None else None
        if waiting is None and self.quick is not None and self._answer_quick(started, keep_alive):
            return
        environ = self._environ()
        environ["shelly_emu.started"] = started
        if waiting is not None:
            self._waiting = True
            self._follow_reading()
            self._pending = asyncio.ensure_future(self._answer_later(waiting, environ, keep_alive))
            return
        self._answer(environ, keep_alive)

    def _answer_quick(self, started: float, keep_alive: bool) -> bool:
        """Answer through ``quick`` when it takes the request; False to go the WSGI way."""
        url = self._url
        if self._body or url[:1] != b"/" or b"#" in url or self.parser.get_method() != b"GET":
            return False
        path, _, query = url.decode("latin-1").partition("?")
        authorization = None
        for name, value in self._headers:  # the last one wins, as in the environ
            if len(name) == 13 and name.lower() == b"authorization":
                authorization = value.decode("latin-1")
        try:
            answer = self.quick("GET", path, query, authorization)  # type: ignore[misc]
        except Exception:  # as in _answer: a bug answers 500
            logger.exception("unhandled error answering %s", path)
            self._reply_error(500, b"internal error")
            self._observe(self._summary(path, query, started), 500)
            return True
        if answer is None:
            return False
        status, head, body = answer
        if self.transport is not None:
            self.transport.write(head + (_KEEP_ALIVE if keep_alive else _CLOSE) + body)
            self._written(keep_alive)
        if self.observer is not None:
            self._observe(self._summary(path, query, started), status)
        return True

    def _summary(self, path: str, query: str, started: float) -> dict[str, Any]:
        """The environ an observer gets for a quick answer (no headers, no body)."""
        environ = self._base_environ.copy()
        environ["REQUEST_METHOD"] = "GET"
        environ["PATH_INFO"] = path
        environ["QUERY_STRING"] = query
        environ["shelly_emu.started"] = started
        return environ

    async def _answer_later(
        self, waiting: Awaitable[bool | int], environ: dict[str, Any], keep_alive: bool
    ) -> None:
        answer = await waiting
        if self.transport is None:
            return
        if answer is False:
            self.transport.abort()
            self._observe(environ, 0)
            return
        self._waiting = False
        self._follow_reading()
        if answer is True:
            self._answer(environ, keep_alive)
        else:
            self._reply_error(int(answer), b"injected fault", keep_alive)
            self._observe(environ, int(answer))

    # --- WSGI --------------------------------------------------------------------------------

    def _environ(self) -> dict[str, Any]:
        url = httptools.parse_url(self._url)
        body = b"".join(self._body)
        environ = self._base_environ.copy()
        environ["REQUEST_METHOD"] = self.parser.get_method().decode("latin-1")
        environ["PATH_INFO"] = _unquote(url.path or b"/")
        environ["QUERY_STRING"] = (url.query or b"").decode("latin-1")
        environ["SERVER_PROTOCOL"] = "HTTP/" + self.parser.get_http_version()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        for name, value in self._headers:
            key = name.decode("latin-1").upper().replace("-", "_")
            text = value.decode("latin-1")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = text
            elif key != "CONTENT_LENGTH":
                environ["HTTP_" + key] = text
        return environ

    def _answer(self, environ: dict[str, Any], keep_alive: bool) -> None:
        if self.fast is not None:
            try:
                answer = self.fast(environ)
            except Exception:  # as below: a bug answers 500
                logger.exception("unhandled error answering %s", environ.get("PATH_INFO"))
                self._reply_error(500, b"internal error")
                self._observe(environ, 500)
                return
            if answer is not None:
                status, response_headers, data = answer
                self._write(status, response_headers, data, keep_alive)
                self._observe(environ, int(status[:3]))
                return
        status_line: list[str] = []
        headers: list[tuple[str, str]] = []

        def start_response(
            status: str, response_headers: list[tuple[str, str]], exc_info: Any = None
        ) -> None:
            status_line[:] = [status]
            headers[:] = response_headers

        try:
            chunks = self.app(environ, start_response)
            body = b"".join(chunks)
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        except Exception:  # a bug must answer 500, never kill the connection loop
            logger.exception("unhandled error answering %s", environ.get("PATH_INFO"))
            self._reply_error(500, b"internal error")
            self._observe(environ, 500)
            return
        if environ["REQUEST_METHOD"] == "HEAD":
            body = b""
        self._write(status_line[0], headers, body, keep_alive)
        self._observe(environ, int(status_line[0][:3]))

    def _observe(self, environ: dict[str, Any], status: int) -> None:
        if self.observer is not None:
            self.observer(environ, status, time.perf_counter() - environ["shelly_emu.started"])

    def _write(
        self, status: str, headers: list[tuple[str, str]], body: bytes, keep_alive: bool
    ) -> None:
        if self.transport is None:
            return
        head = "".join(
            f"{name}: {value}\r\n" for name, value in headers if name.lower() != "content-length"
        )
        connection = "keep-alive" if keep_alive else "close"
        self.transport.write(
            f"HTTP/1.1 {status}\r\n{head}Content-Length: {len(body)}\r\n"
            f"Connection: {connection}\r\n\r\n".encode("latin-1")
            + body
        )
        self._written(keep_alive)

    def _written(self, keep_alive: bool) -> None:
        """An answer is out: close, or wait for the next request."""
        assert self.transport is not None
        if not keep_alive:
            self._phase = _CLOSED
            self.transport.close()
        elif self._phase == _ANSWERING:
            self._phase = _IDLE
            self._served += 1
            self.deadline = _now() + self.limits.keep_alive_timeout
            if self.connections is not None:
                self.connections.touch(self)

    def _refuse(self, status: int, message: bytes) -> None:
        """Answer a request the limits refuse (or a malformed one) and close the connection."""
        if self._phase == _CLOSED or self.transport is None:
            return
        self._reply_error(status, message)
        if self.observer is not None and status != 400:
            environ = self._base_environ.copy()
            environ["REQUEST_METHOD"] = ""
            path = self._url[: self.limits.max_line].partition(b"?")[0]
            environ["PATH_INFO"] = path.decode("latin-1")
            environ["QUERY_STRING"] = ""
            environ["shelly_emu.started"] = time.perf_counter()
            self._observe(environ, status)

    def _reply_error(self, status: int, message: bytes, keep_alive: bool = False) -> None:
        reason = _REASONS.get(status, "Error")
        self._write(f"{status} {reason}", [("Content-Type", "text/plain")], message, keep_alive)


def _unquote(path: bytes) -> str:
    if b"%" in path:
        path = unquote_to_bytes(path)
    return path.decode("latin-1")
