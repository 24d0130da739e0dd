"""The quick lane: one device's answers to plain GETs straight from the request line, as bytes.

The server tries it before building a WSGI environ (server.Quick). It answers what
``app.fast_answer`` answers, byte for byte on the wire, and steps aside (None) for the same
requests. /status and /shelly without a query are rendered once per ``Device.still_key`` (state
revision plus the whole second of the clock fields) and their bytes reused until the key moves,
so a client polling a device many times a second costs no render and no JSON encoding per request,
and every field (time, unixtime, uptime...) still reads as it would at that second.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .app import answer, is_plain, plain_params, reason, refusal

if TYPE_CHECKING:
    from ...core.clock import Now
    from ..hosting import Host

__all__ = ["QuickLane", "wire_head"]

#: An answer as the server writes it: (status code, head without the Connection line, body).
type Wire = tuple[int, bytes, bytes]

#: Resources whose answers depend on nothing but state and the clock's whole seconds.
_REUSABLE = frozenset({"/status", "/shelly"})


def wire_head(status: int, content_type: str, headers: list[tuple[str, str]], length: int) -> bytes:
    """Status line and headers as server.HttpConnection writes a fast answer's, up to (without)
    its Connection line."""
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return (
        f"HTTP/1.1 {status} {reason(status)}\r\n{extra}"
        f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n"
    ).encode("latin-1")


def _wire(status: int, content_type: str, text: str, headers: list[tuple[str, str]]) -> Wire:
    data = text.encode()
    return status, wire_head(status, content_type, headers, len(data)), data


class QuickLane:
    """Answers one device's plain GETs (server.Quick), reusing /status and /shelly bytes."""

    __slots__ = ("_reused", "host")

    def __init__(self, host: Host) -> None:
        self.host = host
        #: Path -> (device, still key, head, body) of its last reusable answer.
        self._reused: dict[str, tuple[Any, tuple[int, int, int], bytes, bytes]] = {}

    def __call__(
        self, method: str, path: str, query: str, authorization: str | None
    ) -> Wire | None:
        if method != "GET" or not is_plain(path, query):
            return None
        host = self.host
        if query or path not in _REUSABLE:
            return _wire(*answer(host, path[1:], plain_params(query), authorization))
        refused = refusal(host, path[1:], authorization)
        if refused is not None:
            return _wire(*refused)
        device = host.device
        kept = self._reused.get(path)
        if kept is not None and kept[0] is device and kept[1] == device.still_key(host.now()):
            return 200, kept[2], kept[3]

        def render(now: Now) -> tuple[Any, tuple[int, int, int] | None]:
            return device.call(path[1:], {}, now), device.still_key(now)

        body, key = host.act(render)
        data = json.dumps(body).encode()
        head = wire_head(200, "application/json", [], len(data))
        if key is not None:
            self._reused[path] = (device, key, head, data)
        return 200, head, data
