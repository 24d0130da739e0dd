"""Device link: how devices (the project's emulator, or a test's own fake device) reach the cloud.

This is OUR OWN protocol. Real Gen1 devices talk to Shelly Cloud over Shelly's private protocol,
which is not documented; this link stands in for it so that emulated devices drive the cloud's
events and obey its commands. Wire format (JSON text frames over a WebSocket to
`ws(s)://<server>:6113/device-link/<hexid>`, hexid = lowercase hex id, e.g. `b92cfa`):

device → cloud
    {"type":"hello","id":"b92cfa","code":"SHSW-1","gen":1,"mac":"A4CF12B92CFA","fw":"…",
     "name":…,"status":{Gen1 /status},"settings":{Gen1 /settings},
     "account":"owner@example.com"}   first frame, once; account optional: the device is
                                      registered to (or moved to) that user, as pairing does
    {"type":"status","status":{…}}        on every status change (full document)
    {"type":"settings","settings":{…}}    on every settings change (full document)
    {"type":"result","id":<n>,"code":200,"body":{…}}      answer to a call
    {"type":"result","id":<n>,"code":400,"error":"text"}  refusal of a call
cloud → device
    {"type":"call","id":<n>,"path":"/relay/0","params":{"turn":"on"}}  a Gen1 HTTP API call
    {"type":"error","error":"text"}       the device's last frame was not understood

The open link is the device's presence: hello ⇒ online, close ⇒ offline. A newer link for the
same id replaces the older one (closed with 4409). Close codes the cloud uses: 4400 bad hello,
4403 device set offline by the control plane, 4404 unknown account, 4408 no hello within 10 s,
4409 replaced, 4421 the account lives on another server (the reason names it).
"""

import asyncio
import itertools
import logging
from contextlib import suppress
from typing import Any, Protocol

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from fake_cloud.api.commands import Call
from fake_cloud.api.context import Services
from fake_cloud.api.sockets import Socket
from fake_cloud.state.backend import Backend, StateError
from fake_cloud.state.ids import normalize_hex
from fake_cloud.state.jsonwire import dumps, loads

__all__ = ["LinkHub", "LinkSession", "serve_link"]

HELLO_TIMEOUT = 10.0

logger = logging.getLogger(__name__)


class LinkHub(Protocol):
    """The hub as device links see it (ws.Hub is one): live links by hexid, socket registry."""

    services: Services
    links: dict[str, "LinkSession"]

    def register(self, conn: ServerConnection, kind: str, server: str, **extra: Any) -> Socket: ...

    def unregister(self, socket: Socket) -> None: ...

    def spawn(self, coro: Any) -> None: ...


class LinkError(Exception):
    """A device's call answer that is a refusal or never came; the message is for `res`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class LinkSession:
    """One live device link: outstanding calls, and status frames held back while a command
    is in flight so its CommandResponse goes out first (Policies.response_before_status)."""

    def __init__(self, hub: LinkHub, socket: Socket, hexid: str) -> None:
        self.hub = hub
        self.socket = socket
        self.hexid = hexid
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._busy = 0
        self._held: list[dict[str, Any]] = []

    async def call(self, call: Call, timeout: float) -> dict[str, Any]:
        """Send a call and wait for its answer body; the caller must `finish()` afterwards."""
        self._busy += 1
        call_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        try:
            await self._send(call.as_frame(call_id))
            result = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise LinkError("timeout", "device did not answer") from None
        except ConnectionClosed:
            raise LinkError("offline", "device link closed") from None
        finally:
            self._pending.pop(call_id, None)
        if result.get("code") != 200:
            raise LinkError("device", str(result.get("error") or f"code {result.get('code')}"))
        body = result.get("body")
        return body if isinstance(body, dict) else {}

    def finish(self) -> None:
        """The command's response is out: apply status frames held back for it."""
        self._busy -= 1
        if self._busy == 0:
            held, self._held = self._held, []
            for frame in held:
                self._apply(frame)

    def closed(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionClosed(None, None))

    async def _send(self, frame: dict[str, Any]) -> None:
        self.hub.services.recorder.add("link_out", socket=self.socket.id, frame=frame)
        await self.socket.conn.send(dumps(frame))

    def on_message(self, message: str | bytes) -> str | None:
        """Handle one frame from the device; returns an error text to send back, if any."""
        frame = _parse(message)
        if isinstance(frame, str):
            return frame
        self.hub.services.recorder.add("link_in", socket=self.socket.id, frame=frame)
        kind = frame.get("type")
        if kind == "result":
            call_id = frame.get("id")
            future = self._pending.get(call_id) if isinstance(call_id, int) else None
            if future is None or future.done():
                return f"no call with id {frame.get('id')!r} is waiting"
            future.set_result(frame)
            return None
        if kind not in ("status", "settings") or not isinstance(frame.get(kind), dict):
            return 'expected {"type":"status"|"settings"|"result", …}'
        if self._busy and kind == "status" and self.hub.services.policies.response_before_status:
            self._held.append(frame)
        else:
            self._apply(frame)
        return None

    def _apply(self, frame: dict[str, Any]) -> None:
        backend = self.hub.services.backend
        with suppress(StateError):  # the device was removed (reset) under a live link
            if frame["type"] == "status":
                backend.update_status(self.hexid, frame["status"])
            else:
                backend.update_settings(self.hexid, frame["settings"])


