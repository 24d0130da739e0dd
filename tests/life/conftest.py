"""The device's life and time: the suite's runtime and make_device, on a ManualClock that starts
where each test needs it (this ``clock`` overrides the root one)."""

from __future__ import annotations

from datetime import datetime

import pytest

from emulator.core.clock import ManualClock


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
