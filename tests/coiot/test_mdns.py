"""mDNS: a zeroconf ServiceBrowser on loopback finds every emulated device with its own address,
port 80 and the TXT keys real firmware sends; removed devices say goodbye (spec/clients.md §1)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from zeroconf import ServiceBrowser, ServiceStateChange, Zeroconf

from emulator.runtime import DeviceHost, Runtime
from emulator.runtime.profiles import all_profiles
from emulator.transports.mdns import SERVICE_TYPE, MdnsAnnouncer
from emulator.transports.net import free_loopback_address

from .conftest import WAIT


class Browser:
    """Records which of the expected instance names were added and removed."""

    def __init__(self, zeroconf: Zeroconf, names: set[str]) -> None:
        self.names = names
        self.added: set[str] = set()
        self.removed: set[str] = set()
        self.all_added = threading.Event()
        self.changed = threading.Condition()
        self.browser = ServiceBrowser(zeroconf, SERVICE_TYPE, handlers=[self.on_change])

    def on_change(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if name not in self.names:
            return  # other suites on this host may announce on loopback too
        with self.changed:
            if state_change is ServiceStateChange.Added:
                self.added.add(name)
            elif state_change is ServiceStateChange.Removed:
                self.removed.add(name)
            if self.added == self.names:
                self.all_added.set()
            self.changed.notify_all()


@pytest.fixture
def zeroconf() -> Iterator[Zeroconf]:
    instance = Zeroconf(interfaces=["127.0.0.1"])
    yield instance
    instance.close()


def instance(host: DeviceHost) -> str:
    return f"{host.device.identity.hostname}.{SERVICE_TYPE}"


def test_browser_finds_every_model_with_address_and_txt(
    real_runtime: Runtime, zeroconf: Zeroconf
) -> None:
    models = sorted(all_profiles())
    hosts = [real_runtime.add_device(models[0], ip=free_loopback_address(80), http_port=80)]
    MdnsAnnouncer.attach(real_runtime, batch_size=2, batch_interval=0.05)  # staggered batches
    hosts += [
        real_runtime.add_device(model, ip=free_loopback_address(80), http_port=80)
        for model in models[1:]
    ]
    browser = Browser(zeroconf, {instance(host) for host in hosts})
    try:
        assert browser.all_added.wait(WAIT * 5), browser.names - browser.added
        for host in hosts:
            info = zeroconf.get_service_info(SERVICE_TYPE, instance(host), timeout=int(WAIT * 1000))
            assert info is not None
            identity, mdns = host.device.identity, host.device.profile.section("mdns")
            assert info.parsed_addresses() == [host.ip]
            assert (info.port, info.server) == (80, f"{identity.hostname}.local.")
            txt = {k.decode(): v.decode() for k, v in info.properties.items() if v is not None}
            settings = host.settings()
            assert txt == {
                "id": identity.hostname,
                "fw_id": identity.fw,
                "arch": mdns["arch"],
                "app": mdns["app"],
                "fw_version": settings["build_info"]["build_version"],
                "discoverable": str(settings["discoverable"]).lower(),
            }
        gone = hosts[0]
        real_runtime.remove_device(gone)
        with browser.changed:
            assert browser.changed.wait_for(lambda: instance(gone) in browser.removed, WAIT)
    finally:
        browser.browser.cancel()


def test_runtime_stop_says_goodbye_for_every_device(zeroconf: Zeroconf) -> None:
    runtime = Runtime().start()
    MdnsAnnouncer.attach(runtime)
    hosts = [runtime.add_device("SHSW-1", ip=free_loopback_address(80)) for _ in range(3)]
    browser = Browser(zeroconf, {instance(host) for host in hosts})
    try:
        assert browser.all_added.wait(WAIT)
        runtime.stop()
        with browser.changed:
            assert browser.changed.wait_for(lambda: browser.removed == browser.names, WAIT)
    finally:
        browser.browser.cancel()
        runtime.stop()
