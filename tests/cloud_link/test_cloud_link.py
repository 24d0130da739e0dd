"""The device side of the cloud link against a minimal device-link server in the test:
hello on connect, status/settings pushes, calls answered like the HTTP API, cloud.connected."""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
from collections.abc import Iterator

import pytest
from websockets.asyncio.server import ServerConnection, serve

from emulator.transports.cloud_link import CloudLinks


class LinkServer:
    """A device-link endpoint on its own loop thread; frames land in ``received``."""

    def __init__(self) -> None:
        self.received: queue.Queue[tuple[str, dict]] = queue.Queue()
        self.loop = asyncio.new_event_loop()
        self.connections: list[ServerConnection] = []
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        assert ready.wait(5)

    def _run(self, ready: threading.Event) -> None:
        async def handler(connection: ServerConnection) -> None:
            self.connections.append(connection)
            async for frame in connection:
                self.received.put((connection.request.path, json.loads(frame)))

        async def main() -> None:
            self.server = await serve(handler, "127.0.0.1", 0)
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()
            await self.server.wait_closed()

        self.loop.run_until_complete(main())

    def next(self, kind: str, timeout: float = 5) -> tuple[str, dict]:
        for _ in range(50):
            path, frame = self.received.get(timeout=timeout)
            if frame["type"] == kind:
                return path, frame
        raise AssertionError(f"no {kind} frame")

    def send(self, message: dict) -> None:
        asyncio.run_coroutine_threadsafe(
            self.connections[-1].send(json.dumps(message)), self.loop
        ).result(5)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.thread.join(5)


@pytest.fixture
def link_server() -> Iterator[LinkServer]:
    server = LinkServer()
    yield server
    server.close()


def test_link_lifecycle(make_device, runtime, link_server) -> None:
    host = make_device("SHSW-1", settings={"name": "Porch"})
    CloudLinks(runtime, lambda h: f"ws://127.0.0.1:{link_server.port}")
    assert host.status()["cloud"]["connected"] is False  # cloud disabled: no link
    host.get("settings/cloud", enabled="1")
    path, hello = link_server.next("hello")
    assert path == f"/device-link/{host.device.identity.short_id.lower()}"
    assert (hello["code"], hello["gen"], hello["name"]) == ("SHSW-1", 1, "Porch")
    assert hello["status"]["relays"][0]["ison"] is False
    _, status = link_server.next("status")  # cloud.connected became true
    assert status["status"]["cloud"] == {"enabled": True, "connected": True}

    host.get("relay/0", turn="on")
    _, status = link_server.next("status")
    assert status["status"]["relays"][0]["ison"] is True

    link_server.send({"type": "call", "id": 7, "path": "/relay/0", "params": {"turn": "off"}})
    _, result = link_server.next("result")
    assert result == {"type": "result", "id": 7, "code": 200, "body": result["body"]}
    assert result["body"]["ison"] is False
    assert host.status()["relays"][0]["ison"] is False

    link_server.send({"type": "call", "id": 8, "path": "/relay/0", "params": {"turn": "x"}})
    _, result = link_server.next("result")
    assert (result["id"], result["code"]) == (8, 400)
    assert "turn" in result["error"]

    link_server.send({"type": "call", "id": "garbage"})  # malformed: ignored, link stays
    host.get("settings", name="Hall")
    _, settings = link_server.next("settings")
    assert settings["settings"]["name"] == "Hall"

    host.get("settings/cloud", enabled="0")
    for _ in range(100):
        if host.status()["cloud"]["connected"] is False:
            break
        link_server.received.get(timeout=5)
    assert host.status()["cloud"] == {"enabled": False, "connected": False}


def test_sleeping_device_links_only_while_awake(make_device, runtime, link_server) -> None:
    host = make_device("SHHT-1")
    host.world.press()  # setup mode: awake for 3 minutes
    host.get("settings/cloud", enabled="1")
    CloudLinks(runtime, lambda h: f"ws://127.0.0.1:{link_server.port}")
    _, hello = link_server.next("hello")
    assert hello["code"] == "SHHT-1"
    host.world.press()  # a second press sends it back to sleep
    assert host.device.asleep is True
    assert host.device.cloud_connected is False


def test_link_that_fails_for_any_reason_is_retried_and_reported(
    make_device, runtime, link_server, caplog
) -> None:
    """A server lookup that raises (the fleet's KeyError in issue 18) killed the link task for
    good; now the failure is logged with its reason and the link retried with back-off."""
    lookups = []

    def server_for(host) -> str:
        lookups.append(host)
        if len(lookups) == 1:
            raise KeyError("no device 'x' in this fleet")
        return f"ws://127.0.0.1:{link_server.port}"

    host = make_device("SHSW-1")
    host.get("settings/cloud", enabled="1")
    with caplog.at_level(logging.WARNING, logger="emulator.transports.cloud_link"):
        CloudLinks(runtime, server_for)
        _, hello = link_server.next("hello")
    assert hello["code"] == "SHSW-1"
    assert len(lookups) == 2
    failures = [r.getMessage() for r in caplog.records if "cloud link failed" in r.getMessage()]
    assert failures == [
        f"{host.device.identity.hostname}: cloud link failed "
        "(KeyError: \"no device 'x' in this fleet\"); retrying in 1 s"
    ]
    _, status = link_server.next("status")
    assert status["status"]["cloud"]["connected"] is True
