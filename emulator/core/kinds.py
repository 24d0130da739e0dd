"""Every component kind the emulator ships, for the profile loader to register.

The device builds the kinds its profile names from the registry (``Component.KINDS``) and so
imports none of them; emulator/runtime/profiles.py fills the registry from this list.
"""

from __future__ import annotations

from .addon import Addon
from .component import Component
from .inputs import Input
from .ir import Ir
from .light import Light
from .meter import Meter
from .mqtt import Mqtt
from .relay import Relay
from .roller import Roller
from .sensors import Sensors
from .sleep import Sleep
from .url_actions import UrlActions

__all__ = ["SHIPPED"]

SHIPPED: tuple[type[Component], ...] = (
    Addon,
    Input,
    Ir,
    Light,
    Meter,
    Mqtt,
    Relay,
    Roller,
    Sensors,
    Sleep,
    UrlActions,
)
