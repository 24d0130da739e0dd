"""A fleet: many devices from one spec (emulator/fleet/spec.py), on one Runtime and one loop.

Every device is a socket on the runtime's epoll loop, nothing per device in threads
(DESIGN.md principle 3). The fleet remembers its spec, so ``reset()`` brings every device back
to what the file describes, and it finds devices by hostname, MAC, ``ip`` or ``ip:port`` for
the control API and the fixtures.
"""

from __future__ import annotations

import functools
import resource
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..core.clock import Now
from ..core.device import Device
from ..core.errors import DeviceError
from ..runtime import DeviceHost, Runtime
from ..runtime.clock import Clock
from ..runtime.profiles import load_profile
from ..transports.cloud_link import CloudLinks
from ..transports.http.limits import DEFAULT_LIMITS
from ..transports.outward import attach_outward
from .actions import ActionError, call_world, value_parameters
from .control import Control
from .spec import DeviceSpec, FleetError, FleetSpec

__all__ = ["Fleet", "Member", "raise_descriptor_limit"]

#: Descriptors kept free for connections, log files and the control API.
_SPARE_DESCRIPTORS = 512
#: Plural world keys of fleet files and the actions they name (``loads: {0: 60}``).
_PLURAL = {"loads": "set_load", "inputs": "set_input"}

type Progress = Callable[[int, int], None]


@dataclass(eq=False, slots=True)
class Member:
    """A device of the fleet: what the spec asked for and the running host."""

    spec: DeviceSpec
    host: DeviceHost

    @property
    def id(self) -> str:
        return self.host.device.identity.hostname


