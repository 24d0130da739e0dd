"""Loopback addresses for emulated devices.

Each device needs its own address (aioshelly insists on port 80 and 5683, spec/clients.md §2.2),
and Linux routes all of 127.0.0.0/8 on ``lo``. Tests draw random addresses so that several
suites on one machine never collide; the demo uses a fixed plan (127.0.1.1, .2, ...).
"""

from __future__ import annotations

import random
import socket

__all__ = ["free_loopback_address", "free_loopback_block", "loopback_plan"]


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
