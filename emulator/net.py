"""Loopback addresses for emulated devices.

Each device needs its own address (aioshelly insists on port 80 and 5683, spec/clients.md §2.2),
and Linux routes all of 127.0.0.0/8 on ``lo``. Tests draw random addresses so that several
suites on one machine never collide; the demo uses a fixed plan (127.0.1.1, .2, ...).
"""

from __future__ import annotations

import random
import socket

__all__ = ["free_loopback_address", "loopback_plan"]


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


def loopback_plan(first: str, count: int) -> list[str]:
    """``count`` consecutive addresses from ``first`` (127.0.1.1 -> 127.0.1.1, 127.0.1.2...)."""
    base = int.from_bytes(socket.inet_aton(first), "big")
    addresses = [socket.inet_ntoa((base + i).to_bytes(4, "big")) for i in range(count)]
    if any(not a.startswith("127.") for a in addresses):
        raise ValueError("address plan leaves 127.0.0.0/8")
    return addresses
