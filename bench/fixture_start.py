"""Fixture start time: what ``shelly_device`` and ``shelly_fleet`` do before a test body runs
(runtime thread, device(s) bound and served), until the device answers GET /shelly.

Measured through pytest itself: a generated test module uses the fixtures and records
timings, run by ``pytest -p shelly_emu`` in a child process (so plugin start-up is real).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from bench._common import emit

ROUNDS = 20

_TESTS = textwrap.dedent(
    """
    import json, os, time, pytest, requests

    TIMES = {"device": [], "fleet100": []}

    @pytest.fixture
    def t0():
        return time.perf_counter()

    @pytest.mark.parametrize("round_", range(ROUNDS))
    def test_device(t0, shelly_device, round_):
        device = shelly_device("SHSW-1")
        requests.get(device.url + "/shelly", timeout=5).raise_for_status()
        TIMES["device"].append(time.perf_counter() - t0)

    @pytest.mark.parametrize("round_", range(5))
    def test_fleet(t0, shelly_fleet, round_):
        fleet = shelly_fleet({"devices": [{"model": "SHPLG-S", "count": 100}]})
        requests.get(fleet[99].url + "/shelly", timeout=5).raise_for_status()
        TIMES["fleet100"].append(time.perf_counter() - t0)

    def test_zz_write():
        with open(os.environ["FIXTURE_TIMES"], "w") as out:
            json.dump(TIMES, out)
    """
).replace("ROUNDS", str(ROUNDS))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        module = Path(tmp) / "test_fixture_start.py"
        module.write_text(_TESTS)
        times = Path(tmp) / "times.json"
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(module)],
            check=True,
            cwd=tmp,
            env={**os.environ, "FIXTURE_TIMES": str(times)},
            capture_output=True,
            timeout=300,
        )
        result = json.loads(times.read_text())
    device = [t * 1000 for t in result["device"]]
    fleet = [t * 1000 for t in result["fleet100"]]
    emit(
        "fixtures",
        "shelly_device up and answering: median",
        round(statistics.median(device), 1),
        "ms",
        "<= 30 ms",
    )
    emit("fixtures", "shelly_device up and answering: max", round(max(device), 1), "ms")
    emit(
        "fixtures",
        "shelly_fleet of 100 up: median",
        round(statistics.median(fleet)),
        "ms",
        "<= 1,000 ms",
    )
    emit("fixtures", "shelly_fleet of 100 up: max", round(max(fleet)), "ms")


if __name__ == "__main__":
    main()
