"""A real MQTT client for the tests (paho-mqtt, the library behind aiomqtt and many Shelly
integrations): it subscribes, records every message and waits for the ones a test expects."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

#: Upper bound on any wait in these tests (a broken emulator fails, it does not hang).
WAIT = 15.0


@dataclass(frozen=True)
class Message:
    topic: str
    payload: str
    retain: bool


class Watcher:
    """Subscribed to ``topics`` on ``host:port``; ``messages`` in arrival order."""

    def __init__(self, host: str, port: int, *topics: str) -> None:
        self.messages: list[Message] = []
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()
        self.client.subscribe([(topic, 0) for topic in topics or ("shellies/#",)])
        if not self._subscribed.wait(WAIT):
            raise TimeoutError("the broker did not confirm the subscription")

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        with self._changed:
            self.messages.append(
                Message(message.topic, message.payload.decode(errors="replace"), message.retain)
            )
            self._changed.notify_all()

    def publish(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload).wait_for_publish(WAIT)

    def wait(
        self, predicate: Callable[[list[Message]], bool], what: str, timeout: float = WAIT
    ) -> list[Message]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.messages):
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = "\n".join(f"  {m.topic} {m.payload[:80]}" for m in self.messages[-30:])
                    raise TimeoutError(f"no {what} within {timeout} s; last messages:\n{seen}")
                self._changed.wait(left)
            return list(self.messages)

    def wait_for(self, topic: str, payload: str | None = None, *, after: int = 0) -> Message:
        """The first message on ``topic`` (with ``payload``) among messages[after:]."""

        def found(messages: list[Message]) -> bool:
            return any(
                m.topic == topic and (payload is None or m.payload == payload)
                for m in messages[after:]
            )

        self.wait(found, f"{topic} {payload or ''}".strip())
        return next(
            m
            for m in self.messages[after:]
            if m.topic == topic and (payload is None or m.payload == payload)
        )

    def latest(self, topic: str) -> str | None:
        with self._changed:
            return next((m.payload for m in reversed(self.messages) if m.topic == topic), None)

    def count(self, topic: str) -> int:
        with self._changed:
            return sum(1 for m in self.messages if m.topic == topic)

    def mark(self) -> int:
        with self._changed:
            return len(self.messages)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
