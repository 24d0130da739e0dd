"""The device under test: its base URL, credentials and a bounded HTTP client.

Every request goes to the URL the user gave and nowhere else: no redirects are followed and no
proxy from the environment is used. Timeouts and retries are bounded. A device that refuses the
connection or times out is reported as asleep when its model sleeps (H&T, Smoke, Sense keep
Wi-Fi off between wake-ups, seed 003 'Shelly H&T'), and as unreachable otherwise.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

__all__ = ["DeviceAsleep", "DeviceUnreachable", "Reply", "Target", "local_address_towards"]


class DeviceUnreachable(ConnectionError):
    """No HTTP answer within the bounded retries."""


class DeviceAsleep(DeviceUnreachable):
    """No answer from a model that sleeps between wake-ups: not a conformance failure."""


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer reduced to what the checks look at."""

    status: int
    content_type: str
    text: str

    @property
    def media_type(self) -> str:
        """``application/json`` for ``application/json; charset=utf-8``."""
        return self.content_type.split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        """The body parsed as JSON (raises ``ValueError`` when it is not)."""
        return json.loads(self.text)


@dataclass
class Target:
    """A Gen1 device reachable at ``url`` (``http://host[:port]``)."""

    url: str
    login: tuple[str, str] | None = None
    timeout: float = 5.0
    retries: int = 1
    sleepy: bool = False
    _session: requests.Session = field(init=False, repr=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"expected http://host[:port], got {self.url!r}")
        self.url = f"http://{parts.netloc}"
        self._session = requests.Session()
        self._session.trust_env = False  # no proxies: traffic goes to the device only

    @property
    def host(self) -> str:
        """The device's host name or address, as given in the URL."""
        host = urlsplit(self.url).hostname
        assert host is not None
        return host

    @property
    def port(self) -> int:
        """The device's HTTP port (80 unless the URL names one)."""
        return urlsplit(self.url).port or 80

    def get(
        self,
        path: str,
        params: dict[str, str] | None = None,
        *,
        auth: bool | tuple[str, str] = True,
    ) -> Reply:
        """GET ``path``; ``auth`` False sends no credentials, a tuple sends those instead.

        Raises:
            DeviceAsleep: no answer and the model sleeps.
            DeviceUnreachable: no answer from a mains-powered model.
        """
        credentials = self.login if auth is True else (auth or None)
        last: Exception | None = None
        for _ in range(1 + self.retries):
            try:
                resp = self._session.get(
                    self.url + path,
                    params=params,
                    auth=credentials,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = exc
                continue
            return Reply(resp.status_code, resp.headers.get("Content-Type", ""), resp.text)
        kind = DeviceAsleep if self.sleepy else DeviceUnreachable
        raise kind(f"GET {path}: no answer from {self.url} ({type(last).__name__})") from last

    def json(self, path: str, params: dict[str, str] | None = None) -> Any:
        """GET ``path`` expecting a JSON 200 answer; raises ``AssertionError`` otherwise."""
        reply = self.get(path, params)
        assert reply.status == 200, f"GET {path}: HTTP {reply.status}: {reply.text[:200]}"
        return reply.json()

    def close(self) -> None:
        """Release the connection pool."""
        self._session.close()


def local_address_towards(ip: str) -> str:
    """Local address the kernel would use to reach ``ip`` (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect((ip, 9))
        return str(sock.getsockname()[0])
