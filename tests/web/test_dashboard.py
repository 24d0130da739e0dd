"""The fleet dashboard at the control API's ``/_emu/``: it lists the fleet, its world actions
change devices (checked over HTTP), and changes made elsewhere arrive through its event stream."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Page, expect

from emulator.clock import ManualClock
from emulator.fleet import Fleet
from emulator.fleet.control import serve
from emulator.fleet.spec import parse_fleet
from emulator.transports.net import free_loopback_address, free_loopback_block

from .conftest import DOCS


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    first = free_loopback_block(3)
    spec = parse_fleet(
        {
            "devices": [
                {"model": "SHPLG-S", "count": 2, "address": first, "name": "Plug {n}"},
                {"model": "SHHT-1", "address": first.rsplit(".", 1)[0] + ".3"},
            ]
        }
    )
    with Fleet(spec, clock=ManualClock()) as fleet:
        yield fleet


@pytest.fixture
def dashboard(fleet: Fleet) -> Iterator[str]:
    base = serve(fleet.control, free_loopback_address(8080), 8080)
    yield f"{base}/_emu/"
    fleet.control.close()


def row_of(page: Page, device_id: str):
    return page.locator(f'tr[data-id="{device_id}"]')


def test_lists_the_fleet_and_filters_it(page: Page, fleet: Fleet, dashboard: str) -> None:
    page.goto(dashboard)
    expect(page.locator("#rows tr")).to_have_count(3)
    ids = [member.id for member in fleet]
    for member in fleet:
        expect(row_of(page, member.id)).to_contain_text(member.host.model)
        expect(row_of(page, member.id)).to_contain_text(member.host.ip)
    page.fill("#search", "SHHT")
    expect(page.locator("#rows tr")).to_have_count(1)
    expect(row_of(page, ids[2])).to_be_visible()
    page.fill("#search", "")
    expect(page.locator("#rows tr")).to_have_count(3)


def test_world_action_from_the_page_changes_the_device(
    page: Page, fleet: Fleet, dashboard: str
) -> None:
    plug = fleet[0]
    plug.get("relay/0", turn="on")
    page.goto(dashboard)
    row_of(page, fleet.members[0].id).click()
    page.select_option("#action", "set_load")
    page.fill("#action-params", "channel=0 watts=75")
    page.click("#run-action")
    expect(row_of(page, fleet.members[0].id)).to_contain_text("75.0 W")
    assert requests.get(plug.url + "/meter/0", timeout=5).json()["power"] == 75
    page.click("text=go offline")
    expect(row_of(page, fleet.members[0].id)).to_contain_text("offline")
    assert fleet.control.faults(plug.ip)["offline"] is True
    page.screenshot(path=DOCS / "dashboard.png", full_page=True)


def test_a_change_over_http_appears_within_a_second(
    page: Page, fleet: Fleet, dashboard: str
) -> None:
    plug = fleet[1]
    plug.get("relay/0", turn="off")
    page.goto(dashboard)
    row = row_of(page, fleet.members[1].id)
    expect(row).to_contain_text("relay 0 off")
    expect(page.locator("#live")).to_have_text("live")
    requests.get(plug.url + "/relay/0?turn=on", timeout=5)
    expect(row).to_contain_text("relay 0 on", timeout=1000)


def test_power_sparkline_of_a_metered_device(page: Page, fleet: Fleet, dashboard: str) -> None:
    plug = fleet[0]
    plug.get("relay/0", turn="on")
    page.goto(dashboard)
    row_of(page, fleet.members[0].id).click()
    expect(page.locator("#spark-label")).to_contain_text("power 0 W")
    page.select_option("#action", "set_load")
    page.fill("#action-params", "channel=0 watts=75")
    page.click("#run-action")
    expect(page.locator("#spark-label")).to_contain_text("power 75 W (max 75 W")
    points = page.locator("#spark polyline").get_attribute("points") or ""
    heights = [float(point.split(",")[1]) for point in points.split()]
    assert len(heights) >= 2 and heights[0] > heights[-1] == min(heights)  # 0 W, then the top
    row_of(page, fleet.members[2].id).click()  # the H&T has no meter: no sparkline
    expect(page.locator("#detail h2")).to_contain_text("SHHT-1")
    expect(page.locator("#spark")).to_have_count(0)
