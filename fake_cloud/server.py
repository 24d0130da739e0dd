"""Runner of the fake cloud: binds its addresses, makes its TLS, runs its event loop thread.

Topology (spec/cloud.md §0): the "api" front end on `ip`, "my" on `ip`+1, each named server on
`ip`+2+k, all in 127.0.0.0/8. Front ends serve HTTPS (or HTTP with `plain`) on 443/80 when that
port can be bound; servers add their WebSocket listener on 6113, the port clients hard-code.
A fresh CA made by trustme signs one certificate per address; `ca_path` is what clients trust
(`requests(verify=ca_path)`, `SSL_CERT_FILE`, `NODE_EXTRA_CA_CERTS`).

Caveat from §0: clients that build the WS URL from `user_api_url.host` include a port, so they
only work when REST is on the scheme's default port (443/80), as it is by default here.
"""

import asyncio
import errno
import ipaddress
import logging
import random
import socket
import ssl
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

import trustme
import uvicorn
from flask import jsonify
from werkzeug.exceptions import HTTPException

from fake_cloud.api._asgi import WsgiBridge
from fake_cloud.api.cloud_control.account import account_page
from fake_cloud.api.cloud_control.v1 import v1_blueprint
from fake_cloud.api.cloud_control.v2 import v2_blueprint
from fake_cloud.api.context import Services
from fake_cloud.api.pages import pages
from fake_cloud.api.rest import Role, create_app
from fake_cloud.api.ws import Hub
from fake_cloud.control.page import control_page
from fake_cloud.control.plane import Control
from fake_cloud.control.routes import control_blueprint
from fake_cloud.state.backend import Server, StateError
from fake_cloud.state.clock import Clock
from fake_cloud.state.config import CloudConfig

__all__ = ["Endpoint", "FakeCloud"]

logger = logging.getLogger(__name__)

