"""The demo's MQTT: an embedded broker, one device connected to it, and how to watch it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..transports.mqtt.broker import EmbeddedBroker
from ..transports.mqtt.client import MqttClients

if TYPE_CHECKING:
    from ..runtime import DeviceHost, Runtime

__all__ = ["start_demo_mqtt"]


def start_demo_mqtt(runtime: Runtime, host: DeviceHost) -> tuple[EmbeddedBroker, str]:
    """Start a broker on 127.0.0.1 (1883 when free), turn MQTT on for ``host`` (settings, then
    a reboot: firmware applies MQTT settings at boot); the broker and a note to print."""
    broker = EmbeddedBroker("127.0.0.1", 1883)
    try:
        broker.start()
    except Exception:  # 1883 taken (a system mosquitto): any free port
        broker.close()
        broker = EmbeddedBroker("127.0.0.1", 0).start()
    MqttClients.attach(runtime)
    # Retained, so a watcher sees the state at once instead of at the next change.
    host.get("settings", mqtt_enable="1", mqtt_server=broker.address, mqtt_retain="1")
    runtime.call(lambda: host.act(host.device.reboot))
    mqtt_id = host.device.identity.hostname
    watch = (
        f'python -c "import paho.mqtt.subscribe as s; s.callback(lambda c, u, m: '
        f"print(m.topic, m.payload.decode()), 'shellies/#', hostname='{broker.host}', "
        f'port={broker.port})"'
    )
    return broker, "\n".join(
        [
            "",
            f"MQTT broker (embedded amqtt) {broker.address}; {mqtt_id} publishes to it:",
            f"  watch   mosquitto_sub -h {broker.host} -p {broker.port} -t 'shellies/#' -v",
            f"          or .venv/bin/{watch}",
            f"  command mosquitto_pub -h {broker.host} -p {broker.port} "
            f"-t shellies/{mqtt_id}/relay/0/command -m toggle",
        ]
    )
