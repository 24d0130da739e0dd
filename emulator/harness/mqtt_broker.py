"""pytest fixtures for MQTT (registered by emulator/pytest_plugin.py).

    def test_relay_over_mqtt(shelly_device, shelly_mqtt_broker):
        relay = shelly_device("SHSW-1")
        shelly_mqtt_broker.connect(relay)            # mqtt_enable, mqtt_server, reboot, wait
        # any MQTT client on shelly_mqtt_broker.host/.port now sees shellies/<id>/...

``shelly_mqtt_broker`` is the embedded amqtt broker on a free loopback address; when mosquitto
is installed the fixture runs each test a second time against mosquitto.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from typing import Any, Protocol

import pytest

from ..runtime import DeviceHost, Runtime
from ..transports.mqtt.broker import EmbeddedBroker, MosquittoBroker
from ..transports.mqtt.client import MqttClients
from ..transports.net import free_loopback_address

__all__ = ["MqttBroker", "shelly_mqtt_broker"]

#: Brokers the MQTT tests run against: always the embedded one, mosquitto when installed.
BROKERS = ["amqtt", *(["mosquitto"] if shutil.which("mosquitto") else [])]


class _Broker(Protocol):
    host: str
    port: int

    @property
    def address(self) -> str: ...
    @property
    def running(self) -> bool: ...
    def start(self) -> Any: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


class MqttBroker:
    """A running broker for a test: ``host``, ``port``, ``address`` (``host:port``), ``kind``
    (amqtt or mosquitto), ``stop()``/``start()`` for an outage, ``connect(device)``."""

    def __init__(self, broker: _Broker, kind: str, runtime: Runtime) -> None:
        self.broker = broker
        self.kind = kind
        self.runtime = runtime
        self.clients = MqttClients.attach(runtime)

    @property
    def host(self) -> str:
        return self.broker.host

    @property
    def port(self) -> int:
        return self.broker.port

    @property
    def address(self) -> str:
        return self.broker.address

    def start(self) -> None:
        self.broker.start()

    def stop(self) -> None:
        self.broker.stop()

    def connect(self, device: Any, timeout: float = 15.0, **settings: Any) -> DeviceHost:
        """Point a device (EmulatedDevice or DeviceHost) at this broker, reboot it so that the
        settings take effect (as firmware needs), and wait until it is connected. ``settings``
        are extra ``mqtt_*`` /settings parameters."""
        host: DeviceHost = getattr(device, "host", device)
        host.get("settings", mqtt_enable="1", mqtt_server=self.address, **settings)
        self.runtime.call(lambda: host.act(host.device.reboot))
        self.wait_connected(host, True, timeout)
        return host

    def wait_connected(self, device: Any, connected: bool = True, timeout: float = 15.0) -> None:
        """Wait until the device's /status shows ``mqtt.connected`` == ``connected``."""
        host: DeviceHost = getattr(device, "host", device)
        deadline = time.monotonic() + timeout
        while host.status()["mqtt"]["connected"] is not connected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"mqtt.connected did not become {connected} in {timeout} s")
            time.sleep(0.02)


@pytest.fixture(params=BROKERS)
def shelly_mqtt_broker(
    request: pytest.FixtureRequest, shelly_runtime: Runtime
) -> Iterator[MqttBroker]:
    """An MQTT broker on a free loopback address for this test (amqtt; mosquitto too when
    installed), with MQTT clients attached to the test's devices."""
    host = free_loopback_address(1883)
    broker: _Broker = (
        EmbeddedBroker(host, 1883) if request.param == "amqtt" else MosquittoBroker(host, 1883)
    )
    broker.start()
    try:
        yield MqttBroker(broker, request.param, shelly_runtime)
    finally:
        broker.close()
