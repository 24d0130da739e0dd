"""The device's local time and place, from its settings (seed 003 "SNTP Time Sync", /settings
``timezone``, ``lat``, ``lng``, ``tzautodetect``, ``tz_utc_offset``, ``tz_dst``, ``tz_dst_auto``).

How firmware combines them is not documented; the model here: ``tz_utc_offset`` is the
standard offset in seconds; with ``tz_dst_auto`` daylight saving follows the rules of the IANA
``timezone`` (its offset moves on the zone's transition days), without it ``tz_dst`` adds one
hour. Setting ``timezone`` alone sets ``tz_utc_offset`` to that zone's standard offset
(``standard_offset``), as the cloud's timezone lookup does for a real device. Sun times come
from astral (NOAA algorithm), never from hand-written astronomy. Pure: time is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from astral import Observer
from astral.sun import sunrise, sunset

__all__ = ["Place", "standard_offset", "zone"]

_DAY = 86400


@cache
def zone(name: str) -> ZoneInfo | None:
    """The IANA zone ``name`` names, or None when it names none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def standard_offset(name: str, unix: float) -> int | None:
    """Seconds east of UTC without daylight saving in zone ``name`` at ``unix``."""
    tz = zone(name)
    if tz is None:
        return None
    moment = datetime.fromtimestamp(unix, tz)
    utc_offset = moment.utcoffset() or timedelta()
    dst = moment.dst() or timedelta()
    return int((utc_offset - dst).total_seconds())


@dataclass(frozen=True, slots=True)
class Place:
    """Where and in which time zone the device thinks it is."""

    timezone: str
    utc_offset: int
    dst: bool
    dst_auto: bool
    lat: float
    lng: float

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> Place:
        return cls(
            timezone=str(config.get("timezone") or ""),
            utc_offset=int(config.get("tz_utc_offset") or 0),
            dst=bool(config.get("tz_dst")),
            dst_auto=bool(config.get("tz_dst_auto", True)),
            lat=float(config.get("lat") or 0.0),
            lng=float(config.get("lng") or 0.0),
        )

    def offset(self, unix: float) -> int:
        """Seconds east of UTC of local time at ``unix``."""
        if self.dst_auto:
            tz = zone(self.timezone)
            dst = datetime.fromtimestamp(unix, tz).dst() if tz is not None else None
            return self.utc_offset + int(dst.total_seconds() if dst else 0)
        return self.utc_offset + (3600 if self.dst else 0)

    def local(self, unix: float) -> datetime:
        """Local wall-clock time at ``unix`` (naive: the device's clock face)."""
        return datetime.fromtimestamp(unix + self.offset(unix), UTC).replace(tzinfo=None)

    def to_unix(self, day: date, seconds: float) -> float:
        """The instant the local clock shows ``seconds`` past midnight of ``day``.

        A time skipped by a spring-forward transition maps past the jump (a 02:30 rule runs
        at 03:30 local); a repeated autumn hour runs once, at its first occurrence.
        """
        wall = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() + seconds
        before, after = self.offset(wall - _DAY), self.offset(wall + _DAY)
        fits = [wall - o for o in {before, after} if self.offset(wall - o) == o]
        return min(fits) if fits else wall - before

    def sun(self, event: str, day: date) -> float | None:
        """Unix time of ``sunrise`` or ``sunset`` on local ``day``; None where the sun does not
        rise or set that day (polar day or night)."""
        noon = self.to_unix(day, _DAY / 2)
        tz = timezone(timedelta(seconds=self.offset(noon)))
        observer = Observer(latitude=self.lat, longitude=self.lng)
        compute = sunrise if event == "sunrise" else sunset
        try:
            return compute(observer, date=day, tzinfo=tz).timestamp()
        except ValueError:
            return None
