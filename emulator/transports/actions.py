"""URL actions: the HTTP GETs a device makes to the URLs its user configured in
``/settings/actions`` when an event happens (spec/mqtt.md §6; the table and the counter are in
emulator/core/url_actions.py, what triggers each action in profiles/actions/triggers.yaml).

Events are found by comparing each /status with the previous one (an output turned on, an
input fell, the roller stopped, a battery device woke up to report) and from button presses.
Each device calls its URLs one at a time, in order, from its own address, with a timeout and no
retry, on the runtime's loop: a slow or dead URL delays only that device's next callback, never
its HTTP API or its outputs. A failed call (refused, timed out, answered >= 400) or one that
finds the device's queue full counts in ``actions_stats.skipped``. Only devices with an enabled
action are watched, so a fleet without actions pays nothing.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp
import yaml

from ..core.events import Event, InputEvent
from ..core.url_actions import UrlActions
from .request_log import RequestRecord

if TYPE_CHECKING:
    from .hosting import Host, Hosting

__all__ = ["UrlCallbacks", "fired_actions", "load_triggers"]

logger = logging.getLogger(__name__)

#: Seconds one callback may take (connect and answer) before it counts as skipped.
CALLBACK_TIMEOUT = 5.0
#: Callbacks waiting per device; more are skipped (a dead URL cannot build an endless backlog).
QUEUE_LIMIT = 32

#: One event that calls an action: (name, index, query to append).
type Fired = tuple[str, int, dict[str, str]]


@functools.cache
def load_triggers() -> dict[str, Mapping[str, Any]]:
    """profiles/actions/triggers.yaml: action name -> what triggers it."""
    path = resources.files("profiles").joinpath("actions", "triggers.yaml")
    return dict(yaml.safe_load(path.read_text()) or {})


def _get(body: Any, dotted: str) -> Any:
    node = body
    for part in dotted.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            return None
    return node


def _items(rule: Mapping[str, Any], status: Mapping[str, Any]) -> Iterator[tuple[int, Any]]:
    """(action index, value) of each item a rule watches."""
    lists = rule.get("each")
    if lists is None:
        yield 0, _get(status, rule["value"])
        return
    for name in lists:
        found = status.get(name) or []
        # A list, or an object keyed by index (the add-on's {"0": {...}, "1": {...}}).
        items = ((int(k), v) for k, v in found.items()) if isinstance(found, Mapping) else None
        for index, item in items or enumerate(found):
            value = _get(item, rule["value"])
            yield index, None if "invalid" in rule and value == rule["invalid"] else value


def _query(rule: Mapping[str, Any], status: Mapping[str, Any], device_id: str) -> dict[str, str]:
    query: dict[str, str] = {}
    for name, spec in (rule.get("query") or {}).items():
        if spec == "id":
            query[name] = device_id
            continue
        value = _get(status, spec["value"])
        if value is None:
            continue
        query[name] = (
            f"{float(value):.2f}" if spec.get("format") == "decimal2" else str(round(value))
        )
    return query


def fired_actions(
    actions: UrlActions,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    events: list[Event],
    *,
    woke: bool,
    device_id: str,
) -> list[Fired]:
    """The actions an event batch calls, in the device's action order."""
    presses = [(e.channel, e.event) for e in events if isinstance(e, InputEvent)]
    fired: list[Fired] = []
    for name in actions.names():
        rule = load_triggers().get(name)
        if rule is None:
            continue
        query = _query(rule, after, device_id)
        if rule.get("wake") and woke:
            fired.append((name, 0, query))
        press = rule.get("press")
        for channel, kind in presses:
            if press is not None and press in ("any", kind):
                fired.append((name, channel, query))
        if "value" not in rule:
            continue
        old = dict(_items(rule, before))
        for index, value in _items(rule, after):
            previous = old.get(index)
            if value is None or previous is None or value == previous:
                continue
            if "becomes" in rule and value == rule["becomes"]:
                fired.append((name, index, query))
            for side, crossed in (("over", lambda v, t: v > t), ("under", lambda v, t: v < t)):
                limit_name = rule.get(side)
                if limit_name is None:
                    continue
                limit = actions.entry(name, index).get(limit_name)
                if limit is not None and crossed(value, limit) and not crossed(previous, limit):
                    fired.append((name, index, query))
    return fired