def raise_descriptor_limit(needed: int) -> int:
    """Raise the soft descriptor limit to the hard one; FleetError if even that is too few."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and needed > hard:
        raise FleetError(
            f"the fleet needs about {needed} descriptors but the hard limit is {hard}; "
            "split it into shards (docs/kubernetes.md)"
        )
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


class Fleet:
    """The devices of a FleetSpec, running. Usable from any thread."""

    def __init__(
        self,
        spec: FleetSpec,
        runtime: Runtime | None = None,
        *,
        clock: Clock | None = None,
        state_dir: str | Path | None = None,
    ) -> None:
        self.spec = spec
        self._own_runtime = runtime is None
        self.runtime = runtime or Runtime(
            clock, state_dir=state_dir or spec.state_dir, limits=spec.limits or DEFAULT_LIMITS
        )
        self.members: list[Member] = []
        self._index: dict[str, Member] = {}
        self._cloud: CloudLinks | None = None

    @functools.cached_property
    def control(self) -> Control:
        """The control API of this fleet, in Python (emulator/fleet/control.py)."""
        return Control(self)

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, progress: Progress | None = None, *, per_device: int = 1) -> Fleet:
        """Create and serve every device; ``progress(done, total)`` is called as they come up.

        ``per_device``: descriptors a device holds (its HTTP listener; 2 with CoIoT's socket),
        to refuse at once a fleet the descriptor limit cannot hold.
        """
        total = len(self.spec.devices)
        raise_descriptor_limit((total + len(self.runtime.hosts)) * per_device + _SPARE_DESCRIPTORS)
        if self._own_runtime:
            self.runtime.start()
        try:
            self._start_cloud()
            attach_outward(self.runtime)
            for done, spec in enumerate(self.spec.devices, 1):
                self._add(spec)
                if progress is not None:
                    progress(done, total)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Close every socket and save state (the runtime's, if the fleet made it)."""
        if self._own_runtime:
            self.runtime.stop()
        else:
            for member in self.members:
                self.runtime.remove_device(member.host)
        self.members.clear()
        self._index.clear()

    def __enter__(self) -> Fleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _add(self, spec: DeviceSpec) -> None:
        store = self.runtime.store
        restored = store is not None and store.path(spec.mac).exists()
        host = self.runtime.add_device(
            spec.model,
            ip=spec.ip,
            http_port=spec.http_port,
            mac=spec.mac,
            fw=spec.fw,
            longid=spec.longid,
            login=spec.login,
            settings=spec.creation_settings(),
            max_connections=spec.max_connections,
        )
        member = Member(spec, host)
        # In the table before it is initialised: turning its cloud on starts its link, which
        # looks the device up (_cloud_server) on the loop at once.
        self.members.append(member)
        for key in (member.id, spec.mac, f"{spec.ip}:{host.http_port}", spec.ip):
            self._index.setdefault(key.lower(), member)
        self.runtime.call(lambda: self._initialise(member, fresh=not restored))

    def _initialise(self, member: Member, *, fresh: bool) -> None:
        """Loop thread: relay outputs (fresh devices only: flash keeps the last state) and the
        physical world (never saved: it is the world's, not the device's)."""
        spec, host = member.spec, member.host
        try:
            if fresh and any(key.startswith(("coiot", "mqtt")) for key in spec.creation_settings()):
                host.act(host.device.reboot)  # CoIoT and MQTT settings take effect at boot (core)
            if fresh and spec.cloud is not None:
                host.call("settings/cloud", {"enabled": "1"})
            if fresh:
                for channel, on in spec.relays.items():
                    host.call(f"relay/{channel}", {"turn": "on" if on else "off"})
            if spec.addon is not None:
                host.act(lambda now: host.device.world_plug_addon(*spec.addon, now=now))
            if spec.firmware_offer:
                offer = spec.firmware_offer
                host.act(lambda now: host.device.world_offer_firmware(**offer, now=now))
            for key, value in spec.world.items():
                host.act(lambda now, k=key, v=value: apply_world(host.device, k, v, now))
        except (ActionError, DeviceError) as error:
            raise FleetError(f"{member.id}: {error}") from None

    def _start_cloud(self) -> None:
        clouds = [spec.cloud for spec in self.spec.devices if spec.cloud is not None]
        if not clouds:
            return
        context = None
        ca = next((cloud.ca for cloud in clouds if cloud.ca), None)
        if ca is not None:
            context = ssl.create_default_context(cafile=ca)
        self._cloud = CloudLinks(self.runtime, self._cloud_server, context, self._cloud_account)

    def _cloud_server(self, host: DeviceHost) -> str:
        member = self.find(host.device.identity.mac)
        assert member.spec.cloud is not None, "cloud link for a device without a cloud"
        return member.spec.cloud.server

    def _cloud_account(self, host: DeviceHost) -> str | None:
        """The fleet file's ``cloud: {account}``: the cloud registers the device to it."""
        cloud = self.find(host.device.identity.mac).spec.cloud
        return cloud.account if cloud is not None else None

    # --- finding devices ------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.members)

    def __iter__(self) -> Iterator[Member]:
        return iter(list(self.members))

    def __getitem__(self, key: int | str) -> DeviceHost:
        if isinstance(key, int):
            return self.members[key].host
        return self.find(key).host

    def find(self, key: str) -> Member:
        """A device by hostname, MAC, ``ip:port`` or ``ip`` (the first device at that ip)."""
        member = self._index.get(_bare_mac(key) if _is_mac(key) else key.lower())
        if member is None:
            raise KeyError(f"no device {key!r} in this fleet (hostname, MAC, ip or ip:port)")
        return member

    # --- reset ------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Every device back to the fleet file: factory settings plus the file's, outputs and
        world as written, no faults; saved state is replaced. The request log is cleared."""
        store = self.runtime.store
        for member in self.members:
            spec = member.spec
            if store is not None:
                self.runtime.call(lambda mac=spec.mac: store.forget(mac))
            device = self._fresh_device(spec)
            self.runtime.replace_device(member.host, device)
            self.runtime.call(lambda m=member: self._initialise(m, fresh=True))
        self.runtime.request_log.clear()

    def _fresh_device(self, spec: DeviceSpec) -> Device:
        return self.runtime.build_device(
            load_profile(spec.model),
            spec.mac,
            ip=spec.ip,
            fw=spec.fw,
            longid=spec.longid,
            login=spec.login,
            settings=spec.creation_settings(),
            fresh=True,
        )


def apply_world(device: Device, key: str, value: object, now: Now) -> None:
    """One ``world:`` entry of a fleet file: ``{channel: value}`` maps call the action once per
    channel (``loads: {0: 60}``), a scalar calls it with the value (``device_temperature: 35``)."""
    action = _PLURAL.get(key, key if key.startswith("set_") else f"set_{key}")
    names = value_parameters(device, action)
    if isinstance(value, dict):
        if len(names) < 2:
            raise FleetError(f"world.{key}: {action} takes no channel; give a single value")
        for channel, item in value.items():
            call_world(device, action, {names[0]: channel, names[1]: item}, now)
    elif names:
        call_world(device, action, {names[0]: value}, now)
    else:
        raise FleetError(f"world.{key}: {action} takes no value")


def _bare_mac(key: str) -> str:
    return key.replace(":", "").replace("-", "").lower()


def _is_mac(key: str) -> bool:
    bare = _bare_mac(key)
    return len(bare) == 12 and all(c in "0123456789abcdef" for c in bare)
