"""The energy monitor tested against emulated plugs: shelly-emu's fixtures, no hardware and no
conftest (the plugin is installed with shelly-emu)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from energy_monitor import CloudFeed, EnergyMonitor, Plug


def _plugs(fleet, auth=None) -> list[Plug]:
    return [Plug(member.host.url, auth) for member in fleet]


def test_total_power_across_plugs(shelly_fleet) -> None:
    fleet = shelly_fleet(
        {
            "devices": [
                {"model": "SHPLG-S", "count": 3, "relays": [True], "world": {"loads": {0: 100}}}
            ]
        }
    )
    fleet.control.world(fleet[2].ip, "set_load", {"channel": 0, "watts": 250})
    reading = EnergyMonitor(_plugs(fleet), budget_w=1000).poll()
    assert reading.total_w == 450
    assert reading.unreachable == []


def test_plugs_behind_a_login(shelly_device) -> None:
    plug = shelly_device("SHPLG-S", login=("admin", "secret"), state={"relays": [True]})
    plug.world.set_load(0, 60)
    assert EnergyMonitor([Plug(plug.url)], 100).poll().unreachable == [plug.url]
    assert EnergyMonitor([Plug(plug.url, ("admin", "secret"))], 100).poll().total_w == 60


def test_the_biggest_load_is_shed_when_over_budget(shelly_fleet) -> None:
    fleet = shelly_fleet({"devices": [{"model": "SHPLG-S", "count": 3, "relays": [True]}]})
    for index, watts in enumerate((300, 1200, 500)):
        fleet[index].world.set_load(0, watts)
    monitor = EnergyMonitor(_plugs(fleet), budget_w=1000)
    assert monitor.enforce() == [fleet[1].url]
    assert [fleet[i].status()["relays"][0]["ison"] for i in range(3)] == [True, False, True]
    assert monitor.poll().total_w == 800


def test_energy_over_an_hour_takes_no_time(shelly_device, manual_clock) -> None:
    plug = shelly_device("SHPLG-S", state={"relays": [True], "world": {"loads": {0: 120}}})
    manual_clock.advance(3600)
    assert EnergyMonitor([Plug(plug.url)], 1000).poll().energy_wh[plug.url] == 120


def test_an_auto_off_plug_is_seen_off(shelly_device, manual_clock) -> None:
    plug = shelly_device("SHPLG-S", state={"settings": {}, "world": {"loads": {0: 80}}})
    plug.get("settings/relay/0", auto_off=300)
    plug.get("relay/0", turn="on")
    monitor = EnergyMonitor([Plug(plug.url)], 1000)
    assert monitor.poll().total_w == 80
    manual_clock.advance(300)
    reading = monitor.poll()
    assert reading.on[plug.url] is False and reading.total_w == 0


def test_unreachable_and_flaky_plugs_are_reported_not_fatal(shelly_fleet) -> None:
    fleet = shelly_fleet({"devices": [{"model": "SHPLG-S", "count": 3}]})
    fleet.control.set_faults(fleet[0].ip, {"offline": True})
    fleet.control.set_faults(fleet[1].ip, {"error_rate": 1})
    reading = EnergyMonitor(_plugs(fleet), 1000).poll()
    assert reading.unreachable == [fleet[0].url, fleet[1].url]
    fleet.control.clear_faults(fleet[0].ip)
    assert EnergyMonitor(_plugs(fleet), 1000).poll().unreachable == [fleet[1].url]


def test_a_slow_plug_times_out(shelly_device) -> None:
    plug = shelly_device("SHPLG-S")
    plug.set_faults(latency=0.5)
    assert EnergyMonitor([Plug(plug.url)], 1000, timeout=0.1).poll().unreachable == [plug.url]


class _Consent(BaseHTTPRequestHandler):
    """The integrator's consent callback: the cloud posts each granted device here."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def consent_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Consent)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/consent"
    server.shutdown()
    server.server_close()


def test_power_arrives_through_the_cloud_websocket(shelly_device, fake_cloud, consent_url) -> None:
    plug = shelly_device("SHPLG-S", state={"relays": [True]})
    hexid = fake_cloud.add(plug)
    tag, _ = fake_cloud.integrator
    fake_cloud.control.grant(tag, fake_cloud.user_id, [hexid], consent_url)  # the user's consent
    token = fake_cloud.control.integrator_token(tag)
    context = ssl.create_default_context(cafile=fake_cloud.ca_path)
    feed = CloudFeed(fake_cloud.cloud.ws_url(token), context)
    try:
        plug.world.set_load(0, 230)
        device_id, power = feed.next_power()
        assert (device_id, power) == (str(int(hexid, 16)), 230)  # decimal ids on the WS
    finally:
        feed.close()
