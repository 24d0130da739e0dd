"""The runtime: one asyncio loop hosting devices, with their clock, state and physical world.

``from emulator.runtime import Runtime, DeviceHost`` is the public way in.
"""

from .host import DeviceHost
from .runtime import Runtime

__all__ = ["DeviceHost", "Runtime"]
