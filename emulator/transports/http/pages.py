"""Web pages: the device's own page at ``/`` (app.py) and the fleet dashboard at ``/_emu/``
(emulator/fleet/dashboard.py), issue 15.

Plain HTML, CSS and JS from package data (no build step, no CDN): the pages work offline and
drive the same HTTP APIs a client uses, so they also exercise them.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

__all__ = ["page"]


@cache
def page(name: str) -> str:
    """The text of a static page shipped in ``emulator/transports/http/static``."""
    return files(__package__).joinpath("static", name).read_text(encoding="utf-8")
