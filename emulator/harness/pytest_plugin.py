"""pytest plugin of shelly-emu (pytest11 entry point ``shelly_emu``): emulated devices as
fixtures, with no conftest needed.

    def test_auto_off(shelly_device, manual_clock):
        plug = shelly_device("SHPLG-S", login=("admin", "pw"), state={"relays": {0: True}})
        requests.get(f"{plug.url}/settings/relay/0?auto_off=300", auth=("admin", "pw"))
        manual_clock.advance(300)                    # milliseconds, not five minutes
        assert plug.status()["relays"][0]["ison"] is False

``shelly_device`` and ``shelly_fleet`` are factories; everything they start is stopped after
the test. A test's devices share one runtime (one loop thread); it runs on a ManualClock when
the test asks for ``manual_clock``, else on the real clock. ``shelly_coiot`` turns CoIoT on for
the test's devices; ``fake_cloud`` runs a fake Shelly Cloud with a seeded account that devices
join with ``fake_cloud.add(device)``; ``shelly_mqtt_broker`` runs an MQTT broker
(emulator/harness/mqtt_broker.py). Options ``--shelly-target URL`` and ``--shelly-login
USER:PASSWORD`` point the conformance suite at a device (emulator/conformance/plugin.py then
runs its checks and provides ``shelly_target``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import fake_cloud as cloud_package
from fake_cloud.state.events import Event as CloudEvent
from fake_cloud.state.events import OnlineChanged

from ..fleet.fleet import Fleet
from ..fleet.spec import FleetSpec, load_fleet, parse_fleet
from ..runtime import DeviceHost, Runtime
from ..runtime.clock import Clock, ManualClock, Now
from ..runtime.world import World
from ..transports.cloud_wiring import cloud_id, link_to_cloud, register_device
from ..transports.coiot.udp import CoiotTransport
from ..transports.faults import NO_FAULTS, Faults
from ..transports.net import free_loopback_address
from ..transports.request_log import RequestRecord
from .mqtt_broker import shelly_mqtt_broker  # noqa: F401  (a fixture of this plugin)

__all__ = ["CloudAccount", "EmulatedDevice", "ManualTime"]

#: State keys of ``shelly_device(state=...)``: the per-device keys of a fleet file group.
_STATE_KEYS = ("settings", "relays", "world")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("shelly-emu", "shelly-emu: emulated Shelly devices")
    group.addoption(
        "--shelly-target",
        metavar="URL",
        help="a real (or separately run) Gen1 device: run the conformance checks against it",
    )
    group.addoption("--shelly-login", metavar="USER:PASSWORD", help="Basic auth of --shelly-target")


@dataclass
class ManualTime:
    """Time for everything a test emulated: ``advance`` fires every device's due timers in
    order; ``followers`` (e.g. a fake cloud's clock) are advanced by the same amount after."""

    runtime: Runtime
    followers: list[Callable[[float], None]] = field(default_factory=list)

    def advance(self, seconds: float) -> Now:
        self.runtime.advance(seconds)
        for follow in self.followers:
            follow(seconds)
        return self.now()

    def now(self) -> Now:
        return self.runtime.clock.now()


@dataclass(eq=False)
class EmulatedDevice:
    """A running emulated device as a test sees it."""

    host: DeviceHost
    fleet: Fleet

    @property
    def url(self) -> str:
        return self.host.url

    @property
    def address(self) -> tuple[str, int]:
        return self.host.ip, self.host.http_port

    @property
    def ip(self) -> str:
        return self.host.ip

    @property
    def port(self) -> int:
        return self.host.http_port

    @property
    def world(self) -> World:
        return self.host.world

    @property
    def clock(self) -> Clock:
        return self.host.runtime.clock

    @property
    def hostname(self) -> str:
        return self.host.device.identity.hostname

    @property
    def mac(self) -> str:
        return self.host.device.identity.mac

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """Call a resource without HTTP (``dev.get("relay/0", turn="on")``)."""
        return self.host.get(path, **params)

    def status(self) -> dict[str, Any]:
        return self.host.status()

    def settings(self) -> dict[str, Any]:
        return self.host.settings()

    def set_faults(self, **faults: Any) -> Faults:
        """Inject faults (offline, latency, error_rate, drop_coiot); no arguments clears them."""
        self.host.faults = Faults.parse(faults, self.host.faults) if faults else NO_FAULTS
        return self.host.faults

    def requests(self) -> list[RequestRecord]:
        """What this device answered, oldest first."""
        return self.host.runtime.request_log.select(device=self.hostname)


def _http_port() -> int:
    """Port 80 as aioshelly requires, when this process may bind it; else a free port."""
    return 80 if os.geteuid() == 0 else 0


@pytest.fixture
def shelly_runtime(request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """The runtime a test's emulated devices share (ManualClock if the test uses manual_clock)."""
    clock = ManualClock() if "manual_clock" in request.fixturenames else None
    runtime = Runtime(clock).start()
    yield runtime
    runtime.stop()


@pytest.fixture
def manual_clock(shelly_runtime: Runtime) -> ManualTime:
    """Advance time across every device of the test together (a 300 s timer in milliseconds)."""
    return ManualTime(shelly_runtime)


@pytest.fixture
def shelly_fleet(shelly_runtime: Runtime) -> Iterator[Callable[..., Fleet]]:
    """Factory: ``shelly_fleet({"devices": [{"model": "SHPLG-S", "count": 100}]})`` or
    ``shelly_fleet("fleet.yaml")``: a started Fleet (``fleet.control`` drives it). Groups
    without an ``address`` get a free random loopback block."""
    fleets: list[Fleet] = []

    def make(spec: Mapping[str, Any] | str | Path | FleetSpec) -> Fleet:
        if isinstance(spec, str | Path):
            spec = load_fleet(spec)
        elif not isinstance(spec, FleetSpec):
            spec = parse_fleet(_with_port(spec), "shelly_fleet")
        fleet = Fleet(spec, shelly_runtime)
        fleets.append(fleet)
        return fleet.start()

    yield make
    for fleet in fleets:
        fleet.stop()


def _with_port(data: Mapping[str, Any]) -> dict[str, Any]:
    """Default ``http_port`` for groups that let the fleet pick their address."""
    groups = [
        {"http_port": _http_port(), **group} if "address" not in group else dict(group)
        for group in data.get("devices") or []
    ]
    return {**data, "devices": groups}


@pytest.fixture
def shelly_device(
    shelly_fleet: Callable[..., Fleet],
) -> Callable[..., EmulatedDevice]:
    """Factory: ``shelly_device("SHSW-1", login=("admin", "pw"), state={...})`` -> a running
    EmulatedDevice on a random loopback address (port 80 when allowed).

    ``state`` takes ``settings`` (/settings parameters), ``relays`` ({channel: on}) and
    ``world`` (``{"loads": {0: 60}}``...); other keyword arguments are fleet-group keys
    (``name``, ``mac``, ``seed``, ``fw``, ``coiot_peer``, ``cloud``...).
    """

    def make(
        model: str,
        *,
        login: tuple[str, str] | None = None,
        state: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> EmulatedDevice:
        unknown = sorted(set(state or {}) - set(_STATE_KEYS))
        if unknown:
            raise ValueError(f"state: unknown key {unknown[0]!r}; known: {', '.join(_STATE_KEYS)}")
        group: dict[str, Any] = {"model": model, **(state or {}), **options}
        if login is not None:
            group["login"] = {"username": login[0], "password": login[1]}
        if "address" not in group:
            port = group.pop("http_port", _http_port())
            group["address"] = free_loopback_address(port or 80)
            group["http_port"] = port
        fleet = shelly_fleet({"devices": [group]})
        return EmulatedDevice(fleet[0], fleet)

    return make


@pytest.fixture
def shelly_coiot(shelly_runtime: Runtime) -> CoiotTransport:
    """CoIoT (UDP 5683 on each device's address) for this test's devices. Give devices a
    ``coiot_peer`` to receive their publishes by unicast instead of the multicast group."""
    return CoiotTransport.attach(shelly_runtime)


#: The account and integrator ``fake_cloud`` seeds.
CLOUD_USER = ("tester@shelly-emu.test", "tester-pw")
CLOUD_INTEGRATOR = ("ITG_TEST", "itg-test-secret")


@dataclass
class CloudAccount:
    """A running fake cloud (``cloud``: its FakeCloud, ``cloud.control`` its control API) with
    one seeded user and integrator; ``ca_path`` is the CA to trust for its TLS."""

    cloud: cloud_package.FakeCloud
    user_id: int
    email: str = CLOUD_USER[0]
    password: str = CLOUD_USER[1]
    integrator: tuple[str, str] = CLOUD_INTEGRATOR

    @property
    def ca_path(self) -> str | None:
        return self.cloud.ca_path

    @property
    def control(self) -> Any:
        return self.cloud.control

    @property
    def auth_key(self) -> str:
        """The seeded user's Cloud Control API key (a new one with a new password)."""
        return str(self.cloud.backend.user(self.user_id).auth_key)

    @property
    def server_url(self) -> str:
        """The seeded user's server: base URL of the Cloud Control and RTE APIs."""
        return str(self.cloud.server_url(self.cloud.backend.user(self.user_id).server))

    def add(self, device: EmulatedDevice, timeout: float = 10.0) -> str:
        """Give ``device`` to the seeded user, turn its cloud on and wait until the cloud sees
        it online; its cloud id (lowercase hex)."""
        hexid = cloud_id(device.host)
        online = threading.Event()

        def listener(event: CloudEvent) -> None:
            if isinstance(event, OnlineChanged) and event.device == hexid and event.online:
                online.set()

        self.cloud.backend.subscribe(listener)
        try:
            register_device(self.cloud, device.host, self.user_id)
            if not online.wait(timeout):
                raise TimeoutError(f"{device.hostname} did not come online in the fake cloud")
        finally:
            self.cloud.backend.unsubscribe(listener)
        return hexid


@pytest.fixture
def fake_cloud(shelly_runtime: Runtime, request: pytest.FixtureRequest) -> Iterator[CloudAccount]:
    """A fake Shelly Cloud for this test, linked to its devices; with ``manual_clock`` the
    cloud's clock moves with the devices' (token expiry in milliseconds)."""
    manual = "manual_clock" in request.fixturenames
    clock = cloud_package.ManualClock() if manual else None
    with cloud_package.FakeCloud(cloud_package.CloudConfig(), clock=clock) as cloud:
        user = cloud.control.create_user(*CLOUD_USER, cloud.server_names[0])
        cloud.control.create_integrator(*CLOUD_INTEGRATOR)
        link_to_cloud(shelly_runtime, cloud)
        if manual:
            time: ManualTime = request.getfixturevalue("manual_clock")
            time.followers.append(cloud.control.advance_clock)
        yield CloudAccount(cloud, user.id)
        cloud.check()
