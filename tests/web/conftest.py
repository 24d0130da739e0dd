"""A headless Chromium for the page tests (Debian's ``chromium`` package, driven by Playwright).

No browser is downloaded: when Chromium is missing the tests FAIL with how to install it, so
CI cannot pass without having looked at the pages (.ci/run installs it when it runs as root).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

#: Where the test run writes the pages' screenshots: a temporary folder, so `make test` leaves
#: the tree clean; `make screenshots` sets SHELLY_EMU_SCREENSHOTS=docs to refresh the committed
#: ones shown in the docs.
DOCS = Path(
    os.environ.get("SHELLY_EMU_SCREENSHOTS") or Path(tempfile.gettempdir()) / "shelly-emu-pages"
).resolve()
DOCS.mkdir(parents=True, exist_ok=True)
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    given = os.environ.get("SHELLY_EMU_CHROMIUM")
    if given:
        return given
    return next((p for p in map(shutil.which, _CANDIDATES) if p), None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        pytest.fail(
            "no Chromium found for the browser tests: install it with "
            "`apt-get install -y chromium chromium-driver` (or set SHELLY_EMU_CHROMIUM)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
