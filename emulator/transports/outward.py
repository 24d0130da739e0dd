"""The device's outward channels besides HTTP and CoIoT: MQTT clients and URL actions. Both are
idle until a device enables them, so every fleet attaches them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.url_actions import UrlActions
from .actions import UrlCallbacks
from .mqtt.client import MqttClients

if TYPE_CHECKING:
    from .hosting import Host, Hosting

__all__ = ["attach_outward", "outward_state"]


def attach_outward(runtime: Hosting) -> tuple[MqttClients, UrlCallbacks]:
    """The runtime's MQTT and URL-action transports (created once per runtime)."""
    return MqttClients.attach(runtime), UrlCallbacks.attach(runtime)


def outward_state(host: Host) -> dict[str, Any]:
    """What the control API shows of a device's MQTT session and URL actions (loop thread)."""
    mqtt_clients = MqttClients._attached.get(host.runtime)
    session = mqtt_clients.session(host) if mqtt_clients is not None else None
    actions = next((c for c in host.device.components if isinstance(c, UrlActions)), None)
    return {
        "mqtt": None
        if session is None
        else {
            "server": session.config.get("server"),
            "id": session.mqtt_id,
            "connected": session.connected,
            "published": dict(session.published),
        },
        "url_actions": None if actions is None else actions.table(),
    }
