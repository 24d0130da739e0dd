"""One MQTT client per device whose MQTT is enabled (spec/mqtt.md §2-§4), on aiomqtt.

The connection uses the settings in force since the device's last boot (core/mqtt.py): client
id ``mqtt.id``, credentials, keep-alive, clean session, last will ``shellies/<id>/online`` =
``false``. It binds to the device's own address, so a broker sees each device at its IP. On
connect: ``online`` = ``true``, the announce on ``shellies/announce`` and
``shellies/<id>/announce``, every state topic and ``shellies/<id>/info`` (the /status JSON);
then each state topic again whenever its payload changes, and everything every
``mqtt_update_period`` s. Commands on ``shellies/command``, ``shellies/<id>/command`` and the
model's command topics are served like HTTP requests; anything else is ignored.

``mqtt.connected`` in /status is true exactly while the broker has the session. A lost
connection is retried after ``reconnect_timeout_min`` s, doubling up to ``_max``. Battery
devices connect only while awake and disconnect cleanly (no will) when they fall asleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from typing import TYPE_CHECKING, Any

import aiomqtt

from ...core.errors import DeviceError
from ...core.events import Event, InputEvent, MqttDue, Rebooted, StatusChanged
from ...core.mqtt import Mqtt
from ..request_log import RequestRecord
from .topics import TopicTable, load_topics

if TYPE_CHECKING:
    from ..hosting import Host, Hosting

__all__ = ["MqttClients"]

logger = logging.getLogger(__name__)

#: Seconds a connection attempt may take before it counts as failed.
CONNECT_TIMEOUT = 10.0
#: Messages waiting to be sent per device; past this a device drops its oldest state updates
#: (a broker that cannot keep up) rather than grow without bound.
QUEUE_LIMIT = 1_000
_DEFAULT_PORT = 1883
_STOP = None


def parse_server(server: str) -> tuple[str, int] | None:
    """``mqtt_server`` (``host:port``, port 1883 when absent) or None when unusable."""
    host, _, port = str(server or "").strip().rpartition(":")
    if not host:
        host, port = port, ""
    if not host:
        return None
    try:
        number = int(port) if port else _DEFAULT_PORT
    except ValueError:
        return None
    return (host, number) if 0 < number < 65536 else None


class _Session:
    """One device's client: a task that connects, publishes and reconnects until stopped."""

    def __init__(self, clients: MqttClients, host: Host, config: dict[str, Any]) -> None:
        self.clients = clients
        self.host = host
        self.config = config
        self.server = parse_server(config.get("server", ""))
        self.mqtt_id = str(config.get("id") or host.device.identity.hostname)
        self.topics: TopicTable = load_topics(host.model)
        self.queue: asyncio.Queue[tuple[str, str, bool] | None] = asyncio.Queue()
        self.published: dict[str, str] = {}
        self.connected = False
        self.stopping = False
        self.task = asyncio.get_running_loop().create_task(self._run())

    @property
    def prefix(self) -> str:
        return f"shellies/{self.mqtt_id}"

    # --- connection ---------------------------------------------------------------------------

    def _client(self) -> aiomqtt.Client:
        assert self.server is not None
        config = self.config
        user = str(config.get("user") or "")
        return aiomqtt.Client(
            self.server[0],
            self.server[1],
            identifier=self.mqtt_id,
            username=user or None,
            password=str(config.get("pass") or "") if user else None,
            keepalive=int(config.get("keep_alive") or 60),
            clean_session=bool(config.get("clean_session", True)),
            will=aiomqtt.Will(
                f"{self.prefix}/online", "false", self.qos, retain=bool(config.get("retain"))
            ),
            bind_address=self.host.ip,
            timeout=CONNECT_TIMEOUT,
        )

    @property
    def qos(self) -> int:
        return int(self.config.get("max_qos") or 0)

    async def _run(self) -> None:
        low = float(self.config.get("reconnect_timeout_min") or 2)
        high = max(low, float(self.config.get("reconnect_timeout_max") or 60))
        delay = low
        while not self.stopping:
            try:
                async with self._client() as client:
                    delay = low
                    await self._serve(client)
            except (aiomqtt.MqttError, OSError) as error:
                logger.debug("%s: mqtt: %s", self.mqtt_id, error)
            finally:
                self.connected = False
                self._report(False)
            if self.stopping:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, high)

    async def _serve(self, client: aiomqtt.Client) -> None:
        own = [f"{self.prefix}/command", *(f"{self.prefix}/{t}" for t in self._command_topics())]
        await client.subscribe([("shellies/command", self.qos), *((t, self.qos) for t in own)])
        self._drain()
        self.connected = True
        self.announce(with_online=True)
        self.publish_state(full=True)
        self.publish_info()
        self._report(True)
        receiver = asyncio.ensure_future(self._receive(client))
        try:
            while True:
                getter = asyncio.ensure_future(self.queue.get())
                done, _ = await asyncio.wait(
                    {getter, receiver}, return_when=asyncio.FIRST_COMPLETED
                )
                if getter not in done:
                    getter.cancel()
                    receiver.result()  # the connection dropped: raises MqttError
                    return
                item = getter.result()
                if item is _STOP:
                    return  # leaving the client context disconnects cleanly: no will
                topic, payload, retain = item
                await client.publish(topic, payload, qos=self.qos, retain=retain)
                self._log("PUBLISH", topic, payload)
        finally:
            receiver.cancel()

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            text = payload.decode(errors="replace") if isinstance(payload, bytes) else str(payload)
            self._log("RECEIVE", str(message.topic), text)
            self.on_message(str(message.topic), text)

    def _report(self, connected: bool) -> None:
        """Tell the core (``mqtt.connected`` in /status), unless the device is gone."""
        host = self.host
        mqtt = _mqtt_of(host)
        if mqtt is not None and host in host.runtime.hosts:
            host.act(lambda now: mqtt.set_connected(connected, now))

    def stop(self) -> None:
        """Disconnect cleanly once what is queued is sent, and do not reconnect."""
        self.stopping = True
        self.queue.put_nowait(_STOP)
        if not self.connected:
            self.task.cancel()

    def close(self) -> None:
        self.stopping = True
        self.task.cancel()

    # --- publishing ------------------------------------------------------------------------------

    def _send(self, topic: str, payload: str, *, retain: bool = False) -> None:
        if not self.connected or self.stopping:
            return
        if self.queue.qsize() >= QUEUE_LIMIT:
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait((topic, payload, retain))

    def _drain(self) -> None:
        """Forget what was queued for a connection that is gone (firmware keeps no backlog)."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.published.clear()

    def _render(self) -> tuple[dict[str, Any], str | None]:
        device = self.host.device
        status = device.call("status", {}, self.host.now())
        assert isinstance(status, dict)
        return status, device.mode

    def announce(self, *, with_online: bool = False) -> None:
        """``online`` (on connect), then the announce on both topics (spec/mqtt.md §3)."""
        retain = bool(self.config.get("retain"))
        if with_online:
            self._send(f"{self.prefix}/online", "true", retain=retain)
        device = self.host.device
        identity = device.identity
        status, mode = self._render()
        body: dict[str, Any] = {"id": self.mqtt_id}
        if device.profile.modes is not None:  # "mode (if applicable)": SHSW-21, bulbs
            body["mode"] = mode
        body.update(
            model=identity.model,
            mac=identity.mac,
            ip=self.host.ip,
            new_fw=bool((status.get("update") or {}).get("has_update", False)),
            fw_ver=identity.fw,
        )
        text = json.dumps(body, separators=(",", ":"))
        self._send("shellies/announce", text)
        self._send(f"{self.prefix}/announce", text)

    def publish_info(self) -> None:
        status, _ = self._render()
        self._send(f"{self.prefix}/info", json.dumps(status, separators=(",", ":")))

    def publish_state(self, *, full: bool = False, also: tuple[str, ...] = ()) -> None:
        """State topics whose payload changed (every one when ``full``), plus ``also``."""
        if not self.connected:
            return
        status, mode = self._render()
        settings = None
        if self.topics.reads_settings:
            settings = self.host.device.call("settings", {}, self.host.now())
        retain = bool(self.config.get("retain"))
        for topic, payload in self.topics.state(status, settings, mode).items():
            if full or topic in also or self.published.get(topic) != payload:
                self.published[topic] = payload
                self._send(f"{self.prefix}/{topic}", payload, retain=retain)

    # --- commands --------------------------------------------------------------------------------

    def _command_topics(self) -> list[str]:
        status, _ = self._render()
        return list(self.topics.command_topics(status))

    def on_message(self, topic: str, payload: str) -> None:
        """A message on a subscribed topic: a common command, or one of the model's."""
        if topic in ("shellies/command", f"{self.prefix}/command"):
            command = payload.strip()
            if command == "announce":
                self.announce()
                self.publish_info()
            elif command == "update":
                self.publish_state(full=True)
            elif command == "update_fw":
                self._call("ota", {"update": "1"})
            return
        if not topic.startswith(f"{self.prefix}/"):
            return
        status, mode = self._render()
        call = self.topics.resolve(topic[len(self.prefix) + 1 :], payload, status, mode)
        if call is not None:
            self._call(*call)

    def _call(self, path: str, params: dict[str, str]) -> None:
        try:
            self.host.call(path, params)
        except DeviceError as error:  # a command the device refuses changes nothing
            logger.debug("%s: mqtt command /%s refused: %s", self.mqtt_id, path, error.message)

    def _log(self, method: str, topic: str, payload: str) -> None:
        runtime = self.host.runtime
        runtime.request_log.record(
            RequestRecord(
                runtime.clock.now().unix,
                "mqtt",
                self.host.device.identity.hostname,
                method,
                topic,
                payload[:256],
                0,
                0.0,
                f"{self.server[0]}:{self.server[1]}" if self.server else "",
            )
        )


