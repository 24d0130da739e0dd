"""The names users import keep working after the layout moved modules into rooms (issue 10;
README "Layout"): the runtime, the clocks, fleets, the fixtures' entry point, the console script."""

from __future__ import annotations

from importlib.metadata import entry_points

import emulator.runtime.clock
import emulator.runtime.host
import emulator.runtime.runtime
from emulator.clock import Clock, ManualClock, Now, RealClock
from emulator.fleet import Fleet
from emulator.fleet.fleet import Fleet as FleetItself
from emulator.runtime import DeviceHost, Runtime


def test_runtime_and_device_host_come_from_emulator_runtime() -> None:
    assert Runtime is emulator.runtime.runtime.Runtime
    assert DeviceHost is emulator.runtime.host.DeviceHost


def test_clocks_come_from_emulator_clock() -> None:
    clocks = emulator.runtime.clock
    assert (Clock, ManualClock, Now, RealClock) == (
        clocks.Clock,
        clocks.ManualClock,
        clocks.Now,
        clocks.RealClock,
    )
    manual = ManualClock()
    manual.advance(5)
    assert manual.now().mono == 5 + ManualClock().now().mono


def test_fleet_comes_from_emulator_fleet() -> None:
    assert Fleet is FleetItself


def test_fixtures_and_cli_are_installed_entry_points() -> None:
    plugins = {point.name: point for point in entry_points(group="pytest11")}
    assert plugins["shelly_emu"].value == "emulator.harness.pytest_plugin"
    fixtures = plugins["shelly_emu"].load()
    for name in ("shelly_device", "shelly_fleet", "manual_clock", "shelly_coiot", "fake_cloud"):
        assert callable(getattr(fixtures, name)), name
    scripts = {point.name: point.value for point in entry_points(group="console_scripts")}
    assert scripts["shelly-emu"] == "emulator.cli:main"
