"""The runtime re-arms a device's timer only when its deadline moved (every device always has
one: the CoIoT period), and persistence ignores batches that change nothing flash keeps."""

from __future__ import annotations

from pathlib import Path

from emulator.runtime import Runtime
from emulator.transports.net import free_loopback_address


def test_a_request_that_moves_no_deadline_keeps_the_armed_timer() -> None:
    with Runtime() as runtime:
        host = runtime.add_device("SHSW-1", ip=free_loopback_address(), http_port=80)
        runtime.call(lambda: None)
        armed = host._timer
        assert armed is not None
        host.status()
        assert host._timer is armed
        host.get("relay/0", turn="on", timer=5)  # nearer than the CoIoT period: re-armed
        assert host._timer is not armed and host._deadline == host.device.next_deadline()


def test_a_coiot_period_alone_writes_nothing(tmp_path: Path) -> None:
    with Runtime(state_dir=tmp_path) as runtime:
        host = runtime.add_device("SHSW-1", ip=free_loopback_address(), http_port=80)
        store = runtime.store
        assert store is not None
        runtime.call(lambda: host.act(host.device._coiot_due))
        assert runtime.call(lambda: dict(store._dirty)) == {}
