"""Serve a WSGI (Flask) app from uvicorn, running each request in a small thread pool.

Why a pool rather than calling Flask inline on the loop (DESIGN principle 2): the cloud's views
may block on purpose — a consent grant waits for the integrator's callback, with retries, and
fault injection sleeps — and the event loop also carries every WebSocket. Uvicorn's own WSGI
adapter is deprecated and a2wsgi is not available, hence these few lines.
"""

import asyncio
import io
import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["WsgiBridge"]

type Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Any]


#: Called with the ASGI scope of a request refused for its size (the cloud records it).
type Refused = Callable[[dict[str, Any], int], None]


class WsgiBridge:
    """An ASGI 3 app wrapping a WSGI app; the body is buffered (the cloud's answers are small)
    up to ``max_body`` bytes: a request that declares or sends more is answered 413 unread."""

    def __init__(
        self,
        app: Wsgi,
        executor: ThreadPoolExecutor,
        max_body: int = 1024 * 1024,
        refused: Refused | None = None,
    ) -> None:
        self._app = app
        self._executor = executor
        self._max_body = max_body
        self._refused = refused

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self._max_body:
            await self._too_large(scope, send)
            return
        chunks = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._max_body:
                await self._too_large(scope, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        environ = _environ(scope, b"".join(chunks))
        loop = asyncio.get_running_loop()
        status, headers, body = await loop.run_in_executor(self._executor, self._run, environ)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _too_large(self, scope: dict[str, Any], send: Any) -> None:
        if self._refused is not None:
            self._refused(scope, 413)
        body = json.dumps(
            {"isok": False, "errors": {"too_large": f"request body over {self._max_body} bytes"}}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _run(self, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        started: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            started["status"] = int(status.split(" ", 1)[0])
            started["headers"] = [
                (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers
            ]
            return lambda data: None

        result = self._app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return started["status"], started["headers"], body


def _environ(scope: dict[str, Any], body: bytes) -> dict[str, Any]:
    server = scope.get("server") or ("localhost", 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "REMOTE_ADDR": (scope.get("client") or ("", 0))[0],
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        key = name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ
