"""Errors the core raises; transports render them in their protocol's own form.

Seed 003, "HTTP dialect": error responses carry a 4xx code and a text/plain body.
"""

from __future__ import annotations

__all__ = ["BadRequest", "DeviceError", "NotFound", "Unavailable"]


class DeviceError(Exception):
    """A request the device refuses; ``status`` is the HTTP status a real device answers."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(DeviceError):
    """Malformed or out-of-range parameter; nothing was changed."""

    status = 400


class NotFound(DeviceError):
    """Unknown resource or channel index."""

    status = 404


class Unavailable(DeviceError):
    """The resource exists but not in the current mode (e.g. /relay on a Shelly2 in roller mode)."""

    status = 400
