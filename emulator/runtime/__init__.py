"""The runtime: one asyncio loop hosting devices, with their clock, state and physical world.

``from emulator.runtime import Runtime, DeviceHost`` is the public way in.
"""

from typing import Any

__all__ = ["DeviceHost", "Runtime"]


def __getattr__(name: str) -> Any:
    if name == "Runtime":
        from .runtime import Runtime

        return Runtime
    if name == "DeviceHost":
        from .host import DeviceHost

        return DeviceHost
    raise AttributeError(name)
