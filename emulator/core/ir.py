"""Infrared transmitter of the Shelly Sense (seed 003 "Shelly Sense: /ir", "Schedule rules").

Stored codes (id, name, pronto) are configuration: they persist and survive restarts, and a
factory reset removes them (seed 003 Sense "Factory Reset"). Every code sent is recorded in
``emitted`` so a test can assert what the TV would have received. The weekly schedule
(``schedule``, ``schedule_rules`` = ``HHMM-DAYS-ID``, days counted from Monday = 0) sends stored
codes on the injected clock, in the device's local time (``tz_utc_offset``).
"""

from __future__ import annotations

import base64
import binascii
import math
import string
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .clock import Now
from .component import Component
from .errors import BadRequest, NotFound
from .localtime import Place
from .params import Params

__all__ = ["Ir", "IrEmission"]

#: Sent codes kept for inspection (the oldest drop out first).
_LOG_SIZE = 1000
_DAY = 86400
#: Ids are joined into schedule rules with "-" and ","; they cannot contain either.
_ID_FORBIDDEN = set(",-") | set(string.whitespace)


@dataclass(frozen=True, slots=True)
class IrEmission:
    """One code sent: when (unix time), why (``http`` or ``schedule``), the stored id if any,
    and the pronto words in hex (``0000 006D 0022 ...``) however the request spelled them."""

    unix: float
    source: str
    code_id: str | None
    pronto: str


