"""The device's outward channels besides HTTP and CoIoT: MQTT clients and URL actions. Both are
idle until a device enables them, so every fleet attaches them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .actions import UrlCallbacks
from .mqtt.client import MqttClients

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["attach_outward"]


def attach_outward(runtime: Runtime) -> tuple[MqttClients, UrlCallbacks]:
    """The runtime's MQTT and URL-action transports (created once per runtime)."""
    return MqttClients.attach(runtime), UrlCallbacks.attach(runtime)
