"""One open WebSocket of the fake cloud, as the hub (ws.py), the device link and the request
handlers (link.py, wsapi.py) share it."""

from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import ServerConnection

from fake_cloud.api.auth import Principal

__all__ = ["Socket"]


@dataclass(slots=True, eq=False)
class Socket:
    """One open WebSocket: an integrator's, an account's, or a device link."""

    id: int
    kind: str  # "integrator" | "account" | "device"
    conn: ServerConnection
    server: str
    principal: Principal | None = None
    device: str | None = None
    frozen: bool = False

    def describe(self) -> dict[str, Any]:
        principal = self.principal
        return {
            "id": self.id,
            "kind": self.kind,
            "server": self.server,
            "tag": principal.tag if principal else None,
            "user": principal.user if principal else None,
            "device": self.device,
            "frozen": self.frozen,
        }
