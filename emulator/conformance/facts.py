"""What the checks learn about the device before they run, and the cases they derive from it.

The probe reads ``/shelly`` (never authenticated) and, credentials permitting, ``/settings`` and
``/status``. From the model's entry in ``profiles/schemas/models.json`` and the channel arrays of
``/settings``/``/status`` it derives every endpoint to check, the outputs to toggle and the bad
requests to send. Nothing here is specific to one model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .schemas import ModelInfo, Version, model_info, models, parse_fw
from .target import Target

__all__ = ["BadRequest", "Device", "EndpointCase", "Options", "Output", "probe", "stable"]

# Keys whose values change on their own (clock, counters, measurements, links); /settings is
# compared without them before and after a rejected request.
VOLATILE = frozenset(
    {
        "time",
        "unixtime",
        "uptime",
        "ram_free",
        "ram_lwm",
        "fs_free",
        "serial",
        "rssi",
        "connected",
        "power",
        "timestamp",
        "counters",
        "total",
        "meters",
        "cfg_changed_cnt",
        "has_timer",
        "timer_remaining",
        "timer_started",
        "timer_duration",
        "state",
        "tmp",
        "temperature",
    }
)
OUTPUT_KINDS = ("relay", "light")


@dataclass(frozen=True, slots=True)
class Options:
    """The tester's command line, as the pytest plugin received it."""

    url: str
    profile: str | None = None
    login: tuple[str, str] | None = None
    mutating: bool = False
    listen: tuple[str, int] | None = None
    listen_timeout: float = 40.0
    coap_port: int = 5683
    timeout: float = 5.0
    mdns: bool = True


@dataclass(frozen=True, slots=True)
class EndpointCase:
    """One resource to fetch and validate: ``relay/1`` is ``/relay/1`` against ``relay.json``."""

    id: str
    endpoint: str
    path: str


@dataclass(frozen=True, slots=True)
class Output:
    """A switchable channel: ``/relay/0`` or ``/light/0``."""

    kind: str
    index: int

    @property
    def id(self) -> str:
        return f"{self.kind}/{self.index}"

    @property
    def path(self) -> str:
        return f"/{self.kind}/{self.index}"

    @property
    def collection(self) -> str:
        """Its array in /status and /settings (relays, lights)."""
        return self.kind + "s"


@dataclass(frozen=True, slots=True)
class BadRequest:
    """A request a device must refuse with 4xx text/plain; ``skip`` says why it does not apply."""

    id: str
    path: str
    params: dict[str, str]
    skip: str | None = None


