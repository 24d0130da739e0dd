"""The device's own page at ``/``: served like every endpoint (Basic auth), it reads the
device through the Gen1 API and its buttons drive it (checked over HTTP with requests)."""

from __future__ import annotations

from collections.abc import Callable

import requests
from playwright.sync_api import Browser, Page, expect

from emulator.runtime import DeviceHost

from .conftest import DOCS


def test_relay_button_switches_the_device(page: Page, make_device: Callable[..., DeviceHost]):
    plug = make_device("SHPLG-S")
    plug.get("relay/0", turn="off")
    plug.world.set_load(0, 42.5)
    page.goto(plug.url + "/")
    relay = page.locator("#relay-0 .state")
    expect(relay).to_have_text("OFF")
    expect(page.locator("#device")).to_contain_text("SHPLG-S")
    expect(page.locator("#device")).to_contain_text(plug.device.identity.mac)

    page.click("#relay-0-toggle")

    expect(relay).to_have_text("ON")
    assert requests.get(plug.url + "/relay/0", timeout=5).json()["ison"] is True
    expect(page.locator("#relay-0 .power")).to_have_text("42.5 W")
    page.screenshot(path=DOCS / "device-page.png", full_page=True)


def test_panels_follow_the_profile(page: Page, make_device: Callable[..., DeviceHost]):
    page.goto(make_device("SHSW-21", settings={"mode": "roller"}).url + "/")
    expect(page.locator("#roller-0")).to_be_visible()
    expect(page.locator("#relay-0")).to_have_count(0)
    page.goto(make_device("SHBLB-1").url + "/")
    expect(page.locator("#light-0")).to_be_visible()
    expect(page.locator("#roller-0")).to_have_count(0)


def test_page_is_behind_basic_auth(browser: Browser, make_device: Callable[..., DeviceHost]):
    host = make_device("SHSW-1", login=("admin", "s3cret"))
    answer = requests.get(host.url + "/", timeout=5)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Basic realm=")
    context = browser.new_context(http_credentials={"username": "admin", "password": "s3cret"})
    page = context.new_page()
    page.goto(host.url + "/")
    expect(page.locator("#relay-0 .state")).to_have_text("OFF")
    page.click("#relay-0-toggle")
    expect(page.locator("#relay-0 .state")).to_have_text("ON")
    assert requests.get(host.url + "/relay/0", auth=("admin", "s3cret"), timeout=5).json()["ison"]
    context.close()