def _parse(message: str | bytes) -> dict[str, Any] | str:
    if isinstance(message, bytes):
        return "binary frames are not supported"
    try:
        frame = loads(message)
    except ValueError as exc:
        return f"frame is not valid JSON: {exc}"
    return frame if isinstance(frame, dict) else "frame must be a JSON object"


async def serve_link(hub: LinkHub, server: str, conn: ServerConnection, hexid: str) -> None:
    """Run one device link from hello to close."""
    hexid = normalize_hex(hexid)
    backend = hub.services.backend
    known = backend.devices.get(hexid)
    if known is not None and known.forced_offline:
        await conn.close(4403, "device is set offline")
        return
    try:
        first = await asyncio.wait_for(conn.recv(), HELLO_TIMEOUT)
    except TimeoutError:
        await conn.close(4408, "hello expected")
        return
    except ConnectionClosed:
        return
    hello = _parse(first)
    if (
        isinstance(hello, str)
        or hello.get("type") != "hello"
        or str(hello.get("id")).lower() != hexid
    ):
        with suppress(ConnectionClosed):
            await conn.send(dumps({"type": "error", "error": f"expected hello for {hexid}"}))
            await conn.close(4400, "bad hello")
        return
    if (refusal := _account_refusal(backend, hello.get("account"), server)) is not None:
        hub.services.recorder.add("link_refused", server=server, device=hexid, reason=refusal[1])
        with suppress(ConnectionClosed):
            await conn.close(*refusal)
        return
    socket = hub.register(conn, "device", server, device=hexid)
    session = LinkSession(hub, socket, hexid)
    hub.services.recorder.add("link_in", socket=socket.id, frame=hello)
    previous = hub.links.get(hexid)
    hub.links[hexid] = session
    if previous is not None:
        hub.spawn(previous.socket.conn.close(4409, "replaced by a newer link"))
    backend.link_up(hexid, hello, server)
    try:
        async for message in conn:
            try:
                error = session.on_message(message)
            except Exception as exc:  # a bug must not drop the device's link
                logger.exception("fake cloud: device link frame failed")
                hub.services.errors.append(exc)
                error = "internal error"
            if error is not None:
                hub.services.recorder.add("link_out", socket=socket.id, frame={"error": error})
                await conn.send(dumps({"type": "error", "error": error}))
    except ConnectionClosed:
        pass
    finally:
        session.closed()
        hub.unregister(socket)
        if hub.links.get(hexid) is session:
            del hub.links[hexid]
            with suppress(StateError):
                backend.link_down(hexid)


def _account_refusal(backend: Backend, account: Any, server: str) -> tuple[int, str] | None:
    """Why a hello's `account` cannot own the device here (close code, reason), or None."""
    if account is None:
        return None
    user = backend.user_by_email(str(account))
    if user is None:
        return 4404, f"no account {account}"
    if user.server != server:
        return 4421, f"account {account} lives on {backend.server(user.server).host}"
    return None
