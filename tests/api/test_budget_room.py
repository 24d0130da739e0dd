"""The process connection budget leaves room for exactly the descriptors devices hold: their
listener, plus a CoIoT socket each only when CoIoT runs a socket per device. (Counting two per
device always left a 10,000-device fleet without CoIoT a budget of 16 connections.)"""

from __future__ import annotations

from emulator.core.clock import ManualClock
from emulator.runtime import Runtime
from emulator.transports.coiot.udp import CoiotTransport
from emulator.transports.net import free_loopback_address


def test_budget_counts_a_coiot_socket_per_device_only_when_there_is_one() -> None:
    for shared, held in ((False, 2), (True, 1)):
        runtime = Runtime(ManualClock()).start()
        try:
            for _ in range(3):
                runtime.add_device("SHSW-1", ip=free_loopback_address(5683), http_port=0)
            http_only = runtime.connections.budget
            assert runtime.connections.reserved() == 3
            CoiotTransport.attach(runtime, port=0 if shared else 5683, shared_socket=shared)
            assert runtime.connections.reserved() == 3 * held
            assert http_only - runtime.connections.budget == 3 * (held - 1)
        finally:
            runtime.stop()
