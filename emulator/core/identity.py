"""Device identity as real firmware forms it: MAC, short id, hostname, firmware build info."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

__all__ = ["Identity", "derive_mac", "make_identity"]

_MAC = re.compile(r"^[0-9A-F]{12}$")
_FW_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})/")


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a device is. ``device_id`` is the hostname suffix: the full MAC with ``longid``,
    else its last six hex digits (capture SHSW-1 fw 1.14: ``shelly1-34945472A643``)."""

    model: str
    mac: str
    device_id: str
    hostname: str
    fw: str
    ip: str

    @property
    def short_id(self) -> str:
        """Last six hex digits of the MAC: aioshelly keys CoIoT by it (the cloud: lowercase)."""
        return self.mac[-6:]

    @property
    def build_timestamp(self) -> str:
        match = _FW_DATE.match(self.fw)
        if not match:
            return ""
        y, mo, d, h, mi, s = match.groups()
        return f"{y}-{mo}-{d}T{h}:{mi}:{s}Z"


def derive_mac(prefix: str, seed: str) -> str:
    """A stable MAC for a seed: the profile's vendor prefix plus three hashed bytes."""
    digest = hashlib.sha256(seed.encode()).hexdigest()[:6].upper()
    return prefix[:6].ljust(6, "0") + digest


def normalise_mac(mac: str) -> str:
    value = mac.replace(":", "").replace("-", "").upper()
    if not _MAC.match(value):
        raise ValueError(f"MAC must be 12 hex digits, got {mac!r}")
    return value


def make_identity(
    model: str,
    hostname_prefix: str,
    mac: str,
    fw: str,
    *,
    longid: bool,
    ip: str = "0.0.0.0",
) -> Identity:
    mac = normalise_mac(mac)
    device_id = mac if longid else mac[-6:]
    return Identity(model, mac, device_id, f"{hostname_prefix}-{device_id}", fw, ip)