@dataclass
class Device:
    """The device as probed: model, firmware and the documents read at start."""

    model: str
    info: ModelInfo
    fw: str
    version: Version
    shelly: dict[str, Any]
    settings: dict[str, Any] | None = None
    status: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def auth(self) -> bool:
        """Whether /shelly says HTTP auth is on."""
        return bool(self.shelly.get("auth"))

    @property
    def coiot_version(self) -> int:
        """CoIoT generation: 2 from fw 1.8.0 ('CoAP protocol is rewritten'), 1 before and on
        models that never got v2 (coiot.md 8)."""
        return 1 if self.info.coiot_v1_only or self.version < (1, 8, 0) else 2

    def serves(self, endpoint: str) -> bool:
        """Whether the model serves ``endpoint`` at this firmware and in this mode."""
        ep = self.info.endpoints.get(endpoint)
        return ep is not None and ep.available(self.version, self.mode)

    @property
    def mode(self) -> str | None:
        """/settings mode (relay/roller, color/white) when the model has one."""
        return (self.settings or {}).get("mode")

    def channels(self, source: str) -> int:
        """Length of the array at ``settings.relays``-style ``source``."""
        doc_name, _, key = source.partition(".")
        doc = self.settings if doc_name == "settings" else self.status
        value = (doc or {}).get(key)
        return len(value) if isinstance(value, list) else 0

    def endpoint_cases(self) -> list[EndpointCase]:
        """Every documented resource this device should serve, one case per channel."""
        cases = [EndpointCase("settings", "settings", "/settings")]
        cases.append(EndpointCase("status", "status", "/status"))
        for name, ep in self.info.endpoints.items():
            if not ep.available(self.version, self.mode):
                continue
            if ep.channels is None:
                cases.append(EndpointCase(name, name, ep.path))
                continue
            for i in range(self.channels(ep.channels)):
                cases.append(EndpointCase(f"{name}/{i}", name, ep.path.format(i=i)))
        return cases

    def output_kind(self) -> str | None:
        """``relay`` or ``light`` when the device (in its current mode) has such outputs."""
        return next((kind for kind in OUTPUT_KINDS if self.serves(kind)), None)

    def outputs(self) -> list[Output]:
        """Every switchable channel."""
        kind = self.output_kind()
        if kind is None:
            return []
        source = self.info.endpoints[kind].channels or ""
        return [Output(kind, i) for i in range(self.channels(source))]

    def bad_requests(self) -> list[BadRequest]:
        """Requests with bad parameters (seed 003: '4xx with a text/plain body')."""
        kind = self.output_kind()
        no_output = None if kind else "the model has no relay or light output in this mode"
        shown = kind or "output"
        has_max_power = "max_power" in (self.settings or {})
        return [
            BadRequest("unknown-path", "/shelly-emu-conformance/no-such-endpoint", {}),
            BadRequest(f"{shown}-turn-bogus", f"/{shown}/0", {"turn": "bogus"}, no_output),
            BadRequest(f"{shown}-channel-99", f"/{shown}/99", {}, no_output),
            BadRequest(
                f"settings_{shown}-default_state-bogus",
                f"/settings/{shown}/0",
                {"default_state": "bogus"},
                no_output,
            ),
            BadRequest(
                "settings-max_power-negative",
                "/settings",
                {"max_power": "-5"},
                None if has_max_power else "the device's /settings has no max_power",
            ),
        ]


def stable(doc: Any) -> Any:
    """``doc`` without the keys in ``VOLATILE``, at any depth."""
    if isinstance(doc, dict):
        return {k: stable(v) for k, v in doc.items() if k not in VOLATILE}
    if isinstance(doc, list):
        return [stable(v) for v in doc]
    return doc


def probe(target: Target, profile: str | None) -> Device:
    """Read /shelly (and /settings, /status when allowed) and pick the model's schema set.

    Raises:
        DeviceUnreachable: no answer (``DeviceAsleep`` for sleeping models).
        LookupError: a model without schemas, or a /shelly that cannot be read.
    """
    if profile is not None and profile not in models():
        raise LookupError(f"--profile {profile}: no schemas; known: {', '.join(models())}")
    if profile is not None:
        target.sleepy = model_info(profile).sleep_mode
    reply = target.get("/shelly", auth=False)
    if reply.status != 200:
        raise LookupError(f"/shelly answered HTTP {reply.status}; cannot tell the model")
    try:
        shelly = reply.json()
        model = profile or shelly["type"]
        fw = shelly["fw"]
        version = parse_fw(fw)
    except (ValueError, KeyError, TypeError) as exc:
        raise LookupError(f"/shelly does not name type and fw: {exc}") from exc
    if model not in models():
        raise LookupError(f"model {model!r} has no schemas; pass --profile (one of {models()})")
    info = model_info(model)
    target.sleepy = info.sleep_mode
    device = Device(model, info, fw, version, shelly)
    if device.auth and target.login is None:
        device.notes.append("auth is on and no --login given: only unauthenticated checks run")
        return device
    for name in ("settings", "status"):
        try:
            doc = target.json(f"/{name}")
        except (AssertionError, ValueError) as exc:
            device.notes.append(f"/{name} unreadable at start: {exc}")
            continue
        setattr(device, name, doc)
    return device
