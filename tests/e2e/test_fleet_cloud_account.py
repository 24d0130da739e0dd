"""A fleet file's `cloud: {server, account, ca}` links its devices and registers them with that
account (issue 18: the link used to start before the device was in the fleet's table and die).
The account then sees them through the Cloud Control API and can switch them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from emulator.fleet import Fleet
from emulator.fleet.spec import parse_fleet
from emulator.transports.cloud_wiring import cloud_id
from fake_cloud import CloudConfig, FakeCloud, ManualClock
from tests.cloud.cc_client import CloudControl
from tests.cloud.support import browser, wait_online


@pytest.fixture
def cloud() -> Iterator[FakeCloud]:
    with FakeCloud(CloudConfig(), ManualClock(time.time())) as cloud:
        yield cloud
        cloud.check()


def test_fleet_devices_belong_to_the_account_of_the_fleet_file(cloud, runtime) -> None:
    server = cloud.server_names[0]
    first = cloud.control.create_user("first@example.com", "pw", server)
    alice = cloud.control.create_user("alice@example.com", "alice-pw", server)
    cloud_section = {
        "server": cloud.endpoints[server].ws_base,
        "account": alice.email,
        "ca": cloud.ca_path,
    }
    spec = parse_fleet({"devices": [{"model": "SHPLG-S", "count": 3, "cloud": cloud_section}]})
    fleet = Fleet(spec, runtime).start()
    try:
        ids = [cloud_id(member.host) for member in fleet]
        for hexid in ids:
            wait_online(cloud, hexid)
        cc = CloudControl(cloud, browser(cloud), alice.auth_key, server)
        listed = cc.v1("/device/all_status").json()["data"]["devices_status"]
        assert sorted(listed) == sorted(ids)
        assert all(entry["_dev_info"]["online"] for entry in listed.values())
        assert cloud.backend.devices_of(first.id) == []
        switched = cc.v1("/device/relay/control", id=ids[0], channel=0, turn="on").json()
        assert switched["isok"] is True
        assert fleet[0].status()["relays"][0]["ison"] is True
    finally:
        for member in fleet:
            member.host.get("settings/cloud", enabled="0")
        for hexid in ids:
            wait_online(cloud, hexid, online=False)
        fleet.stop()
