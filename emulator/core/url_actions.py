"""URL actions (``/settings/actions``, firmware >= 1.8): which URLs the device calls on which
event. Source: the Gen1 API reference, each model's "/settings/actions" section, and
spec/mqtt.md §6 (captures list the names in /settings ``actions.names``).

The core keeps the table and the ``actions_stats.skipped`` counter; calling the URLs is I/O and
belongs to the actions transport (emulator/transports/actions.py), which reports failures back
with ``skipped``. Named ``url_actions`` so as not to be confused with the control API's world
actions (emulator/actions.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from .clock import Now
from .component import Component, Provider
from .errors import BadRequest
from .params import Params

__all__ = ["MAX_URLS", "MAX_URL_LENGTH", "UrlActions"]

#: DOC /settings/actions: at most 5 URLs per action, each at most 256 characters.
MAX_URLS = 5
MAX_URL_LENGTH = 256
#: The repeated query parameter that carries an action's URLs (``urls[]=a&urls[]=b``).
URLS_PARAM = "urls[]"


class UrlActions(Component, kind="actions"):
    """The action table of a device. Profile options: ``channels`` (action name -> how many
    indexes it has; default: how often ``actions.names`` lists it) and ``extras`` (action name ->
    its additional parameters and their factory values, e.g. ``temp_over_value``)."""

    ROUTES = {"settings/actions": "handle"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.skipped = 0

    # --- the table ---------------------------------------------------------------------------

    def names(self) -> list[str]:
        """Action names in the order /settings lists them, each once."""
        listed = (self.device.config.get("actions") or {}).get("names") or []
        return list(dict.fromkeys(listed))

    def channels(self, name: str) -> int:
        counts = Counter((self.device.config.get("actions") or {}).get("names") or [])
        return int((self.spec.options.get("channels") or {}).get(name, counts[name]))

    def entry(self, name: str, index: int) -> dict[str, Any]:
        """One action entry as GET /settings/actions shows it (saved values over defaults)."""
        extras: Mapping[str, Any] = (self.spec.options.get("extras") or {}).get(name) or {}
        saved = self.config.get(f"{name}:{index}") or {}
        entry = {"index": index, "urls": [], "enabled": False, **extras}
        entry.update(saved)
        return entry

    def table(self) -> dict[str, list[dict[str, Any]]]:
        return {
            name: [self.entry(name, i) for i in range(self.channels(name))] for name in self.names()
        }

    def urls(self, name: str, index: int) -> list[str]:
        """URLs to call for an event: the action's, if it exists and is enabled."""
        if name not in self.names() or not 0 <= index < self.channels(name):
            return []
        entry = self.entry(name, index)
        return list(entry["urls"]) if entry["enabled"] else []

    def enabled(self) -> bool:
        """``actions.active`` in /settings: whether any action is enabled."""
        return any(
            entry.get("enabled") for key, entry in self.config.items() if isinstance(entry, dict)
        )

    def live_tokens(self) -> dict[str, Provider]:
        return {
            "actions_active": lambda now: self.enabled(),
            "actions_skipped": lambda now: self.skipped,
        }

    # --- HTTP ------------------------------------------------------------------------------------

    def handle(self, params: Params, now: Now) -> dict[str, Any]:
        """GET lists every action; ``name`` (+ ``index``) with ``enabled``, ``urls[]`` or an
        extra parameter changes that one entry. Everything is validated first."""
        name = params.raw("name")
        if name is None:
            return {"actions": self.table()}
        if name not in self.names():
            raise BadRequest(f"name: '{name}' is not an action of this device")
        index = params.integer("index", 0, max(self.channels(name) - 1, 0)) or 0
        entry = self.entry(name, index)
        changes: dict[str, Any] = {}
        enabled = params.boolean("enabled")
        if enabled is not None:
            changes["enabled"] = enabled
        if URLS_PARAM in params:
            changes["urls"] = self._parse_urls(params.values(URLS_PARAM))
        for extra, default in entry.items():
            if extra in ("index", "urls", "enabled") or extra not in params:
                continue
            if isinstance(default, bool):
                changes[extra] = params.boolean(extra)
            else:
                changes[extra] = params.number(extra, -1000, 1000)
        changed = {k: v for k, v in changes.items() if entry.get(k) != v}
        if changed:
            saved = dict(self.config.get(f"{name}:{index}") or {})
            saved.update(changed)
            self.config[f"{name}:{index}"] = saved
            self.device.config_changed()
        return {"actions": {name: [self.entry(name, i) for i in range(self.channels(name))]}}

    @staticmethod
    def _parse_urls(values: list[str]) -> list[str]:
        urls = [url for url in values if url]
        if len(urls) > MAX_URLS:
            raise BadRequest(f"urls[]: at most {MAX_URLS} URLs per action")
        for url in urls:
            if len(url) > MAX_URL_LENGTH:
                raise BadRequest(f"urls[]: a URL is at most {MAX_URL_LENGTH} characters long")
            if not url.startswith(("http://", "https://")):
                raise BadRequest(f"urls[]: '{url}' is not an http:// URL")
        return urls

    # --- failures ----------------------------------------------------------------------------

    def skip(self, now: Now) -> None:
        """A callback failed (refused, timed out, error status): ``actions_stats.skipped``."""
        with self.device.transaction(now):
            self.skipped += 1
            self.device.status_changed("actions skipped")

    def boot(self, now: Now, power_on: bool) -> None:
        self.skipped = 0
