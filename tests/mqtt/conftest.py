from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from emulator.harness.mqtt_broker import MqttBroker

from .watcher import Watcher


@pytest.fixture
def watch(shelly_mqtt_broker: MqttBroker) -> Iterator[Callable[..., Watcher]]:
    """Factory: a subscribed MQTT client on the test's broker (``shellies/#`` by default)."""
    watchers: list[Watcher] = []

    def make(*topics: str) -> Watcher:
        watcher = Watcher(shelly_mqtt_broker.host, shelly_mqtt_broker.port, *topics)
        watchers.append(watcher)
        return watcher

    yield make
    for watcher in watchers:
        watcher.close()
