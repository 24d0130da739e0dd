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
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

import httptools

__all__ = ["FastPath", "Gate", "HttpConnection", "Observer", "bind_listener"]

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

_MAX_BODY = 64 * 1024
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 500: "Error"}


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


class HttpConnection(asyncio.Protocol):
    """One client connection: parse requests, run the WSGI app, write answers in order."""

    def __init__(
        self,
        app: WsgiApp,
        environ_extra: dict[str, Any],
        gate: Gate | None = None,
        observer: Observer | None = None,
        fast: FastPath | None = None,
    ):
        self.app = app
        self.environ_extra = environ_extra
        self.gate = gate
        self.observer = observer
        self.fast = fast
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._pending: asyncio.Task[None] | None = None
        #: The part of the WSGI environ that is the same for every request on this connection.
        self._base_environ: dict[str, Any] = {}

    # --- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
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
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._reply_error(400, b"upgrade not supported")
        except httptools.HttpParserError:
            self._reply_error(400, b"malformed request")

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    # --- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._body = []
        self._size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size <= _MAX_BODY:
            self._body.append(body)

    def on_message_complete(self) -> None:
        if self._size > _MAX_BODY:
            self._reply_error(400, b"request body too large")
            return
        environ = self._environ()
        environ["shelly_emu.started"] = time.perf_counter()
        keep_alive = self.parser.should_keep_alive()
        if self.gate is not None:
            waiting = self.gate()
            if waiting is not None:
                self.transport.pause_reading() if self.transport else None
                self._pending = asyncio.ensure_future(
                    self._answer_later(waiting, environ, keep_alive)
                )
                return
        self._answer(environ, keep_alive)

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
        self.transport.resume_reading()
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
        if not keep_alive:
            self.transport.close()

    def _reply_error(self, status: int, message: bytes, keep_alive: bool = False) -> None:
        reason = _REASONS.get(status, "Error")
        self._write(f"{status} {reason}", [("Content-Type", "text/plain")], message, keep_alive)


def _unquote(path: bytes) -> str:
    if b"%" in path:
        path = unquote_to_bytes(path)
    return path.decode("latin-1")
