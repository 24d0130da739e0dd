"""HTTP helpers of the sensor-model suite (fixtures come from tests/conftest.py: a runtime on a
ManualClock, devices on random loopback addresses)."""

from __future__ import annotations

from typing import Any

import requests

from emulator.runtime import DeviceHost

#: Seconds a request may take on loopback before the test fails (not a timing assertion).
TIMEOUT = 5


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
