"""Project-local helpers: a runtime on a ManualClock and a device factory on random loopback
addresses (port 80, as aioshelly requires), so suites running side by side never collide."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulator.core.clock import ManualClock
from emulator.runtime import DeviceHost, Runtime
from emulator.transports.net import free_loopback_address

HTTP_PORT = 80 if os.geteuid() == 0 else 0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def runtime(clock: ManualClock) -> Iterator[Runtime]:
    runtime = Runtime(clock).start()
    yield runtime
    runtime.stop()


@pytest.fixture
def make_device(runtime: Runtime) -> Callable[..., DeviceHost]:
    def make(model: str, **options: Any) -> DeviceHost:
        options.setdefault("http_port", HTTP_PORT)
        options.setdefault("ip", free_loopback_address(options["http_port"] or 80))
        return runtime.add_device(model, **options)

    return make
