"""Conformance tester for Shelly Gen1 devices, real or emulated, and capture of real devices.

- ``main(argv)``: ``shelly-emu conformance URL [--profile MODEL] [--login u:p] [--mutating]
  [--junit FILE] [--listen [HOST:PORT]]`` (``runner.py``), built on pytest: the checks are
  ``checks.py``, options and fixtures live in ``plugin.py`` (``pytest --shelly-target URL``).
- ``capture_main(argv)``: ``shelly-emu capture URL [--out DIR]`` (``capture.py``).
- ``schemas``: the JSON Schemas of ``profiles/schemas`` for (model, endpoint, firmware).
"""

from __future__ import annotations

__all__ = ["capture_main", "main"]


def main(argv: list[str] | None = None) -> int:
    """``shelly-emu conformance``; see ``emulator.conformance.runner``."""
    from .runner import main as run

    return run(argv)


def capture_main(argv: list[str] | None = None) -> int:
    """``shelly-emu capture``; see ``emulator.conformance.capture``."""
    from .capture import capture_main as run

    return run(argv)
