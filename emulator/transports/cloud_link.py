"""Device <-> fake cloud link: one WebSocket per emulated device whose cloud is enabled.

This is shelly-emu's OWN protocol, not Shelly's: real Gen1 devices speak Shelly's private cloud
protocol, which nobody outside Shelly can reproduce. What the cloud's users see (events,
commands, online state) is faithful; this link only carries it.

    device -> cloud  {"type": "hello", "id", "code", "gen", "mac", "fw", "name", "status",
                      "settings", "account"?}   account: the owner's email, as pairing sets it
                     {"type": "status", "status"}        after every status change
                     {"type": "settings", "settings"}    after every settings change
                     {"type": "result", "id", "code": 200, "body"} | {..., "code": 4xx, "error"}
    cloud -> device  {"type": "call", "id", "path": "/relay/0", "params": {"turn": "on"}}

The socket is ``<server>/device-link/<hexid>`` where hexid is the lowercase short id.
``cloud.connected`` in /status is true exactly while the socket is open. A link that fails for
any reason is retried, backing off from 1 s to 30 s, and each new reason is logged once as a
warning; a disabled cloud closes the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

from ..core.errors import DeviceError
from ..core.events import Event, Rebooted, SettingsChanged, StatusChanged

if TYPE_CHECKING:
    from .hosting import Host, Hosting

__all__ = ["CloudLinks"]

logger = logging.getLogger(__name__)

_BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)


class _Link:
    """One device's connection; runs as a task on the runtime's loop."""

    def __init__(self, links: CloudLinks, host: Host) -> None:
        self.links = links
        self.host = host
        self.socket: ClientConnection | None = None
        self.task = asyncio.get_running_loop().create_task(self._run())

    @property
    def url(self) -> str:
        hexid = self.host.device.identity.short_id.lower()
        return f"{self.links.server_for(self.host)}/device-link/{hexid}"

    async def _run(self) -> None:
        """Link, and relink with back-off whatever made the link fail (a refused or dropped
        socket, a TLS error, a server lookup that raised): a dead link task would leave the
        device off the cloud for good. Each new reason is logged once, as a warning."""
        attempt = 0
        reason: str | None = None
        hostname = self.host.device.identity.hostname
        while True:
            try:
                url = self.url
                async with connect(
                    url, ssl=self.links.ssl_for(url), compression=None, open_timeout=10
                ) as socket:
                    attempt = 0
                    if reason is not None:
                        logger.info("%s: cloud link to %s is up again", hostname, url)
                    reason = None
                    self.socket = socket
                    self._set_connected(True)
                    await socket.send(json.dumps(self._hello()))
                    async for frame in socket:
                        await self._on_frame(frame)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # every failure is retried (see the docstring)
                failure = f"{type(error).__name__}: {error}"
                delay = _BACKOFF[min(attempt, len(_BACKOFF) - 1)]
                level = logging.DEBUG if failure == reason else logging.WARNING
                logger.log(
                    level, "%s: cloud link failed (%s); retrying in %g s", hostname, failure, delay
                )
                reason = failure
            finally:
                self.socket = None
                self._set_connected(False)
            await asyncio.sleep(_BACKOFF[min(attempt, len(_BACKOFF) - 1)])
            attempt += 1

    def _set_connected(self, connected: bool) -> None:
        try:
            self.host.act(lambda now: self.host.device.set_cloud_connected(connected, now))
        except Exception:  # the link outlives a failing listener
            logger.exception("%s: cloud.connected not updated", self.host.device.identity.hostname)

    def _hello(self) -> dict[str, Any]:
        device = self.host.device
        identity = device.identity
        settings = self.host.call("settings", {})
        account = self.links.account_for(self.host) if self.links.account_for else None
        return {
            **({"account": account} if account else {}),
            "type": "hello",
            "id": identity.short_id.lower(),
            "code": identity.model,
            "gen": 1,
            "mac": identity.mac,
            "fw": identity.fw,
            "name": settings.get("name"),
            "status": self.host.call("status", {}),
            "settings": settings,
        }

    async def _on_frame(self, frame: str | bytes) -> None:
        try:
            message = json.loads(frame)
            if message.get("type") != "call":
                return
            call_id = message["id"]
            path = str(message["path"])
            params = {str(k): str(v) for k, v in dict(message.get("params") or {}).items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            logger.debug("%s: ignored malformed cloud frame", self.host.device.identity.hostname)
            return
        try:
            reply = {
                "type": "result",
                "id": call_id,
                "code": 200,
                "body": self.host.call(path, params),
            }
        except DeviceError as error:
            reply = {"type": "result", "id": call_id, "code": error.status, "error": error.message}
        except Exception:  # a bug answers 500, as over HTTP, and keeps the link
            logger.exception("%s: cloud call %s failed", self.host.device.identity.hostname, path)
            reply = {"type": "result", "id": call_id, "code": 500, "error": "internal error"}
        await self.send(reply)

    async def send(self, message: dict[str, Any]) -> None:
        if self.socket is not None:
            with contextlib.suppress(websockets.ConnectionClosed):
                await self.socket.send(json.dumps(message))

    def close(self) -> None:
        self.task.cancel()


#: Seconds a stopping runtime waits for its links' closing handshakes.
_CLOSE_GRACE = 2.0


class CloudLinks:
    """Runtime transport that keeps every cloud-enabled device linked to its cloud server.

    ``server_for(host)`` gives the server base URL (``wss://127.5.0.1:6113``) of a device;
    ``ssl_context`` trusts the fake cloud's CA for ``wss://``; ``account_for(host)``, if given,
    names the account (email) the cloud registers the device to.
    """

    def __init__(
        self,
        runtime: Hosting,
        server_for: Callable[[Host], str],
        ssl_context: ssl.SSLContext | None = None,
        account_for: Callable[[Host], str | None] | None = None,
    ) -> None:
        self.runtime = runtime
        self.server_for = server_for
        self.ssl_context = ssl_context
        self.account_for = account_for
        self.links: dict[int, _Link] = {}
        #: Links being closed: the runtime's stop lets them finish their closing handshake.
        self._closing: set[asyncio.Task[None]] = set()
        runtime.listeners.append(self.on_events)
        runtime.closers.append(self.on_close)
        runtime.stoppers.append(self.stop)
        runtime.call(self._sync_all)

    def ssl_for(self, url: str) -> ssl.SSLContext | None:
        return self.ssl_context if url.startswith("wss://") else None

    def _sync_all(self) -> None:
        for host in list(self.runtime.hosts):
            self._sync(host)

    def _sync(self, host: Host) -> None:
        """Link while the device's cloud is enabled and it is awake (battery devices only
        reach the cloud in their awake windows), unlink otherwise."""
        wanted = (
            bool(host.device.config["cloud"]["enabled"])
            and not host.device.asleep
            and not host.device.down  # flashing, booting, hung
            and host in self.runtime.hosts
        )
        link = self.links.get(id(host))
        if wanted and link is None:
            self.links[id(host)] = _Link(self, host)
        elif not wanted and link is not None:
            self.links.pop(id(host)).close()
            host.act(lambda now: host.device.set_cloud_connected(False, now))

    def on_events(self, host: Host, events: list[Event]) -> None:
        if any(isinstance(event, Rebooted) for event in events) and id(host) in self.links:
            # A reboot drops the link; the device dials in again once booted (cloud: offline,
            # then online again).
            self.links.pop(id(host)).close()
            host.act(lambda now: host.device.set_cloud_connected(False, now))
        self._sync(host)
        link = self.links.get(id(host))
        if link is None or link.socket is None:
            return
        loop = self.runtime.loop
        if any(isinstance(event, SettingsChanged) for event in events):
            settings = host.call("settings", {})
            loop.create_task(link.send({"type": "settings", "settings": settings}))
        if any(isinstance(event, StatusChanged) for event in events):
            loop.create_task(link.send({"type": "status", "status": host.call("status", {})}))

    def on_close(self, host: Host) -> None:
        link = self.links.pop(id(host), None)
        if link is not None:
            link.close()
            self._closing.add(link.task)
            link.task.add_done_callback(self._closing.discard)

    async def stop(self) -> None:
        """Let the removed devices' links send and get their close frames (loopback: ms), so
        the cloud sees them go at once instead of waiting out its close timeout (10 s)."""
        if self._closing:
            await asyncio.wait(list(self._closing), timeout=_CLOSE_GRACE)

    def close(self) -> None:
        """Drop every link (the runtime's stop does this through closers)."""
        self.runtime.call(lambda: [self.on_close(host) for host in list(self.runtime.hosts)])
