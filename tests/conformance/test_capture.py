"""`shelly-emu capture` writes schema-valid, sorted, redacted bodies and a profile override."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from emulator.conformance import capture_main
from emulator.conformance.capture import REDACTED, redact
from emulator.conformance.schemas import errors_of, validator

from .captures import captures
from .doubles import Double, random_loopback


@pytest.fixture
def plug() -> Iterator[Double]:
    """A Plug S double with a login and secrets in /settings."""
    double = Double(model="SHPLG-S", login=("admin", "hunter2"))
    double.settings["pin_code"] = "123456"
    double.settings["mqtt"]["pass"] = "mqtt-secret"
    yield double
    double.stop()


def _capture(double: Double, out: Path, *extra: str) -> int:
    args = [double.url, "--out", str(out), "--coap-port", str(double.coap_port), *extra]
    return capture_main([*args, "--login", "admin:hunter2"])


@pytest.mark.parametrize(
    "fw",
    ["20230913-113421/v1.14.0-gcb84623", "20201124-091217/v1.9.0@57ac4ad8"],
    ids=["cit_d-over-http", "cit_d-over-coap"],
)
def test_capture_writes_every_endpoint_and_a_profile(plug: Double, tmp_path: Path, fw: str) -> None:
    """All bodies land sorted and 2-space indented; profile.yaml names model, fw, channels."""
    plug.shelly["fw"] = fw
    assert _capture(plug, tmp_path) == 0
    profile = yaml.safe_load((tmp_path / "profile.yaml").read_text())
    assert profile["schema"] == 1
    assert (profile["model"], profile["firmware"]) == ("SHPLG-S", fw)
    assert profile["channels"] == {"relay": [None]}
    expected = {"shelly", "settings", "status", "relay/0", "settings_relay/0", "meter/0", "cit_d"}
    assert set(profile["files"]) == expected
    for resource, name in profile["files"].items():
        text = (tmp_path / name).read_text()
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n", name
        if resource in ("shelly", "status", "cit_d"):
            body = json.loads(text)
            assert errors_of(validator("SHPLG-S", resource, "x/v1.14.0"), body) == []


def test_capture_redacts_secrets_by_default(plug: Double, tmp_path: Path) -> None:
    """No password, MQTT secret, PIN or credential reaches the files."""
    assert _capture(plug, tmp_path) == 0
    written = "".join(p.read_text() for p in tmp_path.iterdir())
    for secret in ("hunter2", "mqtt-secret", "123456"):
        assert secret not in written
    profile = yaml.safe_load((tmp_path / "profile.yaml").read_text())
    assert {"settings.pin_code", "settings.mqtt.pass"} <= set(profile["redacted"])
    assert profile["captured_from"] == plug.url


def test_capture_keeps_secrets_when_asked(plug: Double, tmp_path: Path) -> None:
    """--no-redact writes the values as the device gave them."""
    assert _capture(plug, tmp_path, "--no-redact") == 0
    assert json.loads((tmp_path / "settings.json").read_text())["pin_code"] == "123456"


def test_redact_old_firmware_login_password() -> None:
    """fw 1.6 /settings still carried login.password in clear (capture SHSW-1 fw 1.6.2)."""
    body = next(c for c in captures() if c.id.startswith("SHSW-1/settings__1")).body()
    cleaned, paths = redact(body, "settings")
    assert cleaned["login"]["password"] == REDACTED
    assert cleaned["wifi_ap"]["key"] == ""  # empty values keep the shape
    assert paths == ["settings.login.password"]


def test_capture_of_silent_device_fails(tmp_path: Path) -> None:
    """Nothing listening: exit 1 and no files."""
    out = tmp_path / "out"
    assert capture_main([f"http://{random_loopback()}:9", "--out", str(out), "--timeout", "1"]) == 1
    assert not out.exists()
