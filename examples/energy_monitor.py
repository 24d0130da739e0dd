"""A toy integration under test: an energy monitor that reads Shelly plugs over HTTP.

It stands for the code an integrator writes (and tests with shelly-emu's fixtures, see
test_energy_monitor.py): poll every plug's /status, add up power and energy, tell which plugs
are unreachable, and shed the biggest load when the total goes over a budget. ``CloudFeed``
follows the same plugs through the Shelly Cloud's integrator WebSocket instead of polling.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass, field

import requests
from websockets.sync.client import connect

__all__ = ["CloudFeed", "EnergyMonitor", "Plug", "Reading"]

#: Frames a CloudFeed reads while waiting for one status event (bounded, never a hang).
_MAX_FRAMES = 100


@dataclass(frozen=True)
class Plug:
    """Where a plug is and how to log in."""

    url: str
    auth: tuple[str, str] | None = None


@dataclass
class Reading:
    """One poll of every plug."""

    power_w: dict[str, float] = field(default_factory=dict)
    energy_wh: dict[str, float] = field(default_factory=dict)
    on: dict[str, bool] = field(default_factory=dict)
    unreachable: list[str] = field(default_factory=list)

    @property
    def total_w(self) -> float:
        return round(sum(self.power_w.values()), 2)


class EnergyMonitor:
    """Polls plugs; ``enforce()`` switches off the biggest consumer while over ``budget_w``."""

    def __init__(self, plugs: list[Plug], budget_w: float, timeout: float = 2.0) -> None:
        self.plugs = plugs
        self.budget_w = budget_w
        self.timeout = timeout
        self.session = requests.Session()

    def poll(self) -> Reading:
        reading = Reading()
        for plug in self.plugs:
            try:
                reply = self.session.get(f"{plug.url}/status", auth=plug.auth, timeout=self.timeout)
                reply.raise_for_status()
                status = reply.json()
            except (requests.RequestException, ValueError):
                reading.unreachable.append(plug.url)
                continue
            meter = status["meters"][0]
            reading.power_w[plug.url] = float(meter["power"])
            reading.energy_wh[plug.url] = round(meter["total"] / 60, 3)  # firmware: W-min
            reading.on[plug.url] = bool(status["relays"][0]["ison"])
        return reading

    def enforce(self) -> list[str]:
        """Switch off plugs, biggest first, until the total is within budget; what was shed."""
        reading = self.poll()
        total = reading.total_w
        shed = []
        by_power = sorted(reading.power_w.items(), key=lambda item: item[1], reverse=True)
        for url, power in by_power:
            if total <= self.budget_w or power <= 0:
                break
            plug = next(p for p in self.plugs if p.url == url)
            reply = self.session.get(
                f"{url}/relay/0", params={"turn": "off"}, auth=plug.auth, timeout=self.timeout
            )
            if reply.ok:
                total -= power
                shed.append(url)
        return shed


class CloudFeed:
    """Live power from the integrator WebSocket (``wss://<server>/shelly/wss/hk_sock?t=JWT``):
    every ``Shelly:StatusOnChange`` carries a device's whole /status (Integrator API)."""

    def __init__(self, url: str, ssl_context: ssl.SSLContext | None = None) -> None:
        self.connection = connect(
            url, ssl=ssl_context, open_timeout=5, compression=None, legacy=True
        )

    def next_power(self, timeout: float = 5.0) -> tuple[str, float]:
        """The next status event: (device id, power of its first meter)."""
        for _ in range(_MAX_FRAMES):
            frame = json.loads(self.connection.recv(timeout=timeout))
            if frame.get("event") == "Shelly:StatusOnChange":
                return str(frame["deviceId"]), float(frame["status"]["meters"][0]["power"])
        raise TimeoutError("no Shelly:StatusOnChange among the frames read")

    def close(self) -> None:
        self.connection.close()