class Ir(Component, kind="ir"):
    """Stored IR codes, /ir/* resources and the IR schedule. Profile options: ``max_codes``,
    ``max_name`` (the firmware's limits are undocumented; the profile says what it assumes)."""

    ROUTES = {
        "ir/list": "http_list",
        "ir/add": "http_add",
        "ir/remove": "http_remove",
        "ir/emit": "http_emit",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.codes: dict[str, tuple[str, str]] = {}  # id -> (name, pronto hex)
        self.emitted: deque[IrEmission] = deque(maxlen=_LOG_SIZE)

    # --- resources ---------------------------------------------------------------------------

    def http_list(self, params: Params, now: Now) -> list[list[str]]:
        """``[[id, name], ...]`` in the order stored (capture SHSEN-1 ir_list__1)."""
        return [[code_id, name] for code_id, (name, _) in self.codes.items()]

    def http_add(self, params: Params, now: Now) -> list[list[str]]:
        """``/ir/add?id=&name=&pronto=`` (base64 pronto); an existing id is replaced."""
        code_id = params.raw("id")
        name = params.text("name", min_len=1, max_len=int(self.spec.options.get("max_name", 64)))
        pronto = params.raw("pronto")
        if code_id is None or name is None or pronto is None:
            raise BadRequest("ir/add needs id, name and pronto")
        if not 0 < len(code_id) <= 64 or set(code_id) & _ID_FORBIDDEN:
            raise BadRequest(f"id: '{code_id}' must be 1..64 characters without , - or spaces")
        entry = (name, _hex(_from_base64(pronto)))
        if code_id not in self.codes and len(self.codes) >= int(self.spec.options["max_codes"]):
            raise BadRequest(f"no room for more than {self.spec.options['max_codes']} IR codes")
        if self.codes.get(code_id) != entry:
            self.codes[code_id] = entry
            self.device.config_changed()
        return self.http_list(params, now)

    def http_remove(self, params: Params, now: Now) -> list[list[str]]:
        """``/ir/remove?id=`` | ``?all=1`` | ``?prefix=``: exactly one of them."""
        given = [name for name in ("id", "all", "prefix") if name in params]
        if len(given) != 1:
            raise BadRequest("ir/remove needs exactly one of id, all, prefix")
        code_id, prefix = params.raw("id"), params.raw("prefix")
        if code_id is not None:
            if code_id not in self.codes:
                raise NotFound(f"no stored IR code '{code_id}'")
            doomed = [code_id]
        elif prefix is not None:
            if not prefix:
                raise BadRequest("prefix must not be empty")
            doomed = [c for c in self.codes if c.startswith(prefix)]
        elif params.boolean("all"):
            doomed = list(self.codes)
        else:
            raise BadRequest("all must be true (all=1)")
        for doomed_id in doomed:
            del self.codes[doomed_id]
        if doomed:
            self.device.config_changed()
        return self.http_list(params, now)

    def http_emit(self, params: Params, now: Now) -> dict[str, Any]:
        """``/ir/emit?type=stored&id=`` or ``?type=pronto&pronto=`` (base64) | ``&pronto_hex=``."""
        kind = params.choice("type", ("stored", "pronto"))
        if kind == "stored":
            code_id = params.raw("id")
            if code_id is None:
                raise BadRequest("type=stored needs id")
            if code_id not in self.codes:
                raise NotFound(f"no stored IR code '{code_id}'")
            self._emit(now, "http", code_id, self.codes[code_id][1])
        elif kind == "pronto":
            b64, hexa = params.raw("pronto"), params.raw("pronto_hex")
            if (b64 is None) == (hexa is None):
                raise BadRequest("type=pronto needs one of pronto, pronto_hex")
            words = _from_base64(b64) if b64 is not None else _from_hex(hexa or "")
            self._emit(now, "http", None, _hex(words))
        else:
            raise BadRequest("type must be stored or pronto")
        return {}

    def _emit(self, now: Now, source: str, code_id: str | None, pronto: str) -> None:
        self.emitted.append(IrEmission(now.unix, source, code_id, pronto))

    # --- the weekly schedule (device-level settings schedule, schedule_rules) -----------------

    def parse_device_settings(self, params: Params) -> dict[tuple[str, ...], Any]:
        """``schedule_rules=HHMM-DAYS-ID,...``: every ID must name a stored code (seed 003)."""
        rules = self.schedule_rules(params, tuple(self.codes), sun_events=False)
        return {} if rules is None else {("schedule_rules",): rules}

    def on_device_settings(self, now: Now) -> None:
        self._arm(now)

    @property
    def _schedule_key(self) -> str:
        return f"{self.key}:schedule"

    def _rules(self) -> list[str]:
        config = self.device.config
        return list(config.get("schedule_rules") or []) if config.get("schedule") else []

    def _local(self, now: Now) -> float:
        return now.unix + Place.of(self.device.config).offset(now.unix)

    def _arm(self, now: Now) -> None:
        self.device.timers.cancel(self._schedule_key)
        rules = self._rules()
        if rules:
            local = self._local(now)
            due = min(_next_run(rule, local) for rule in rules)
            self.device.schedule(self._schedule_key, now.mono + due - local, self._run_schedule)

    def _run_schedule(self, now: Now) -> None:
        local = self._local(now)
        for rule in self._rules():
            code_id = rule.split("-")[2]
            if _next_run(rule, local - 30) <= local + 1e-6 and code_id in self.codes:
                self._emit(now, "schedule", code_id, self.codes[code_id][1])
        self._arm(now)

    # --- lifecycle ---------------------------------------------------------------------------

    def boot(self, now: Now, power_on: bool) -> None:
        self._arm(now)

    def factory_reset(self) -> None:
        super().factory_reset()
        self.codes.clear()

    def snapshot(self) -> dict[str, Any]:
        return {**super().snapshot(), "codes": {k: list(v) for k, v in self.codes.items()}}

    def restore(self, data: Mapping[str, Any]) -> None:
        super().restore(data)
        self.codes = {k: (str(v[0]), str(v[1])) for k, v in (data.get("codes") or {}).items()}


def _next_run(rule: str, local: float) -> float:
    """Local time of a rule's first run strictly after ``local`` (days: Monday = 0)."""
    hhmm, days, _ = rule.split("-")
    today = math.floor(local / _DAY)
    for offset in range(8):
        day = today + offset
        at = day * _DAY + int(hhmm[:2]) * 3600 + int(hhmm[2:]) * 60
        if str((day + 3) % 7) in days and at > local:  # 1970-01-01 was a Thursday (3)
            return float(at)
    raise AssertionError(f"rule {rule} never runs")  # schedule_rules() accepted no empty days


def _from_base64(text: str) -> list[int]:
    """The Sense's stored form: a pronto code's 16-bit words, big-endian, base64-encoded."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("pronto: not base64") from None
    if len(raw) % 2:
        raise BadRequest("pronto: odd number of bytes")
    return _checked([int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)])


def _from_hex(text: str) -> list[int]:
    """``0000 006D 0022 ...``: 4-digit hex words, spaces optional."""
    digits = "".join(text.split())
    if not digits or len(digits) % 4 or set(digits) - set(string.hexdigits):
        raise BadRequest("pronto_hex: not 4-digit hex words")
    return _checked([int(digits[i : i + 4], 16) for i in range(0, len(digits), 4)])


def _checked(words: list[int]) -> list[int]:
    """Pronto layout: type, carrier, once-pairs n1, repeat-pairs n2, then 2*(n1+n2) words."""
    if len(words) < 6 or words[2] + words[3] == 0 or len(words) != 4 + 2 * (words[2] + words[3]):
        raise BadRequest("pronto: not a pronto code (length does not match its pair counts)")
    return words


def _hex(words: list[int]) -> str:
    return " ".join(f"{word:04X}" for word in words)
