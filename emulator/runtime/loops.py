"""The event loop a runtime runs on: plain asyncio, or uvloop when asked for and installed.

uvloop (libuv under the asyncio API, a well-kept library) makes socket reads and writes cheaper,
which is most of what a device answering GET /status costs once its answer is cached (issue 14:
``make bench`` measures both). Plain asyncio stays the default and the fallback, so nothing
depends on uvloop being there: ``pip install uvloop`` (or the ``fast`` extra) to use it.
"""

from __future__ import annotations

import asyncio
import logging
import os

__all__ = ["LOOPS", "LOOP_ENV", "new_loop"]

logger = logging.getLogger(__name__)

LOOPS = ("asyncio", "uvloop")
#: Environment variable choosing the loop when no option does (``uvloop`` or ``asyncio``).
LOOP_ENV = "SHELLY_EMU_LOOP"


def new_loop(kind: str | None = None) -> asyncio.AbstractEventLoop:
    """A new event loop of ``kind`` (default: $SHELLY_EMU_LOOP, else plain asyncio)."""
    kind = kind or os.environ.get(LOOP_ENV) or "asyncio"
    if kind not in LOOPS:
        raise ValueError(f"unknown event loop {kind!r}: one of {', '.join(LOOPS)}")
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError:
            logger.warning("uvloop is not installed (pip install uvloop): plain asyncio instead")
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()
