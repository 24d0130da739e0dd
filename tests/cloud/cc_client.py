"""A Cloud Control API client for the tests, as the public clients call it (requests over TLS):
v1 posts form fields with `auth_key` in the body (node-red-contrib-shelly, notDIRK), v2 posts
JSON with `auth_key` in the query string. Each call first moves the cloud's manual clock one
second on, so the API's one-call-a-second limit is respected without waiting; tests of the limit
call `raw_v1`/`raw_v2`, which do not.
"""

from typing import Any

import requests

from fake_cloud import FakeCloud
from tests.cloud.support import TIMEOUT


class CloudControl:
    def __init__(self, cloud: FakeCloud, http: requests.Session, key: str, server: str) -> None:
        self.cloud, self.http, self.key = cloud, http, key
        self.url = cloud.server_url(server)

    def raw_v1(self, path: str, **fields: Any) -> requests.Response:
        data = {"auth_key": self.key, **fields}
        return self.http.post(self.url + path, data=data, timeout=TIMEOUT)

    def raw_v2(self, path: str, body: Any, key: str | None = None) -> requests.Response:
        params = {"auth_key": self.key if key is None else key}
        return self.http.post(
            f"{self.url}/v2/devices/api{path}", params=params, json=body, timeout=TIMEOUT
        )

    def v1(self, path: str, **fields: Any) -> requests.Response:
        self.cloud.control.advance_clock(1)
        return self.raw_v1(path, **fields)

    def v2(self, path: str, body: Any, key: str | None = None) -> requests.Response:
        self.cloud.control.advance_clock(1)
        return self.raw_v2(path, body, key)


def relay_status(channels: int = 1) -> dict[str, Any]:
    return {"relays": [{"ison": False, "has_timer": False} for _ in range(channels)]}


def roller_status(positioning: bool = True) -> dict[str, Any]:
    roller = {"state": "stop", "current_pos": 0, "positioning": positioning}
    return {"rollers": [roller], "relays": [{"ison": False}]}


def light_status() -> dict[str, Any]:
    light = {"ison": False, "mode": "color", "red": 0, "green": 0, "blue": 0, "white": 0}
    return {"lights": [{**light, "gain": 0, "brightness": 0, "temp": 4750, "effect": 0}]}
