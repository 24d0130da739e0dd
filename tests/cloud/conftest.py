"""Fixtures for the fake cloud's tests: one cloud per session on a random loopback block (real
ports 443 and 6113), reset before each test (the pytest-httpserver pattern)."""

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from fake_cloud import CloudConfig, FakeCloud, ManualClock, Policies
from tests.cloud.support import TIMEOUT, CallbackServer, FakeDevice, WsClient, browser

SERVER_A, SERVER_B = "shelly-13-eu", "shelly-14-eu"


@pytest.fixture(scope="session")
def cloud_session() -> Iterator[FakeCloud]:
    policies = Policies(callback_retry_delay=0.01, callback_timeout=TIMEOUT)
    cloud = FakeCloud(CloudConfig(servers=(SERVER_A, SERVER_B), policies=policies), ManualClock())
    cloud.start()
    yield cloud
    cloud.stop()


@pytest.fixture
def cloud(cloud_session: FakeCloud) -> Iterator[FakeCloud]:
    cloud_session.control.reset()
    # Keep the manual clock from lagging the wall clock, which clients compare `exp` with.
    clock = cloud_session.services.clock
    assert isinstance(clock, ManualClock)
    clock.set(max(clock.now(), time.time()))
    cloud_session.services.errors.clear()
    yield cloud_session
    cloud_session.check()


@pytest.fixture
def http(cloud: FakeCloud) -> Iterator[requests.Session]:
    """A client that trusts the cloud's CA, like an integrator configured with `ca_path`."""
    with browser(cloud) as session:
        yield session


@pytest.fixture
def callbacks() -> Iterator[CallbackServer]:
    server = CallbackServer()
    yield server
    server.stop()


@pytest.fixture
def make_device(cloud: FakeCloud) -> Iterator[Callable[..., FakeDevice]]:
    made: list[FakeDevice] = []

    def make(hexid: str, server: str | None = None, **kwargs: Any) -> FakeDevice:
        device = FakeDevice(cloud, hexid, server, **kwargs)
        made.append(device)
        return device

    yield make
    for device in made:
        device.close()


@pytest.fixture
def make_ws(cloud: FakeCloud) -> Iterator[Callable[..., WsClient]]:
    made: list[WsClient] = []

    def make(token: str, server: str | None = None, url: str | None = None) -> WsClient:
        client = WsClient(url or cloud.ws_url(token, server), cloud)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
