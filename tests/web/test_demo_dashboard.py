"""``shelly-emu demo`` (``make run``) as a person starts it: the dashboard's URL is the first
line, the dashboard serves every demo device, and the demo's table and cloud section follow."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Page, expect

from emulator.runtime.profiles import all_profiles
from emulator.transports.net import free_loopback_address, free_loopback_block

#: Seconds to wait for one line of the demo's output (it starts nine devices and a cloud).
LINE_TIMEOUT = 30


def _pump(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    for line in process.stdout or ():
        lines.put(line)


@pytest.fixture
def demo() -> Iterator[tuple[list[str], str]]:
    """The running demo: its output up to "Ctrl-C stops." and its control address."""
    models = len(all_profiles())
    first = free_loopback_block(models)
    cloud = free_loopback_block(4, 443)
    control = free_loopback_address(8080)
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator.cli", "demo", "--no-mdns", "--first-ip", first,
         "--cloud-ip", cloud, "--control", f"{control}:8080"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_pump, args=(process, lines), daemon=True).start()
    seen: list[str] = []
    try:
        for _ in range(100):
            seen.append(lines.get(timeout=LINE_TIMEOUT))
            if seen[-1].startswith("Ctrl-C stops."):
                break
        yield seen, f"{control}:8080"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=LINE_TIMEOUT)
    assert process.returncode == 0, "".join(seen)


def test_demo_prints_the_dashboard_first_and_serves_it(demo: tuple[list[str], str]) -> None:
    seen, control = demo
    assert seen[0] == f"dashboard http://{control}/_emu/\n", "".join(seen)
    assert seen[1].split()[:4] == ["model", "title", "id", "url"]
    assert any("battery: awake 180 s (setup mode)" in line for line in seen)
    assert any(line.startswith("fake Shelly Cloud") for line in seen)
    page = requests.get(f"http://{control}/_emu/", timeout=5)
    assert page.status_code == 200 and "shelly-emu fleet" in page.text
    rows = requests.get(f"http://{control}/_emu/rows", timeout=5).json()
    assert sorted(row["model"] for row in rows) == sorted(p.model for p in all_profiles().values())
    assert rows[0]["url"] in seen[2]


def test_the_demo_dashboard_shows_every_device(page: Page, demo: tuple[list[str], str]) -> None:
    _, control = demo
    page.goto(f"http://{control}/_emu/")
    expect(page.locator("#rows tr")).to_have_count(len(all_profiles()))
    expect(page.locator("#live")).to_have_text("live")
