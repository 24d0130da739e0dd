"""Fixtures for the CoIoT and mDNS tests: runtimes with the UDP transport, devices on their own
random loopback address, and a UDP socket standing in for a client.

A client in these tests never shares port 5683 with another process: it binds an ephemeral
port on 127.0.0.1 and becomes the device's CoIoT peer (``coiot_peer``, exactly how Home Assistant
configures a device). Only the multicast tests bind 5683 themselves (SO_REUSEADDR), and they
only receive group traffic, which the kernel hands to every member.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulator.core.clock import ManualClock
from emulator.runtime import DeviceHost, Runtime
from emulator.transports.coiot.udp import CoiotTransport
from emulator.transports.net import free_loopback_address

#: Network waits scale with SHELLY_TESTS_TIMEOUT_FACTOR (websockets' MS idea).
FACTOR = float(os.environ.get("SHELLY_TESTS_TIMEOUT_FACTOR", "1"))
WAIT = 2.0 * FACTOR


class Client:
    """A UDP socket on 127.0.0.1:<ephemeral>: sends requests, receives answers and publishes."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setsockopt(
            socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1")
        )
        self.sock.settimeout(WAIT)

    @property
    def peer(self) -> str:
        return f"127.0.0.1:{self.sock.getsockname()[1]}"

    def send(self, data: bytes, address: tuple[str, int]) -> None:
        self.sock.sendto(data, address)

    def receive(self) -> tuple[bytes, tuple[str, int]]:
        data, address = self.sock.recvfrom(4096)
        return data, address

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def client() -> Iterator[Client]:
    peer = Client()
    yield peer
    peer.close()


def _runtime(clock: ManualClock | None) -> Iterator[Runtime]:
    runtime = Runtime(clock=clock).start()
    CoiotTransport.attach(runtime)
    yield runtime
    runtime.stop()


@pytest.fixture
def manual_runtime() -> Iterator[Runtime]:
    """A runtime on a ManualClock: nothing happens unless the test advances time."""
    yield from _runtime(ManualClock())


@pytest.fixture
def real_runtime() -> Iterator[Runtime]:
    """A runtime on the real clock (for real clients with their own timeouts)."""
    yield from _runtime(None)


type MakeDevice = Callable[..., DeviceHost]


def reboot(host: DeviceHost) -> None:
    """A software reboot now (as /reboot does after its delay): CoIoT settings take effect."""
    host.runtime.call(lambda: host.act(host.device.reboot))


@pytest.fixture
def make_device(manual_runtime: Runtime, client: Client) -> MakeDevice:
    """Factory: a device on its own loopback address whose CoIoT peer is ``client``."""

    def make(model: str, *, peer: Client | None = client, **settings: Any) -> DeviceHost:
        if peer is not None:
            settings.setdefault("coiot_peer", peer.peer)
        host = manual_runtime.add_device(
            model, ip=free_loopback_address(80), settings={k: str(v) for k, v in settings.items()}
        )
        reboot(host)
        if peer is not None:
            data, source = peer.receive()  # the boot publish, now going to the peer
            assert source == (host.ip, 5683) and data[1] == 30
        return host

    return make