def _with_query(url: str, query: Mapping[str, str]) -> str:
    if not query:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode(query)}"


@dataclass(eq=False)
class _Watch:
    """One device with an enabled action: its last /status and its callback queue."""

    status: dict[str, Any]
    asleep: bool
    queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None


def _actions_of(host: Host) -> UrlActions | None:
    return next((c for c in host.device.components if isinstance(c, UrlActions)), None)


class UrlCallbacks:
    """Hosting transport that performs every device's URL actions."""

    _attached: weakref.WeakKeyDictionary[Hosting, UrlCallbacks] = weakref.WeakKeyDictionary()

    def __init__(self, runtime: Hosting, timeout: float = CALLBACK_TIMEOUT) -> None:
        self.runtime = runtime
        self.timeout = timeout
        self.watches: dict[Host, _Watch] = {}
        runtime.openers.append(self._open)
        runtime.listeners.append(self.on_events)
        runtime.closers.append(self.on_close)
        runtime.call(lambda: [self._open(host) for host in list(runtime.hosts)])

    @classmethod
    def attach(cls, runtime: Hosting) -> UrlCallbacks:
        """The runtime's actions transport, created on first use."""
        callbacks = cls._attached.get(runtime)
        if callbacks is None:
            callbacks = cls._attached[runtime] = cls(runtime)
        return callbacks

    def _status(self, host: Host) -> dict[str, Any]:
        status = host.device.call("status", {}, host.now())
        assert isinstance(status, dict)
        return status

    def _open(self, host: Host) -> None:
        actions = _actions_of(host)
        if actions is not None and actions.enabled():
            self.watches[host] = _Watch(self._status(host), host.device.asleep)

    def on_events(self, host: Host, events: list[Event]) -> None:
        actions = _actions_of(host)
        if actions is None or not actions.enabled():
            self.on_close(host)
            return
        watch = self.watches.get(host)
        status = self._status(host)
        if watch is None:  # just enabled: this is the baseline
            self.watches[host] = _Watch(status, host.device.asleep)
            return
        woke = watch.asleep and not host.device.asleep
        before, watch.status, watch.asleep = watch.status, status, host.device.asleep
        device_id = host.device.identity.hostname
        for name, index, query in fired_actions(
            actions, before, status, events, woke=woke, device_id=device_id
        ):
            for url in actions.urls(name, index):
                self._enqueue(host, watch, _with_query(url, query))

    def _enqueue(self, host: Host, watch: _Watch, url: str) -> None:
        if watch.queue.qsize() >= QUEUE_LIMIT:
            self._skipped(host)
            self._log(host, url, 0, 0.0)
            return
        watch.queue.put_nowait(url)
        if watch.worker is None or watch.worker.done():
            watch.worker = self.runtime.loop.create_task(self._work(host, watch))

    async def _work(self, host: Host, watch: _Watch) -> None:
        """Call the queued URLs one by one from the device's address; stop when none is left."""
        connector = aiohttp.TCPConnector(local_addr=(host.ip, 0), force_close=True)
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            while not watch.queue.empty():
                url = watch.queue.get_nowait()
                started = time.perf_counter()
                status = 0
                try:
                    async with session.get(url, allow_redirects=False) as response:
                        status = response.status
                        await response.read()
                except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as error:
                    logger.debug("%s: action %s: %s", host.device.identity.hostname, url, error)
                self._log(host, url, status, time.perf_counter() - started)
                if not 200 <= status < 400:
                    self._skipped(host)

    def _skipped(self, host: Host) -> None:
        actions = _actions_of(host)
        if actions is not None and host in self.runtime.hosts:
            host.act(actions.skip)

    def _log(self, host: Host, url: str, status: int, seconds: float) -> None:
        self.runtime.request_log.record(
            RequestRecord(
                self.runtime.clock.now().unix,
                "action",
                host.device.identity.hostname,
                "GET",
                url,
                "",
                status,
                seconds,
                host.ip,
            )
        )

    def on_close(self, host: Host) -> None:
        watch = self.watches.pop(host, None)
        if watch is not None and watch.worker is not None:
            watch.worker.cancel()
