"""The fake cloud's control-plane page at ``/_fake/``: it lists users, grants and connected
integrators, and an event a linked emulated device causes shows up in its recent events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from emulator.transports.cloud_wiring import cloud_id, link_to_cloud, register_device
from fake_cloud import CloudConfig, FakeCloud
from tests.cloud.support import CallbackServer, WsClient, wait_online
from tests.cloud.support import browser as https_session

from .conftest import DOCS

TAG, SECRET = "ITG_PAGE", "page-secret"


@pytest.fixture
def cloud() -> Iterator[FakeCloud]:
    with FakeCloud(CloudConfig()) as cloud:
        yield cloud


@pytest.fixture
def cloud_page(browser: Browser) -> Iterator[Page]:
    """A page that trusts the cloud's own test CA (the certificate is for its addresses)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, ignore_https_errors=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_lists_users_grants_integrators_and_a_relay_event(
    cloud: FakeCloud, cloud_page: Page, runtime, make_device
) -> None:
    alice = cloud.control.create_user("alice@example.com", "alice-pw", cloud.server_names[0])
    link_to_cloud(runtime, cloud)
    relay = make_device("SHSW-1")
    register_device(cloud, relay, alice.id)
    wait_online(cloud, cloud_id(relay))
    cloud.control.create_integrator(TAG, SECRET)
    callbacks = CallbackServer()
    try:
        cloud.control.grant(TAG, alice.id, [cloud_id(relay)], callbacks.url)
    finally:
        callbacks.stop()
    socket = WsClient(cloud.ws_url(cloud.control.integrator_token(TAG)), cloud)
    try:
        page = cloud_page
        page.goto(f"{cloud.api_url}/_fake/")
        expect(page.locator("#users")).to_contain_text("alice@example.com")
        grant = page.locator("#grants tr")
        expect(grant).to_have_count(1)
        expect(grant).to_contain_text(TAG)
        expect(grant).to_contain_text(cloud_id(relay))
        expect(grant).to_contain_text("control")
        expect(page.locator("#integrators")).to_contain_text("1 connected")
        expect(page.locator("#devices")).to_contain_text("online (linked)")

        requests.get(f"{relay.url}/relay/0", params={"turn": "on"}, timeout=5)
        pushed = page.locator("#events tr[data-kind=link_in]", has_text="relay 0 on")
        expect(pushed.first).to_contain_text(cloud_id(relay))
        told = page.locator("#events tr[data-kind=ws_out]", has_text="Shelly:StatusOnChange")
        expect(told.first).to_contain_text(TAG)
        expect(told.first).to_contain_text("relay 0 on")
        page.screenshot(path=DOCS / "cloud.png", full_page=True)
    finally:
        socket.close()


def test_overview_sends_only_newer_events_and_no_secrets(cloud: FakeCloud) -> None:
    """What the page polls: records after its last one, bounded; no passwords, no tokens."""
    cloud.control.create_user("bob@example.com", "bob-secret-pw", cloud.server_names[0])
    cloud.control.create_integrator(TAG, SECRET)
    session = https_session(cloud)
    for _ in range(3):  # recorded: the cloud's own REST answers, refused here (no token)
        session.get(f"{cloud.api_url}/device/all_status", timeout=5)
    url = f"{cloud.api_url}/_fake/overview"
    first = session.get(url, timeout=5).json()["data"]
    assert [r["kind"] for r in first["events"]] == ["rest"] * 3
    assert first["seq"] == first["events"][-1]["seq"]
    assert "bob-secret-pw" not in str(first) and SECRET not in str(first)
    assert first["integrators"] == [{"tag": TAG, "sockets": 0}]
    session.get(f"{cloud.api_url}/device/all_status", timeout=5)
    newer = session.get(url, params={"after": first["seq"]}, timeout=5).json()["data"]
    assert [r["seq"] for r in newer["events"]] == [first["seq"] + 1]
    refused = session.get(url, params={"after": "soon"}, timeout=5)
    assert refused.status_code == 400 and first["seq"] + 1 == newer["seq"]
