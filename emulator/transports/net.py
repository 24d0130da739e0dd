"""Addresses for emulated devices, and the interfaces that hold them.

Each device needs its own address (aioshelly insists on port 80 and 5683, spec/clients.md §2.2).
Linux routes all of 127.0.0.0/8 on ``lo``, so tests draw random loopback addresses (several
suites on one machine never collide) and the demo uses a fixed plan (127.0.1.1, .2, ...). Any
other address the host owns works too (an alias on a LAN interface, a macvlan, a veth in a
network namespace): multicast senders follow the device to the interface holding its address.
"""

from __future__ import annotations

import ipaddress
import random
import socket
import time

import ifaddr

__all__ = [
    "InterfaceMap",
    "free_loopback_address",
    "free_loopback_block",
    "loopback_plan",
    "require_local_address",
]

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


def _bindable(address: str, port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind((address, port))
            except OSError:
                return False
    return True


def free_loopback_address(port: int = 80, rng: random.Random | None = None, tries: int = 50) -> str:
    """A random 127.x.y.z (x in 64..254) where ``port`` is free for TCP and UDP."""
    rng = rng or random.SystemRandom()
    for _ in range(tries):
        address = f"127.{rng.randint(64, 254)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        if _bindable(address, port):
            return address
    raise OSError(f"no free loopback address for port {port} after {tries} tries")


def free_loopback_block(
    count: int, port: int = 80, rng: random.Random | None = None, tries: int = 20
) -> str:
    """First address of ``count`` consecutive random loopback addresses where ``port`` is free
    for TCP and UDP on every one (a fleet of tests; large benches pick their own block)."""
    rng = rng or random.SystemRandom()
    span = count // 65536 + 1
    for _ in range(tries):
        first = f"127.{rng.randint(64, 254 - span)}.{rng.randint(0, 255)}.1"
        if all(_bindable(address, port) for address in loopback_plan(first, count)):
            return first
    raise OSError(f"no {count} free consecutive loopback addresses for port {port}")


def loopback_plan(first: str, count: int) -> list[str]:
    """``count`` consecutive addresses from ``first`` (127.0.1.1 -> 127.0.1.1, 127.0.1.2...)."""
    base = int.from_bytes(socket.inet_aton(first), "big")
    addresses = [socket.inet_ntoa((base + i).to_bytes(4, "big")) for i in range(count)]
    if any(not a.startswith("127.") for a in addresses):
        raise ValueError("address plan leaves 127.0.0.0/8")
    return addresses


def require_local_address(address: str) -> str:
    """``address`` if this host owns it (a socket can be bound to it), else a one-line error."""
    try:
        parsed = ipaddress.IPv4Address(address)
    except ValueError:
        raise ValueError(f"{address!r} is not an IPv4 address") from None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((str(parsed), 0))
        except OSError:
            raise ValueError(
                f"{address} is not an address of this host: use a 127.x.y.z address, or add one "
                f"first (e.g. `ip addr add {address}/24 dev eth0`; docs/lan.md)"
            ) from None
    return str(parsed)


class InterfaceMap:
    """Which network interface holds an address: an interface's own address, or any 127.x
    address for the loopback interface (Linux routes the whole 127.0.0.0/8 there).

    Read from the host's interfaces (ifaddr, zeroconf's own dependency) once, and again on a miss
    at most every ``refresh_seconds`` (an alias added after start is found; a fleet of 10,000
    loopback devices costs one read).
    """

    def __init__(self, refresh_seconds: float = 2.0) -> None:
        self.refresh_seconds = refresh_seconds
        self._by_address: dict[str, tuple[int, str]] = {}
        self._networks: dict[int, list[ipaddress.IPv4Network]] = {}
        self._loopback: tuple[int, str] | None = None
        self._read_at = -float("inf")

    def _read(self) -> None:
        self._read_at = time.monotonic()
        self._by_address.clear()
        self._networks.clear()
        for adapter in ifaddr.get_adapters():
            for ip in adapter.ips:
                if not isinstance(ip.ip, str):  # IPv6: (address, flowinfo, scope_id)
                    continue
                if adapter.index is None:
                    continue
                primary = next(i.ip for i in adapter.ips if isinstance(i.ip, str))
                self._by_address[ip.ip] = (adapter.index, primary)
                network = ipaddress.IPv4Network(f"{ip.ip}/{ip.network_prefix}", strict=False)
                self._networks.setdefault(adapter.index, []).append(network)
                if ipaddress.IPv4Address(ip.ip) in LOOPBACK:
                    self._loopback = (adapter.index, primary)

    def _find(self, address: str) -> tuple[int, str] | None:
        if ipaddress.IPv4Address(address) in LOOPBACK and self._loopback is not None:
            return self._loopback
        return self._by_address.get(address)

    def lookup(self, address: str) -> tuple[int, str] | None:
        """(interface index, the interface's first IPv4 address) for ``address``, or None."""
        found = self._find(address)
        if found is None and time.monotonic() - self._read_at >= self.refresh_seconds:
            self._read()
            found = self._find(address)
        return found

    def networks(self, index: int) -> list[ipaddress.IPv4Network]:
        """The IPv4 networks on interface ``index`` (as last read)."""
        return list(self._networks.get(index, []))

    def index(self, address: str) -> int | None:
        found = self.lookup(address)
        return None if found is None else found[0]
