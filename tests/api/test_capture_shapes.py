"""Every emulated body has the shape real firmware gives (tests/data/captures).

Captures of the firmware a profile emulates must match exactly (keys, nesting, JSON types).
Captures of older firmware must be covered too, except for what later firmware removed or
retyped; those differences are listed here with the firmware fact behind each.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests

from emulator.runtime.profiles import all_profiles
from tests.datafiles import CAPTURES
from tests.shapes import shape_diff

ENDPOINTS = {"relay_0": "relay/0", "settings_relay_0": "settings/relay/0", "ir_list": "ir/list"}

#: Shape differences an older firmware's capture may show against the 1.14 emulation.
DROPPED_SINCE_OLDER_FIRMWARE = [
    r"\.relays\[\]\.(btn_on|btn_off|out_on|out_off|longpush|shortpush)_url: missing",  # -> actions
    r"\.(btn_on|btn_off|out_on|out_off)_url: missing",  # same, /settings/relay/N
    r"\.login\.password: missing",  # 1.12 stopped showing the password
    r"\.mqtt\.will_(topic|message): missing",  # 1.6 dropped the will settings
    r"\.coiot_execute_enable: missing",  # 1.5 key, gone by 1.6
    r"\.report_url: missing",  # H&T 1.6 key; 1.14 lists report_url under actions (docs example)
    r"\.meters: missing",  # plugs listed meters in /settings before 1.6
    r"\.relays\[\]\.overpower: missing",  # plug /settings relays until 1.6
    r"\.meters\[\]\.is_valid: type bool != str",  # 1.5 wrote "true" as a string
    r"\.tmp\.is_valid: type bool != str",  # same
    r"\.ext_(temperature|humidity): type dict != list",  # [] before 1.12, {} after
    r"\.\S+: extra",  # keys later firmware added
]


def captures() -> list[object]:
    if not CAPTURES.is_dir():
        raise FileNotFoundError(f"captures missing: {CAPTURES}")
    cases = []
    for model in sorted(all_profiles()):
        for path in sorted((CAPTURES / model).glob("*.json")):
            cases.append(pytest.param(model, path, id=f"{model}-{path.stem}"))
    return cases


def _firmware(path: Path) -> str:
    source = path.with_suffix(".source.txt").read_text()
    match = re.search(r"^firmware:\s*(\S+)", source, re.MULTILINE)
    return match.group(1) if match else ""


@pytest.mark.parametrize(("model", "capture"), captures())
def test_body_has_the_captured_shape(make_device, model: str, capture: Path) -> None:
    host = make_device(model)
    endpoint = capture.name.split("__")[0]
    response = requests.get(f"{host.url}/{ENDPOINTS.get(endpoint, endpoint)}", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    diffs = shape_diff(json.loads(capture.read_text()), response.json())
    if _firmware(capture) == host.device.identity.fw:
        assert diffs == []
    else:
        unexplained = [
            diff
            for diff in diffs
            if not any(re.fullmatch(rule, diff) for rule in DROPPED_SINCE_OLDER_FIRMWARE)
        ]
        assert unexplained == []


def test_every_model_has_a_capture_at_its_firmware_or_says_why() -> None:
    """Models without a capture of their firmware mark the firmware string as inferred."""
    for model, profile in all_profiles().items():
        firmwares = {_firmware(p) for p in (CAPTURES / model).glob("*.json")}
        if profile.fw not in firmwares:
            assert str(profile.raw.get("fw_source", "")).startswith("inferred"), model
