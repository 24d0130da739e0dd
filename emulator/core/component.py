"""Component base: one channel of a device (a relay, a meter, an input...) with its settings,
status, HTTP resources and persistent state. Subclasses name their ``kind``; models pick them
and their field lists in the profile, so behaviour lives here and shape lives in profiles/.

A component sees its device through ``Owner``, the narrow protocol below, so this module and the
kinds never import device.py (which builds them).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, ClassVar, Protocol

from .clock import Now
from .errors import BadRequest
from .events import Event
from .identity import Identity
from .params import Params
from .profile import ComponentSpec, Profile
from .schedule import parse_rules
from .timers import Timers
from .update import Updater
from .world import WorldState

__all__ = ["ABSENT", "Component", "Handler", "Owner"]

#: A resource's answer: a JSON object, or a JSON array where firmware answers one (/ir/list).
type Handler = Callable[[Params, Now], dict[str, Any] | list[Any]]
#: A live template value (``$tmp_value``) a component offers the renderer.
type Provider = Callable[[Now], Any]
#: What a provider returns for a key firmware leaves out at the moment (the add-on's
#: ``ext_switch`` in /status while disabled): the renderer drops the key.
ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "ABSENT"})()


class Owner(Protocol):
    """The device as its components see it (core/device.py's Device is one)."""

    profile: Profile
    identity: Identity
    config: dict[str, Any]
    timers: Timers
    world: WorldState
    components: list[Component]
    asleep: bool
    boot_mono: float
    updater: Updater

    @property
    def mode(self) -> str | None: ...

    def of_kind(self, kind: str) -> list[Component]: ...

    def schedule(self, key: str, at: float, action: Callable[[Now], None]) -> None: ...

    def status_changed(self, reason: str) -> None: ...

    def config_changed(self) -> None: ...

    def emit(self, event: Event) -> None: ...

    def apply_mode(self, mode: str, now: Now) -> None: ...

    def factory_reset(self, now: Now) -> None: ...


class Component:
    """One channel of one kind. Fields named in the profile resolve to config values first,
    then to ``f_<name>(now)`` methods, so each model can show its own subset in its own order.
    """

    #: Component classes by kind: the registry the profile loader fills (core/kinds.py lists
    #: the shipped ones) and the device builds its profile's components from.
    KINDS: ClassVar[dict[str, type[Component]]] = {}
    kind: ClassVar[str]
    #: Key of the list this component contributes to /settings and /status (``relays``);
    #: None for kinds that fill top-level keys through ``live_tokens`` instead (sensors).
    collection: ClassVar[str | None] = None
    #: Resource patterns ("relay/{i}") -> method names; ``{i}`` is the channel.
    ROUTES: ClassVar[dict[str, str]] = {}
    #: Factory-default config of one channel (the profile's ``defaults`` overlay it).
    DEFAULTS: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, kind: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if kind is not None:
            cls.kind = kind

    def __init__(self, device: Owner, channel: int, spec: ComponentSpec) -> None:
        self.device = device
        self.channel = channel
        self.spec = spec
        self.config: dict[str, Any] = self.factory_config()
        for view in ("settings", "status", "endpoint"):
            for name in spec.options.get(view, ()):
                if name not in self.config and not hasattr(self, f"f_{name}"):
                    raise ValueError(f"{spec.kind}: unknown {view} field {name!r}")

    # --- configuration -------------------------------------------------------------------

    def factory_config(self) -> dict[str, Any]:
        defaults = dict(self.DEFAULTS)
        defaults.update(self.spec.options.get("defaults") or {})
        per_channel = self.spec.options.get("channel_defaults") or []
        if self.channel < len(per_channel):
            defaults.update(per_channel[self.channel] or {})
        return defaults

    @property
    def active(self) -> bool:
        """Whether the device's current mode uses this component (Shelly2 relay vs roller)."""
        return self.spec.modes is None or self.device.mode in self.spec.modes

    @property
    def key(self) -> str:
        return f"{self.kind}{self.channel}"

    # --- rendering -----------------------------------------------------------------------

    def field(self, name: str, now: Now) -> Any:
        getter = getattr(self, f"f_{name}", None)
        return getter(now) if getter is not None else self.config[name]

    def view(self, which: str, now: Now) -> dict[str, Any]:
        names = self.spec.options.get(which) or self.spec.options.get("status", ())
        return {name: self.field(name, now) for name in names}

    def settings_view(self, now: Now) -> dict[str, Any]:
        return self.view("settings", now)

    def status_view(self, now: Now) -> dict[str, Any]:
        return self.view("status", now)

    # --- lifecycle hooks (overridden where a kind needs them) -----------------------------

    def boot(self, now: Now, power_on: bool) -> None:
        """Called at power-on and reboot, after settings are loaded."""

    def deactivate(self, now: Now) -> None:
        """The device left a mode that used this component."""

    def settle(self, now: Now) -> None:
        """Bring time-integrated state (energy, positions) up to ``now`` before a change."""

    def steady(self) -> bool:
        """Whether its status stays as it is until the next transaction, clock fields aside
        (those move per whole second); False while it moves on its own (energy being counted,
        a timer counting down, a roller travelling). Device.still_key relies on it."""
        return True

    def on_world(self, quantity: str, now: Now) -> None:
        """A sensed quantity of the world (``temperature``, ``smoke``...) changed."""

    def live_tokens(self) -> dict[str, Provider]:
        """Live template tokens this kind fills (``$tmp_value``), by name without ``$``."""
        return {}

    def snapshot(self) -> dict[str, Any]:
        """What survives a restart (flash): the config and any state a kind keeps."""
        return {"config": dict(self.config)}

    def restore(self, data: Mapping[str, Any]) -> None:
        self.config.update(data.get("config", {}))

    def factory_reset(self) -> None:
        self.config = self.factory_config()

    # --- settings parameters ---------------------------------------------------------------

    def apply_settings(self, params: Params, now: Now) -> dict[str, Any]:
        """Validate every parameter, then apply them all; answer the channel's settings."""
        if params.raw("reset"):
            self.factory_reset()
            self.device.config_changed()
            return self.settings_view(now)
        changes = self.parse_settings(params)
        changes = {k: v for k, v in changes.items() if self.config.get(k) != v}
        if changes:
            self.config.update(changes)
            self.on_settings_changed(changes, now)
            self.device.config_changed()
        return self.settings_view(now)

    def parse_settings(self, params: Params) -> dict[str, Any]:
        """Typed values of the channel's settings parameters; raises BadRequest, changes nothing."""
        return {}

    def on_settings_changed(self, changes: Mapping[str, Any], now: Now) -> None:
        """React to applied settings (e.g. re-arm timers)."""

    def parse_device_settings(self, params: Params) -> dict[tuple[str, ...], Any]:
        """Device-level /settings parameters this kind validates (config path -> value).

        For parameters a static table cannot check, e.g. the Sense's ``schedule_rules``,
        whose ids must name stored IR codes. Raises BadRequest; changes nothing.
        """
        return {}

    def on_device_settings(self, now: Now) -> None:
        """A /settings request was applied (e.g. re-arm a schedule)."""

    def schedule_rules(
        self, params: Params, actions: Collection[str], *, sun_events: bool = True
    ) -> list[str] | None:
        """Parse ``schedule_rules`` (core/schedule.py: ``HHMM[bsr|asr|bss|ass]-DAYS-ACTION``
        comma-separated); ``sun_events`` False allows only fixed times (the Sense, seed 003)."""
        value = params.raw("schedule_rules")
        if value is None:
            return None
        rules = [rule for rule in value.split(",") if rule]
        for rule, parsed in zip(rules, parse_rules(value, actions), strict=True):
            if parsed.sun is not None and not sun_events:
                raise BadRequest(f"schedule_rules: bad rule '{rule}' (want HHMM-DAYS-ACTION)")
        return rules
