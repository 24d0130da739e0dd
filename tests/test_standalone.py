"""The repository stands alone: the suite's data-reading tests pass from a copy of the tree in an
empty folder, with nothing beside it (a user's clone, a fork's CI, an sdist). ``.ci/run`` does
the same for the whole suite from a fresh ``git clone``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Every test module that reads reference data (tests/data) or profiles from disk.
DATA_READERS = [
    "tests/api/test_capture_shapes.py",
    "tests/coiot/test_codec.py",
    "tests/coiot/test_description.py",
    "tests/conformance/test_schemas.py",
    "tests/conformance/test_units.py",
    "tests/sensors/test_shapes.py",
]


def _tracked_files() -> list[str]:
    """Files a clone would have: tracked plus new, not ignored (so a change under test counts)."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    return [name for name in listing.stdout.decode().split("\0") if name]


def test_suite_data_lives_in_the_repository(tmp_path: Path) -> None:
    clone = tmp_path / "empty-folder" / "shelly-emu"
    for name in _tracked_files():
        source = ROOT / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    assert [entry.name for entry in clone.parent.iterdir()] == ["shelly-emu"]  # nothing beside
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *DATA_READERS],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout
