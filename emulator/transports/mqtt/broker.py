"""MQTT brokers the project starts itself. The embedded one (amqtt, pure Python) means that
``make run`` and ``make test`` need nothing installed. It runs on a loop thread of its own,
apart from the devices' runtime, so it can be stopped and started again under running devices
(a broker outage) and its work never delays a device's HTTP answer.

Anonymous clients are allowed; ``users`` (name -> password) turns authentication on, for
testing ``mqtt_user``/``mqtt_pass``. ``MosquittoBroker`` runs mosquitto instead, when it is
installed, so the same tests also run against a reference broker.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amqtt.broker import Broker
from amqtt.contexts import BaseContext
from amqtt.plugins.authentication import BaseAuthPlugin
from amqtt.session import Session

__all__ = ["EmbeddedBroker", "MosquittoBroker", "UsersAuthPlugin"]

logger = logging.getLogger(__name__)

#: Seconds allowed for the broker to start or shut down.
_START_TIMEOUT = 30


class UsersAuthPlugin(BaseAuthPlugin):
    """amqtt authentication against a fixed user table (plain text: a test broker)."""

    @dataclass
    class Config:
        users: dict[str, str] = field(default_factory=dict)

    def __init__(self, context: BaseContext) -> None:
        super().__init__(context)

    async def authenticate(self, *, session: Session) -> bool | None:
        users: Mapping[str, str] = self._get_config_option("users", {})
        return session.username in users and users[session.username] == session.password


class EmbeddedBroker:
    """amqtt on ``host:port`` (port 0: a free one, chosen at the first start and kept, so
    devices reconnect to the same address after ``stop()`` and ``start()``)."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, users: Mapping[str, str] | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.users = dict(users or {})
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: Broker | None = None

    @property
    def address(self) -> str:
        """``host:port``, as ``mqtt_server`` takes it."""
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._broker is not None

    def _config(self) -> dict[str, Any]:
        auth: dict[str, Any] = (
            {"emulator.transports.mqtt.broker.UsersAuthPlugin": {"users": self.users}}
            if self.users
            else {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}
        )
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": auth,
        }

    def start(self) -> EmbeddedBroker:
        if self._broker is not None:
            return self
        if self._thread is None:
            self._start_thread()
        self._run(self._start())
        return self

    def _start_thread(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="shelly-emu-mqtt-broker", daemon=True)
        self._thread.start()
        ready.wait(_START_TIMEOUT)

    def _run(self, coro: Any) -> Any:
        assert self._loop is not None
        future: concurrent.futures.Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(_START_TIMEOUT)

    async def _start(self) -> None:
        broker = Broker(self._config())
        await broker.start()
        if self.port == 0:
            server = broker._servers["default"].instance  # amqtt keeps the asyncio.Server here
            assert isinstance(server, asyncio.Server)
            self.port = server.sockets[0].getsockname()[1]
        self._broker = broker

    def stop(self) -> None:
        """Shut the broker down (clients see their connection drop); ``start()`` brings it back
        on the same address."""
        broker, self._broker = self._broker, None
        if broker is not None:
            self._run(broker.shutdown())

    def close(self) -> None:
        """Stop the broker and its thread."""
        self.stop()
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(_START_TIMEOUT)
            self._loop.close()
        self._loop = None
        self._thread = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class MosquittoBroker:
    """mosquitto (the Debian package) as a child process on ``host:port``, for running the same
    tests against a reference broker. Anonymous access only; ``stop()`` kills it (clients see
    the connection drop) and ``start()`` runs it again on the same address."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or _free_port(host)
        self._process: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="shelly-emu-mosquitto-")

    @staticmethod
    def available() -> bool:
        return shutil.which("mosquitto") is not None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None

    def start(self) -> MosquittoBroker:
        if self._process is not None:
            return self
        config = Path(self._dir.name) / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} {self.host}\nallow_anonymous true\npersistence false\n"
        )
        binary = shutil.which("mosquitto")
        if binary is None:
            raise FileNotFoundError("mosquitto is not on PATH")
        self._process = subprocess.Popen(
            [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 1):
                return self
            if self._process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mosquitto did not start on {self.address}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait(_START_TIMEOUT)

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
