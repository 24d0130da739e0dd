"""Events the backend emits when something clients must hear about changes (state.py emits,
ws.py renders them per socket). Each carries what the event said at the time it happened."""

from dataclasses import dataclass
from typing import Any

__all__ = ["Event", "OnlineChanged", "SettingsChanged", "StatusChanged"]


@dataclass(frozen=True, slots=True)
class StatusChanged:
    device: str
    status: dict[str, Any]
    changed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SettingsChanged:
    device: str
    settings: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OnlineChanged:
    device: str
    online: bool


type Event = StatusChanged | SettingsChanged | OnlineChanged