def _mqtt_of(host: Host) -> Mqtt | None:
    return next((c for c in host.device.components if isinstance(c, Mqtt)), None)


class MqttClients:
    """Hosting transport: keeps one client per device whose MQTT is enabled and awake."""

    _attached: weakref.WeakKeyDictionary[Hosting, MqttClients] = weakref.WeakKeyDictionary()

    def __init__(self, runtime: Hosting) -> None:
        self.runtime = runtime
        self.sessions: dict[Host, _Session] = {}
        runtime.openers.append(self._sync)
        runtime.listeners.append(self.on_events)
        runtime.closers.append(self.on_close)
        runtime.call(lambda: [self._sync(host) for host in list(runtime.hosts)])

    @classmethod
    def attach(cls, runtime: Hosting) -> MqttClients:
        """The runtime's MQTT transport, created on first use."""
        clients = cls._attached.get(runtime)
        if clients is None:
            clients = cls._attached[runtime] = cls(runtime)
        return clients

    def session(self, host: Host) -> _Session | None:
        return self.sessions.get(host)

    def _sync(self, host: Host, *, rebooted: bool = False) -> None:
        """Connect while MQTT is enabled (settings in force) and the device is awake; a reboot
        ends the connection and starts a new one (which announces itself again)."""
        mqtt = _mqtt_of(host)
        config = mqtt.in_force if mqtt is not None else {}
        wanted = (
            bool(config.get("enable"))
            and parse_server(config.get("server", "")) is not None
            and not host.device.asleep
            and host in self.runtime.hosts
        )
        session = self.sessions.get(host)
        if session is not None and (not wanted or rebooted or session.config != config):
            self.sessions.pop(host).stop()
            session = None
        if wanted and session is None:
            self.sessions[host] = _Session(self, host, dict(config))

    def on_events(self, host: Host, events: list[Event]) -> None:
        self._sync(host, rebooted=any(isinstance(event, Rebooted) for event in events))
        session = self.sessions.get(host)
        if session is None or not session.connected:
            return
        pressed = tuple(
            topic
            for event in events
            if isinstance(event, InputEvent)
            for topic in session.topics.input_event_topics(event.channel, host.device.mode)
        )
        if any(isinstance(event, MqttDue) for event in events):
            session.publish_state(full=True)
            session.publish_info()
        elif pressed or any(isinstance(event, StatusChanged) for event in events):
            session.publish_state(also=pressed)

    def on_close(self, host: Host) -> None:
        session = self.sessions.pop(host, None)
        if session is not None:
            session.close()
