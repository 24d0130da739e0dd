"""Fixtures of the sensor-model suite: a runtime on a ManualClock, devices on random loopback
addresses (other suites run on this machine at the same time), and plain HTTP helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from emulator.core.clock import ManualClock
from emulator.net import free_loopback_address
from emulator.runtime import DeviceHost, Runtime

#: Seconds a request may take on loopback before the test fails (not a timing assertion).
TIMEOUT = 5


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    with Runtime(clock=ManualClock()) as rt:
        yield rt


@pytest.fixture
def make_device(runtime: Runtime) -> Callable[..., DeviceHost]:
    """``make_device("SHHT-1", http_port=80, ...)``: a device on a random 127.x address."""

    def make(model: str, **kwargs: Any) -> DeviceHost:
        port = kwargs.pop("http_port", 0)
        return runtime.add_device(model, ip=free_loopback_address(port), http_port=port, **kwargs)

    return make


def get(host: DeviceHost, path: str, **params: Any) -> requests.Response:
    """One real HTTP request to the device."""
    return requests.get(f"{host.url}/{path}", params=params, timeout=TIMEOUT)


def get_json(host: DeviceHost, path: str, **params: Any) -> Any:
    response = get(host, path, **params)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


def state(host: DeviceHost) -> tuple[Any, Any]:
    """/status and /settings over HTTP: what "nothing changed" is checked against."""
    return get_json(host, "status"), get_json(host, "settings")