_BIND_ATTEMPTS = 30
_START_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One front end's address and ports."""

    name: str
    role: Role
    ip: str
    rest_port: int
    ws_port: int | None
    tls: bool

    @property
    def rest_url(self) -> str:
        scheme, default = ("https", 443) if self.tls else ("http", 80)
        return f"{scheme}://{self.ip}" + ("" if self.rest_port == default else f":{self.rest_port}")

    @property
    def ws_base(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://{self.ip}:{self.ws_port}"


class FakeCloud:
    """A whole fake Shelly Cloud in this process: `start()`, use, `stop()` (or `with`)."""

    def __init__(self, config: CloudConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config or CloudConfig()
        self.services = Services.build(self.config, clock)
        self.backend = self.services.backend
        self.hub = Hub(self.services)
        self.control = Control(self.services, self.hub, self._add_server)
        self.endpoints: dict[str, Endpoint] = {}
        self.ca_path: str | None = None
        self._base: ipaddress.IPv4Address | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._ca: trustme.CA | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="fake-cloud-http")
        self._uvicorns: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []
        self._ws_servers: list[Any] = []
        self._add_lock = threading.Lock()

    # Lifecycle.

    def start(self) -> Self:
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-cloud-")
        if not self.config.plain:
            self._ca = trustme.CA(organization_name="fake Shelly Cloud")
            self.ca_path = str(Path(self._tmp.name) / "ca.pem")
            self._ca.cert_pem.write_to_path(self.ca_path)
        names = ["api", "my", *self.config.servers]
        bound = self._bind_block(names)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="fake-cloud", daemon=True
        )
        self._thread.start()
        self._on_loop(self._bind_hub())
        for name, socks in zip(names, bound, strict=True):
            self._launch(name, socks)
        if self.config.demo:
            self.control.seed_demo()
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._on_loop(self._shutdown(), timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = None
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def check(self) -> None:
        """Re-raise the first error a request or socket handler hit (pytest-httpserver idea)."""
        if self.services.errors:
            raise self.services.errors[0]

    # Where things are.

    @property
    def api_url(self) -> str:
        return self.endpoints["api"].rest_url

    @property
    def my_url(self) -> str:
        return self.endpoints["my"].rest_url

    @property
    def server_names(self) -> list[str]:
        return list(self.backend.servers)

    def server_url(self, server: str | None = None) -> str:
        return self.endpoints[server or self.server_names[0]].rest_url

    def ws_url(self, token: str, server: str | None = None) -> str:
        """`wss://<host>:6113/shelly/wss/hk_sock?t=<JWT>` (seed 000, seed 002)."""
        base = self.endpoints[server or self.server_names[0]].ws_base
        return f"{base}/shelly/wss/hk_sock?t={quote(token, safe='')}"

    def link_url(self, hexid: str, server: str | None = None) -> str:
        """Where a device opens its link (link.py)."""
        return (
            f"{self.endpoints[server or self.server_names[0]].ws_base}/device-link/{hexid.lower()}"
        )

    def client_ssl_context(self) -> ssl.SSLContext | None:
        """An SSL context trusting the cloud's CA (None when plain)."""
        return ssl.create_default_context(cafile=self.ca_path) if self.ca_path else None

    @property
    def scl_trust_public_key(self) -> str:
        return self.control.scl_trust_public_key

    # Binding.

    def _bind_block(self, names: list[str]) -> list[tuple[socket.socket, socket.socket | None]]:
        """Bind every listener of a block of consecutive addresses, moving to another random
        block when one is taken (several test sessions share the machine)."""
        rng = random.Random()
        for _ in range(_BIND_ATTEMPTS):
            base = self.config.ip or (
                f"127.{rng.randint(100, 250)}.{rng.randint(0, 255)}.{rng.randint(1, 200)}"
            )
            self._base = ipaddress.IPv4Address(base)
            bound: list[tuple[socket.socket, socket.socket | None]] = []
            try:
                for index, name in enumerate(names):
                    bound.append(self._bind(str(self._base + index), name not in ("api", "my")))
                return bound
            except OSError as exc:
                for rest, ws in bound:
                    rest.close()
                    if ws is not None:
                        ws.close()
                if exc.errno != errno.EADDRINUSE or self.config.ip is not None:
                    raise
        raise OSError(errno.EADDRINUSE, "no free loopback block found")

    def _bind(self, ip: str, with_ws: bool) -> tuple[socket.socket, socket.socket | None]:
        port = self.config.rest_port
        if port is None:
            try:
                rest = _listen(ip, 80 if self.config.plain else 443)
            except PermissionError:
                rest = _listen(ip, 0)
        else:
            rest = _listen(ip, port)
        try:
            ws = _listen(ip, self.config.ws_port) if with_ws else None
        except OSError:
            rest.close()
            raise
        return rest, ws

    def _add_server(self, name: str) -> Server:
        """Control plane: a new server on the next address of the block."""
        with self._add_lock:
            if name in self.backend.servers:
                raise StateError("conflict", f"server {name!r} exists")
            if self._base is None:
                raise StateError("invalid", "the cloud is not started")
            ip = str(self._base + len(self.endpoints))
            try:
                socks = self._bind(ip, True)
            except OSError as exc:
                raise StateError("conflict", f"cannot bind {ip}: {exc}") from None
            self._launch(name, socks)
            return self.backend.server(name)

    # Serving.

    def _launch(self, name: str, socks: tuple[socket.socket, socket.socket | None]) -> None:
        rest, ws = socks
        ip, port = rest.getsockname()
        role = {"api": Role.API, "my": Role.MY}.get(name, Role.SERVER)
        endpoint = Endpoint(
            name, role, ip, port, ws.getsockname()[1] if ws else None, self._ca is not None
        )
        self.endpoints[name] = endpoint
        cert_path, ssl_ctx = self._certificate(endpoint)
        extra = [
            control_blueprint(self.control),
            control_page(self.control),
            *([pages, account_page] if role is Role.MY else []),
        ]
        if role is Role.SERVER:
            extra += [v1_blueprint(self.hub), v2_blueprint(self.hub)]
        app = create_app(
            self.services, role, name, extra, None if role is not Role.SERVER else name
        )
        app.register_error_handler(Exception, self._on_error)
        config = uvicorn.Config(
            WsgiBridge(app, self._executor, self.config.max_body, partial(self._refused, name)),
            interface="asgi3",
            # h11 bounds the request head (16 KB: h11_max_incomplete_event_size); uvicorn's
            # httptools protocol lets a header grow without bound.
            http="h11",
            limit_concurrency=self.config.max_connections,
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
            ssl_certfile=cert_path,
            ssl_keyfile=cert_path,
        )
        self._on_loop(self._serve(uvicorn.Server(config), rest, ws, name, ssl_ctx))
        if role is Role.SERVER:
            host = self.config.hosts.get(name, ip)
            scheme_url = endpoint.rest_url.replace(ip, host, 1)
            self.backend.add_server(Server(name, ip, host, scheme_url))

    def _certificate(self, endpoint: Endpoint) -> tuple[str | None, ssl.SSLContext | None]:
        if self._ca is None or self._tmp is None:
            return None, None
        names = [endpoint.ip, "localhost", f"{endpoint.name}.shelly.cloud"]
        if (host := self.config.hosts.get(endpoint.name)) is not None:
            names.append(host)
        cert = self._ca.issue_cert(*names)
        path = str(Path(self._tmp.name) / f"{endpoint.name}.pem")
        cert.private_key_and_cert_chain_pem.write_to_path(path)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        # No TLS 1.3 session tickets after the handshake: a client that reads on one thread
        # while it writes its upgrade request on another (websockets' sync client) can have
        # its TLS stream corrupted by the ticket arriving mid-write, and hang (seen here).
        ctx.num_tickets = 0
        return path, ctx

    async def _bind_hub(self) -> None:
        self.hub.bind_loop(asyncio.get_running_loop())
        self.hub.spawn(self._expiry_ticker())

    async def _expiry_ticker(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.hub.expire_sockets()

    async def _serve(
        self,
        server: uvicorn.Server,
        rest: socket.socket,
        ws: socket.socket | None,
        name: str,
        ssl_ctx: ssl.SSLContext | None,
    ) -> None:
        task = asyncio.get_running_loop().create_task(server.serve(sockets=[rest]))
        self._uvicorns.append((server, task))
        async with asyncio.timeout(_START_TIMEOUT):
            while not server.started and not task.done():
                await asyncio.sleep(0.005)
        if task.done():
            task.result()
        if ws is not None:
            self._ws_servers.append(await self.hub.serve(name, ws, ssl_ctx))

    async def _shutdown(self) -> None:
        for server, _ in self._uvicorns:
            server.should_exit = server.force_exit = True
        for ws_server in self._ws_servers:
            ws_server.close()
        tasks = [task for _, task in self._uvicorns]
        await asyncio.wait(tasks, timeout=0.3)
        # TLS peers idle in a keep-alive pool never answer close_notify: cut them.
        for server, _ in self._uvicorns:
            for connection in list(server.server_state.connections):
                connection.transport.abort()
        await asyncio.gather(
            *tasks, *(s.wait_closed() for s in self._ws_servers), return_exceptions=True
        )
        await self.hub.cancel_tasks()

    def _on_loop(self, coro: Any, timeout: float = _START_TIMEOUT) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _refused(self, front: str, scope: dict[str, Any], status: int) -> None:
        """A REST request refused before the app saw it: recorded without its body."""
        self.services.recorder.add(
            "rest",
            front=front,
            method=scope.get("method"),
            path=scope.get("path"),
            args=None,
            form=None,
            json=None,
            status=status,
        )

    def _on_error(self, exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            return exc
        logger.exception("fake cloud request failed")
        self.services.errors.append(exc)
        return jsonify({"isok": False, "errors": {"internal": repr(exc)}}), 500


def _listen(ip: str, port: int) -> socket.socket:
    """A listening TCP socket; TCP_NODELAY is inherited by accepted sockets (DESIGN: Nagle plus
    delayed ACK add ~44 ms per keep-alive response otherwise)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((ip, port))
        sock.listen(256)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock
