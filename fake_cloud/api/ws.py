"""WebSocket side of the fake cloud: per-server listeners on port 6113, sockets, fan-out.

Paths (spec/cloud.md §2.4, §3.7): `/shelly/wss/hk_sock?t=<JWT>` for integrators (integrator
token) and accounts (RTE access token), and `/device-link/<hexid>` for devices (link.py). The
token is checked at the upgrade only: "The connection can remain active indefinitely" (seed 000).

Backend events reach sockets through `Hub._dispatch`, which picks recipients with the state as it
is at dispatch time: an integrator only hears about devices granted to it and hosted on the
socket's server, an account only about its own devices, so a revoke silences a device at once.
All socket work runs on the cloud's event loop; the control-plane helpers hop onto it.

The device link (link.py) and the request handlers (wsapi.py) see the hub through protocols of
their own, so neither imports this module, which routes to both.
"""

import asyncio
import json
import logging
import re
import threading
from collections.abc import Callable
from functools import partial
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from fake_cloud.api.auth import AuthError, Principal
from fake_cloud.api.context import Services
from fake_cloud.api.link import LinkSession, serve_link
from fake_cloud.api.render import SocketKind, envelope_error, error_event, event_frame
from fake_cloud.api.sockets import Socket
from fake_cloud.api.wsapi import handle_frame
from fake_cloud.state.config import AuthFailure, SecondConnection
from fake_cloud.state.events import Event
from fake_cloud.state.jsonwire import dumps
from fake_cloud.state.tokens import Audience

__all__ = ["Hub"]

logger = logging.getLogger(__name__)

CLIENT_PATH = "/shelly/wss/hk_sock"
LINK_PATH = re.compile(r"/device-link/([0-9a-fA-F]{6}|[0-9a-fA-F]{12})")


class Hub:
    """Live sockets of one cloud and the fan-out of backend events to them."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.sockets: dict[int, Socket] = {}
        self.links: dict[str, LinkSession] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._next_id = 1
        self._tasks: set[asyncio.Task[None]] = set()
        services.backend.subscribe(self._on_event)
        services.clock.on_change(self._on_clock)

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._loop_thread = threading.get_ident()

    async def serve(self, server: str, sock: Any, ssl: Any) -> Server:
        """Start the WebSocket listener of one cloud server on a bound socket."""
        return await serve(
            partial(self._handler, server),
            sock=sock,
            ssl=ssl,
            compression=None,  # DESIGN: deflate cost 25-45 % of throughput
            process_request=partial(self._process_request, server),
        )

    # Sockets.

    def register(self, conn: ServerConnection, kind: str, server: str, **extra: Any) -> Socket:
        socket = Socket(self._next_id, kind, conn, server, **extra)
        self._next_id += 1
        self.sockets[socket.id] = socket
        return socket

    def unregister(self, socket: Socket) -> None:
        self.sockets.pop(socket.id, None)

    def send(self, socket: Socket, frame: dict[str, Any]) -> None:
        """Queue a frame for one socket (dropped while the socket is frozen)."""
        if socket.frozen:
            return
        self.services.recorder.add("ws_out", sockets=[socket.id], frame=frame)
        broadcast([socket.conn], dumps(frame))

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # Upgrade and connection handling.

    def _process_request(
        self, server: str, conn: ServerConnection, request: Request
    ) -> Response | None:
        path, _, query = request.path.partition("?")
        if LINK_PATH.fullmatch(path):
            return None
        if path != CLIENT_PATH:
            return conn.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        token = parse_qs(query).get("t", [None])[0]
        audiences = {Audience.INTEGRATOR, Audience.ACCESS}
        try:
            principal = self.services.authority.authenticate(token, audiences, server)
        except AuthError as exc:
            self.services.recorder.add("ws_refused", server=server, reason=str(exc))
            if self.services.policies.auth_failure is AuthFailure.CLOSE_4401:
                conn.refusal = str(exc)  # type: ignore[attr-defined]
                return None
            return self._json(HTTPStatus.UNAUTHORIZED, {"unauthorized": str(exc)})
        if self._rival(principal, server) is not None and (
            self.services.policies.second_connection is SecondConnection.REJECT
        ):
            logger.warning("integrator %s: second socket to %s refused", principal.tag, server)
            return self._json(HTTPStatus.CONFLICT, {"conflict": "one connection per server"})
        conn.principal = principal  # type: ignore[attr-defined]
        return None

    def _json(self, status: HTTPStatus, errors: dict[str, str]) -> Response:
        body = json.dumps(envelope_error(errors, self.services.policies.errors_style)).encode()
        headers = Headers(
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return Response(status.value, status.phrase, headers, body)

    def _rival(self, principal: Principal, server: str) -> Socket | None:
        """The integrator's other socket on this server: only one is allowed (seed 000)."""
        if principal.kind is not SocketKind.INTEGRATOR:
            return None
        return next(
            (
                s
                for s in self.sockets.values()
                if s.kind == "integrator"
                and s.server == server
                and s.principal
                and s.principal.tag == principal.tag
            ),
            None,
        )

    async def _handler(self, server: str, conn: ServerConnection) -> None:
        try:
            await self._route(server, conn)
        except Exception as exc:
            logger.exception("fake cloud socket handler failed")
            self.services.errors.append(exc)
            raise

    async def _route(self, server: str, conn: ServerConnection) -> None:
        path = conn.request.path.partition("?")[0] if conn.request else ""
        if match := LINK_PATH.fullmatch(path):
            await serve_link(self, server, conn, match.group(1))
            return
        refusal = getattr(conn, "refusal", None)
        if refusal is not None:
            await conn.close(4401, refusal)
            return
        await self._client(server, conn, conn.principal)  # type: ignore[attr-defined]

    async def _client(self, server: str, conn: ServerConnection, principal: Principal) -> None:
        rival = self._rival(principal, server)
        if rival is not None:
            if self.services.policies.second_connection is SecondConnection.REJECT:
                await conn.close(4409, "one connection per server")
                return
            logger.warning(
                "integrator %s: second socket to %s replaces the first", principal.tag, server
            )
            await rival.conn.close(4409, "replaced by a newer connection")
        socket = self.register(conn, principal.kind.value, server, principal=principal)
        try:
            async for message in conn:
                try:
                    handle_frame(self, socket, message)
                except Exception as exc:  # a bug must not close the socket (1011)
                    logger.exception("fake cloud: frame handling failed")
                    self.services.errors.append(exc)
                    self.send(socket, error_event("internal error"))
        except ConnectionClosed:
            pass
        finally:
            self.unregister(socket)

    # Fan-out.

    def _on_event(self, event: Event) -> None:
        """Backend listener, called under the backend lock from any thread."""
        if threading.get_ident() == self._loop_thread:
            self._dispatch(event)
        elif self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._dispatch, event)

    def _dispatch(self, event: Event) -> None:
        backend = self.services.backend
        policies = self.services.policies
        with backend.lock:
            device = backend.devices.get(event.device)
            if device is None:
                return
            server = backend.device_server(device)
            groups: dict[SocketKind, list[Socket]] = {kind: [] for kind in SocketKind}
            for socket in self.sockets.values():
                principal = socket.principal
                if principal is None or socket.server != server or socket.frozen:
                    continue
                if principal.kind is SocketKind.INTEGRATOR:
                    if backend.grant(principal.tag or "", device.id) is not None:
                        groups[SocketKind.INTEGRATOR].append(socket)
                elif principal.user == device.owner:
                    groups[SocketKind.ACCOUNT].append(socket)
            for kind, sockets in groups.items():
                frame = event_frame(kind, event, device, policies) if sockets else None
                if frame is None:
                    continue
                ids = [s.id for s in sockets]
                self.services.recorder.add("ws_out", sockets=ids, frame=frame)
                broadcast([s.conn for s in sockets], dumps(frame))

    def _on_clock(self) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.expire_sockets)

    def expire_sockets(self) -> None:
        """Close sockets whose token has expired, when the policy asks for it (§3.5)."""
        if not self.services.policies.close_at_exp:
            return
        now = self.services.clock.now()
        for socket in list(self.sockets.values()):
            if socket.principal is not None and socket.principal.exp <= now:
                self.unregister(socket)
                self.spawn(socket.conn.close(4401, "token expired"))

    # Control plane (callable from any thread).

    def on_loop[T](self, fn: Callable[[], T]) -> T:
        """Run `fn` on the event loop and return its result."""
        if self.loop is None or threading.get_ident() == self._loop_thread:
            return fn()

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=10)

    def describe(self) -> list[dict[str, Any]]:
        return self.on_loop(lambda: [s.describe() for s in self.sockets.values()])

    def drop(self, socket_id: int) -> bool:
        """Cut the TCP connection without a closing handshake, as a network failure would."""

        def cut() -> bool:
            socket = self.sockets.get(socket_id)
            if socket is None:
                return False
            socket.conn.transport.abort()
            return True

        return self.on_loop(cut)

    def freeze(self, socket_id: int, frozen: bool) -> bool:
        """Stop (or resume) reading from and writing to a socket: a hung server."""

        def apply() -> bool:
            socket = self.sockets.get(socket_id)
            if socket is None:
                return False
            socket.frozen = frozen
            transport = socket.conn.transport
            transport.pause_reading() if frozen else transport.resume_reading()
            return True

        return self.on_loop(apply)

    def close_all(self, code: int, reason: str) -> None:
        """Close every socket; they leave the registry at once, so none of them gets events
        or counts as a rival while its closing handshake runs."""

        def close() -> None:
            sockets, self.sockets = self.sockets, {}
            self.links.clear()
            for socket in sockets.values():
                self.spawn(socket.conn.close(code, reason))

        self.on_loop(close)

    def close_link(self, hexid: str, code: int, reason: str) -> None:
        def close() -> None:
            session = self.links.get(hexid)
            if session is not None:
                self.spawn(session.socket.conn.close(code, reason))

        self.on_loop(close)
