"""The tester's parts on their own: CoIoT rules on real bytes, derived cases, restoring."""

from __future__ import annotations

import dataclasses

import pytest

from emulator.conformance import coap
from emulator.conformance.coiot_rules import devid_problems, status_packet_problems
from emulator.conformance.facts import Device
from emulator.conformance.report import Restorer, Row, render_table
from emulator.conformance.schemas import model_info, parse_fw
from tests.datafiles import COIOT_PAYLOADS

from .captures import captures


def _body(capture_id: str) -> dict:
    return next(c for c in captures() if c.id.startswith(capture_id)).body()


def _device(model: str, shelly: str | None, settings: str, status: str | None) -> Device:
    settings_body = _body(settings)
    fw = settings_body["fw"]
    shelly_body = _body(shelly) if shelly else {"type": model, "mac": "AABBCCDDEEFF", "fw": fw}
    status_body = _body(status) if status else {}
    return Device(
        model, model_info(model), fw, parse_fw(fw), shelly_body, settings_body, status_body
    )


def _shsw1() -> Device:
    return _device("SHSW-1", "SHSW-1/shelly__1", "SHSW-1/settings__3", "SHSW-1/status__3")


def _packet(name: str) -> coap.Packet:
    return coap.decode((COIOT_PAYLOADS / name).read_bytes(), ("127.0.0.1", 5683))


def test_real_publish_bytes_meet_the_rules() -> None:
    """coiot.md 5's SHSW-1 publish (accepted by aioshelly, shelly-iot, node-shellies) passes."""
    packet = _packet("example_publish.bin")
    assert (packet.code, packet.mtype, packet.serial_le) == (coap.CoapCode.STATUS_PUBLISH, "NON", 1)
    description = _packet("example_citd_response.bin").json()
    assert status_packet_problems(_shsw1(), packet, description) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"validity": b"\x96"}, "3412 validity"),
        ({"serial": b"\x00\x00"}, "serial is 0"),
        ({"token": b"\x01"}, "token"),
        ({"uri_path": ()}, "Uri-Path"),
        ({"devid": "SHSW-1#34945472a643#2"}, "does not end in the MAC"),
        ({"devid": "SHSW-1#34945472A643#1"}, "expected 2"),
        ({"devid": None}, "no option 3332"),
        ({"payload": b'{"G":[[0,7777,1]]}'}, "not in /cit/d"),
        ({"payload": b"{"}, "not JSON"),
    ],
)
def test_broken_publish_is_named(change: dict, problem: str) -> None:
    """Each deviation from real firmware bytes is reported with what is wrong."""
    packet = dataclasses.replace(_packet("example_publish.bin"), **change)
    description = _packet("example_citd_response.bin").json()
    problems = status_packet_problems(_shsw1(), packet, description)
    assert any(problem in p for p in problems), problems


def test_short_id_is_fine_without_longid() -> None:
    """Devices with longid 0 (or none) use the MAC's last 6 digits (coiot.md 3.2)."""
    device = _device("SHHT-1", "SHHT-1/shelly__1", "SHHT-1/settings__1", None)
    mac = device.shelly["mac"]
    device.version = (1, 14, 0)
    assert devid_problems(device, f"SHHT-1#{mac[-6:]}#2") == []


def test_shelly2_endpoints_follow_mode_and_firmware() -> None:
    """Relay mode serves /relay/N, roller mode /roller/N; /cit/d over HTTP only from 1.10."""
    device = _device("SHSW-21", None, "SHSW-21/settings__1", "SHSW-21/status__1")
    ids = {c.id for c in device.endpoint_cases()}
    assert {"relay/0", "relay/1", "settings_relay/1", "settings_roller/0", "meter/0"} <= ids
    assert "roller/0" not in ids
    assert "cit_d" not in ids  # fw 1.5.0
    assert [o.id for o in device.outputs()] == ["relay/0", "relay/1"]
    device.settings = {**(device.settings or {}), "mode": "roller"}
    ids = {c.id for c in device.endpoint_cases()}
    assert "roller/0" in ids and "relay/0" not in ids
    assert device.outputs() == []


def test_sensor_skips_output_requests_with_a_reason() -> None:
    """An H&T has no outputs: those bad-request cases say so instead of vanishing."""
    device = _device("SHHT-1", "SHHT-1/shelly__1", "SHHT-1/settings__1", "SHHT-1/status__1")
    reasons = {b.id: b.skip for b in device.bad_requests()}
    assert reasons["unknown-path"] is None
    assert "no relay or light output" in str(reasons["output-turn-bogus"])
    assert "no max_power" in str(reasons["settings-max_power-negative"])


def test_undo_runs_on_ctrl_c() -> None:
    """A KeyboardInterrupt inside a mutating check still puts the device back."""
    done: list[str] = []
    restorer = Restorer()
    with pytest.raises(KeyboardInterrupt), restorer.undoing("relay", lambda: done.append("relay")):
        raise KeyboardInterrupt
    assert done == ["relay"]


def test_failing_undo_does_not_stop_the_others() -> None:
    """Undo errors are collected, and what is still pending at the end is undone newest first."""
    done: list[str] = []
    restorer = Restorer()

    def broken() -> None:
        raise ConnectionError("gone")

    with restorer.undoing("a", lambda: done.append("a")), restorer.undoing("b", broken):
        pass
    assert done == ["a"]
    assert restorer.errors == ["could not restore b: gone"]
    left_open = [restorer.undoing(w, lambda w=w: done.append(w)) for w in ("c", "d")]
    for context in left_open:  # as if Ctrl-C hit before the blocks could finish
        context.__enter__()
    restorer.run_all()
    assert done == ["a", "d", "c"]


def test_table_lists_every_check_with_its_reason() -> None:
    """The table has one aligned line per check and the totals."""
    rows = [Row("shelly", "PASS"), Row("endpoint[status]", "FAIL", "uptime: '12' is not")]
    lines = render_table(rows, "header")
    assert lines[0] == "header"
    assert lines[3].startswith("shelly ") and lines[4].endswith("uptime: '12' is not")
    assert lines[-1] == "1 pass, 1 fail, 0 skip"
