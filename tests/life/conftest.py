"""The device's life and time: a runtime whose ManualClock starts where each test needs it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from emulator.core.clock import ManualClock
from emulator.runtime import DeviceHost, Runtime
from emulator.transports.net import free_loopback_address

from ..conftest import HTTP_PORT


def unix(iso: str) -> float:
    """``2024-03-30T12:00:00+00:00`` -> unix seconds (tests name instants in UTC)."""
    return datetime.fromisoformat(iso).timestamp()


@pytest.fixture
def start_at() -> str:
    """Where the clock starts; a test overrides it with ``@pytest.mark.parametrize``."""
    return "2024-01-01T00:00:00+00:00"


@pytest.fixture
def clock(start_at: str) -> ManualClock:
    return ManualClock(unix=unix(start_at))


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
