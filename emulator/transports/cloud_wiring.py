"""Wire a runtime's devices to a running fake cloud (DESIGN.md: only the pytest plugin, the
fleet and the CLI join the two packages; ``fake_cloud`` itself never imports ``emulator``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .cloud_link import CloudLinks

if TYPE_CHECKING:
    from fake_cloud import FakeCloud

    from .hosting import Host, Hosting

__all__ = ["cloud_id", "link_to_cloud", "register_device"]


def cloud_id(host: Host) -> str:
    """The id the Shelly Cloud knows a Gen1 device by: its short id, lowercase hex."""
    return host.device.identity.short_id.lower()


def link_to_cloud(runtime: Hosting, cloud: FakeCloud) -> CloudLinks:
    """Link every cloud-enabled device to the server its owner lives on (the first server for
    devices the cloud does not know yet: it registers them to that server's first user)."""

    def server_for(host: Host) -> str:
        device = cloud.backend.devices.get(cloud_id(host))
        server = cloud.backend.users[device.owner].server if device else cloud.server_names[0]
        return cloud.endpoints[server].ws_base

    return CloudLinks(runtime, server_for, cloud.client_ssl_context())


def register_device(cloud: FakeCloud, host: Host, owner: int) -> None:
    """Give an emulated device to a cloud user and turn its cloud on, as the app's pairing does."""
    settings = host.settings()
    cloud.control.create_device(
        host.model,
        owner,
        cloud_id(host),
        online=False,
        virtual=False,
        mac=host.device.identity.mac,
        fw=host.device.identity.fw,
        name=settings.get("name") or "",
    )
    host.get("settings/cloud", enabled="1")
