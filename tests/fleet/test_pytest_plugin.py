"""The pytest plugin as users meet it: no conftest, fixtures by name, options registered."""

from __future__ import annotations

import pytest


def test_fixtures_work_without_a_conftest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import requests

        def test_device(shelly_device):
            plug = shelly_device("SHPLG-S", login=("admin", "pw"), state={"relays": {0: True}})
            assert plug.url.startswith("http://127.")
            assert requests.get(plug.url + "/status", timeout=5).status_code == 401
            status = requests.get(plug.url + "/status", auth=("admin", "pw"), timeout=5).json()
            assert status["relays"][0]["ison"] is True
            plug.world.set_load(0, 42)
            assert plug.status()["meters"][0]["power"] == 42
            assert [r.path for r in plug.requests()] == ["/status", "/status"]

        def test_manual_clock_makes_a_300_s_auto_off_instant(shelly_device, manual_clock):
            switch = shelly_device("SHSW-1", state={"settings": {"name": "Hall"}})
            switch.get("settings/relay/0", auto_off=300)
            switch.get("relay/0", turn="on")
            manual_clock.advance(299)
            assert switch.status()["relays"][0]["ison"] is True
            manual_clock.advance(1)
            assert switch.status()["relays"][0]["ison"] is False
            assert switch.clock.now() == manual_clock.now()

        def test_fleet_from_a_dict(shelly_fleet, manual_clock):
            fleet = shelly_fleet({"devices": [{"model": "SHSW-1", "count": 20}]})
            assert len(fleet) == 20
            fleet.control.world(fleet[3].ip, "toggle", {"channel": 0})  # the switch flips
            assert fleet[3].status()["relays"][0]["ison"] is True

        def test_fleet_from_a_file(shelly_fleet, tmp_path):
            path = tmp_path / "fleet.yaml"
            path.write_text("devices:\\n  - {model: SHPLG-S, count: 2, name: 'P{n}'}\\n")
            fleet = shelly_fleet(str(path))
            assert [fleet[i].settings()["name"] for i in range(2)] == ["P1", "P2"]

        def test_faults(shelly_device):
            plug = shelly_device("SHPLG-S")
            plug.set_faults(error_rate=1)
            assert requests.get(plug.url + "/status", timeout=5).status_code == 500
            plug.set_faults()
            assert requests.get(plug.url + "/status", timeout=5).status_code == 200
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)


def test_devices_are_stopped_after_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest, requests
        URLS = []

        def test_start(shelly_device):
            URLS.append(shelly_device("SHSW-1").url)

        def test_gone():
            with pytest.raises(requests.ConnectionError):
                requests.get(URLS[0] + "/shelly", timeout=5)
        """
    )
    pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_bad_state_keys_are_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_typo(shelly_device):
            with pytest.raises(ValueError, match="unknown key 'relay'"):
                shelly_device("SHSW-1", state={"relay": {0: True}})
        """
    )
    pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_target_options_are_registered(pytester: pytest.Pytester) -> None:
    """--shelly-target and --shelly-login belong to this plugin; with a target, the conformance
    plugin (emulator.conformance) runs its checks and provides shelly_target itself."""
    help_text = pytester.runpytest_subprocess("--help").stdout.str()
    assert "--shelly-target=URL" in help_text
    assert "--shelly-login=USER:PASSWORD" in help_text


def test_coiot_and_fake_cloud_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import socket

        import requests

        def test_coiot_publishes_to_the_peer(shelly_device, shelly_coiot):
            peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            peer.bind(("127.0.0.1", 0))
            peer.settimeout(5)
            port = peer.getsockname()[1]
            plug = shelly_device("SHPLG-S", coiot_peer=f"127.0.0.1:{port}")
            plug.get("relay/0", turn="on")
            data, source = peer.recvfrom(4096)
            assert source == (plug.ip, 5683) and data[1] == 30  # 0.30 status publish
            plug.set_faults(drop_coiot=True)
            plug.get("relay/0", turn="off")
            plug.set_faults()
            plug.get("relay/0", turn="on")
            data, _ = peer.recvfrom(4096)
            assert b'[0,1101,1]' in data  # the "off" publish was dropped
            peer.close()

        def test_device_online_in_the_cloud(shelly_device, fake_cloud, manual_clock):
            plug = shelly_device("SHPLG-S")
            hexid = fake_cloud.add(plug)
            assert fake_cloud.cloud.backend.devices[hexid].online
            assert fake_cloud.ca_path and fake_cloud.email
            http = requests.Session()
            http.trust_env, http.verify = False, fake_cloud.ca_path
            fields = {"auth_key": fake_cloud.auth_key, "id": hexid, "channel": 0, "turn": "on"}
            answer = http.post(f"{fake_cloud.server_url}/device/relay/control", data=fields)
            assert answer.json()["isok"] and plug.status()["relays"][0]["ison"] is True
            before = fake_cloud.cloud.services.clock.now()
            manual_clock.advance(3600)
            assert fake_cloud.cloud.services.clock.now() == before + 3600
        """
    )
    pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider").assert_outcomes(passed=2)
