"""The compiled /status and /shelly plans render exactly what walking the template renders."""

from __future__ import annotations

import pytest

from emulator.core.clock import ManualClock
from emulator.core.device import Device
from emulator.core.identity import derive_mac, make_identity
from emulator.runtime.profiles import all_profiles


def _device(model: str) -> Device:
    profile = all_profiles()[model]
    mac = derive_mac(profile.mac_prefix, model)
    identity = make_identity(model, profile.hostname_prefix, mac, profile.fw, longid=False)
    return Device(profile, identity, ManualClock().now())


@pytest.mark.parametrize("model", sorted(all_profiles()))
def test_compiled_plans_match_template_walk(model: str) -> None:
    """Same keys, order and values as filling the identity-resolved template leaf by leaf."""
    device = _device(model)
    clock = ManualClock()
    clock.advance(61)
    now = clock.now()
    render = device.renderer
    for template, compiled in (
        (device.profile.status, render.status(now)),
        (device.profile.shelly, render.shelly(now)),
    ):
        walked = render.fill(render.resolve_identity(template), now, settings=False)
        assert compiled == walked
        assert list(compiled) == list(walked)


def test_rendered_status_shares_no_container_with_the_template() -> None:
    """Mutating a rendered body never leaks into the next render."""
    device = _device("SHSW-1")
    now = ManualClock().now()
    first = device.renderer.status(now)
    first["update"]["status"] = "mutated"
    first["relays"].append({})
    second = device.renderer.status(now)
    assert second["update"]["status"] == "idle"
    assert len(second["relays"]) == 1
