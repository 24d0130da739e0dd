"""Fleet files: a YAML description of many devices, parsed into one spec per device.

    state_dir: ./state                 # optional: settings survive restarts and kill -9
    control: 127.0.0.1:8080            # optional: the control API (/_emu/...), or off
    coiot_socket: shared               # optional: one UDP socket for all (default per-device)
    limits: {keep_alive_timeout: 5}    # optional: HTTP limits (emulator/transports/http/limits.py)
    defaults: {login: admin:secret}    # optional: keys every group inherits
    devices:
      - model: SHPLG-S                 # model code or profile name
        count: 100
        address: 127.20.0.1            # one address each from here, HTTP :80, CoAP :5683
        # address: 127.0.0.1:8001      # or one address, a port each (HTTP 8001.., CoAP 5683..)
        # address: auto                # (default) a free random 127.x block, for tests
        name: "Plug {n}"               # /settings name; {n} 1-based, {i} 0-based, {ip}, {port}
        seed: lab-a                    # MACs: sequential from a hash of the seed
        # mac: 3494546E0001            # or sequential from this MAC
        login: admin:secret            # or {username: admin, password: secret}
        coiot_peer: 127.0.0.1:5683     # unicast CoIoT target (multicast when absent)
        cloud: {server: "wss://127.5.0.1:6113", account: alice@example.com, ca: ca.pem}
        settings: {led_status_disable: true}   # any /settings parameters, at creation
        relays: {0: true}              # output state at creation
        world: {loads: {0: 60}, device_temperature: 35}   # see emulator/fleet/actions.py
        max_connections: 4             # open HTTP connections per device (as a real ESP8266)
        addon: {sensors: ds18b20, count: 3}   # Shelly 1 add-on: ds18b20 (1..3) or dht22 (life.py)
        firmware_offer: {stable: "20231107-164738/v1.14.1-gcb84623"}   # the update server's offer

Every key and value is checked; an error is one line naming the file, the key and what is
allowed. Nothing wrong is silently defaulted.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from ..core.identity import derive_mac, normalise_mac
from ..runtime.profiles import ProfileError, load_profile
from ..transports.http.limits import DEFAULT_LIMITS, HttpLimits, LimitError
from ..transports.net import free_loopback_block, require_local_address
from .life import AddonSpec, LifeError, addon_spec, firmware_offer

__all__ = [
    "COIOT_SOCKETS",
    "CloudSpec",
    "DeviceSpec",
    "FleetError",
    "FleetSpec",
    "load_fleet",
    "parse_fleet",
]

_GROUP_KEYS = {
    "model", "count", "address", "http_port", "coap_port", "name", "seed", "mac", "fw",
    "longid", "login", "coiot_peer", "cloud", "settings", "relays", "world", "max_connections",
    "addon", "firmware_offer",
}  # fmt: skip
_TOP_KEYS = {"state_dir", "control", "coiot_socket", "limits", "defaults", "devices"}
#: How CoIoT is served (transports/coiot/udp.py): a socket per device, or one for every device.
COIOT_SOCKETS = ("per-device", "shared")
#: Upper bound on one fleet file (the descriptor hard limit here is 20,000 per process).
MAX_DEVICES = 100_000


class FleetError(ValueError):
    """A fleet file or option that cannot describe a fleet; the message says where."""


@dataclass(frozen=True, slots=True)
class CloudSpec:
    """Where a device's cloud link goes (transports/cloud_link.py) and whose device it is."""

    server: str
    account: str | None = None
    ca: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """One device of a fleet, fully resolved: what to create and where to serve it."""

    model: str
    ip: str
    http_port: int
    coap_port: int
    mac: str
    name: str | None = None
    fw: str | None = None
    longid: bool | None = None
    login: tuple[str, str] | None = None
    coiot_peer: str | None = None
    cloud: CloudSpec | None = None
    settings: Mapping[str, str] = field(default_factory=dict)
    relays: Mapping[int, bool] = field(default_factory=dict)
    world: Mapping[str, Any] = field(default_factory=dict)
    #: Open HTTP connections the device accepts (None: the runtime's default; 0: no limit).
    max_connections: int | None = None
    #: Add-on sensors plugged in (kind, count), and what the update server offers.
    addon: AddonSpec | None = None
    firmware_offer: Mapping[str, Any] = field(default_factory=dict)

    def creation_settings(self) -> dict[str, str]:
        """/settings parameters applied when the device is created without saved state."""
        params = dict(self.settings)
        if self.name is not None:
            params["name"] = self.name
        if self.coiot_peer is not None:
            params["coiot_peer"] = self.coiot_peer
        return params


@dataclass(frozen=True, slots=True)
class FleetSpec:
    """A whole fleet; ``devices`` keep the file's order."""

    devices: tuple[DeviceSpec, ...]
    state_dir: str | None = None
    control: tuple[str, int] | None = None
    source: str = "<fleet>"
    #: "shared": one wildcard UDP socket serves every device (one descriptor per device in all).
    coiot_socket: str = "per-device"
    #: ``control: off`` in the file: no control API, whatever the command line's default.
    control_off: bool = False
    #: HTTP limits of the fleet's runtime (None: the defaults, or the command line's).
    limits: HttpLimits | None = None


def load_fleet(path: str | Path) -> FleetSpec:
    """Read and check a fleet file; relative ``state_dir`` is relative to the file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise FleetError(f"{path}: {error}") from None
    spec = parse_fleet(data, str(path))
    if spec.state_dir is not None and not Path(spec.state_dir).is_absolute():
        spec = replace(spec, state_dir=str(path.parent / spec.state_dir))
    return spec


def parse_fleet(data: Any, source: str = "<fleet>") -> FleetSpec:
    """Check a fleet mapping (the YAML document) and resolve every device."""
    if not isinstance(data, Mapping):
        raise FleetError(f"{source}: a fleet file is a mapping with a 'devices' list")
    _no_unknown(data, _TOP_KEYS, source)
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        raise FleetError(f"{source}: defaults must be a mapping")
    _no_unknown(defaults, _GROUP_KEYS - {"model", "count", "address", "mac"}, f"{source}: defaults")
    groups = data.get("devices")
    if not isinstance(groups, list) or not groups:
        raise FleetError(f"{source}: 'devices' must be a non-empty list of groups")
    devices: list[DeviceSpec] = []
    for index, group in enumerate(groups):
        where = f"{source}: devices[{index}]"
        if not isinstance(group, Mapping):
            raise FleetError(f"{where}: each group is a mapping with at least 'model'")
        _no_unknown(group, _GROUP_KEYS, where)
        devices.extend(_group(where, {**defaults, **group}, index))
    if len(devices) > MAX_DEVICES:
        raise FleetError(f"{source}: {len(devices)} devices; at most {MAX_DEVICES} per fleet")
    _check_unique(devices, source)
    state_dir = _scalar(data.get("state_dir"), f"{source}: state_dir", "a directory path")
    coiot_socket = data.get("coiot_socket", "per-device")
    if coiot_socket not in COIOT_SOCKETS:
        raise FleetError(
            f"{source}: coiot_socket: {coiot_socket!r}; want one of {', '.join(COIOT_SOCKETS)}"
        )
    control = data.get("control")
    control_off = control is False or control == "off"
    if control is not None and not control_off:
        if not isinstance(control, str):
            raise FleetError(f"{source}: control: {control!r}; want ADDRESS:PORT or off")
        control = _endpoint(control, f"{source}: control")
    return FleetSpec(
        tuple(devices),
        state_dir,
        None if control_off else control,
        source,
        coiot_socket,
        control_off,
        _limits(data.get("limits"), f"{source}: limits"),
    )


def _limits(value: Any, where: str) -> HttpLimits | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise FleetError(f"{where}: want a mapping of limits, e.g. {{keep_alive_timeout: 5}}")
    try:
        return DEFAULT_LIMITS.merged(value)
    except (LimitError, TypeError) as error:
        raise FleetError(f"{where}: {error}") from None


def _group(where: str, group: Mapping[str, Any], index: int) -> list[DeviceSpec]:
    if "model" not in group:
        raise FleetError(f"{where}: 'model' is required")
    try:
        profile = load_profile(str(group["model"]))
    except ProfileError as error:
        raise FleetError(f"{where}: {error}") from None
    count = _int(group.get("count", 1), f"{where}.count", 1, MAX_DEVICES)
    addresses = _addresses(where, group, count)
    if "mac" in group:
        try:
            first = int(normalise_mac(str(group["mac"])), 16)
        except ValueError as error:
            raise FleetError(f"{where}.mac: {error}") from None
    else:
        seed = _scalar(group.get("seed"), f"{where}.seed", "a string") or (
            f"{profile.model}#{index}@{addresses[0][0]}"
        )
        first = int(derive_mac(profile.mac_prefix, seed), 16)
    prefix = first & ~0xFFFFFF
    cloud = _cloud(group.get("cloud"), f"{where}.cloud")
    login = _login(group.get("login"), f"{where}.login")
    settings = _str_map(group.get("settings"), f"{where}.settings")
    relays = _relays(group.get("relays"), f"{where}.relays")
    world = group.get("world") or {}
    if not isinstance(world, Mapping):
        raise FleetError(f"{where}.world: must be a mapping of world actions")
    name = _scalar(group.get("name"), f"{where}.name", "a name pattern")
    fw = _scalar(group.get("fw"), f"{where}.fw", "a firmware string")
    longid = _bool(group.get("longid"), f"{where}.longid")
    peer = group.get("coiot_peer")
    if peer is not None:
        peer = _scalar(peer, f"{where}.coiot_peer", "IP:PORT")
        _endpoint(peer, f"{where}.coiot_peer")
    connections = group.get("max_connections")
    if connections is not None:
        connections = _int(connections, f"{where}.max_connections", 0, 65535)
    try:
        addon = addon_spec(group.get("addon"), f"{where}.addon", profile)
        offer = firmware_offer(group.get("firmware_offer"), f"{where}.firmware_offer")
    except LifeError as error:
        raise FleetError(str(error)) from None
    devices = []
    for i, (ip, http_port, coap_port) in enumerate(addresses):
        mac = f"{prefix | ((first + i) & 0xFFFFFF):012X}"  # stays within the vendor prefix
        devices.append(
            DeviceSpec(
                model=profile.model,
                ip=ip,
                http_port=http_port,
                coap_port=coap_port,
                mac=mac,
                name=None if name is None else _pattern(name, i, ip, http_port, where),
                fw=fw,
                longid=longid,
                login=login,
                coiot_peer=peer,
                cloud=cloud,
                settings=settings,
                relays=relays,
                world=world,
                max_connections=connections,
                addon=addon,
                firmware_offer=offer,
            )
        )
    return devices


def _addresses(where: str, group: Mapping[str, Any], count: int) -> list[tuple[str, int, int]]:
    """(ip, http_port, coap_port) per device, from the group's address plan."""
    address = _scalar(group.get("address", "auto"), f"{where}.address", "IP, IP:PORT or auto")
    if address == "auto":
        http = _int(group.get("http_port", 80), f"{where}.http_port", 0, 65535)
        first_ip = free_loopback_block(count, http or 80)
    else:
        first_ip, http = _endpoint(address, f"{where}.address", default_port=None)
    coap = _int(group.get("coap_port", 5683), f"{where}.coap_port", 1, 65535)
    if address != "auto" and http is not None:  # one address, a port each
        if "http_port" in group:
            raise FleetError(f"{where}: give the port in 'address' or in 'http_port', not both")
        if http + count - 1 > 65535 or coap + count - 1 > 65535:
            raise FleetError(f"{where}: {count} ports from {http} run past 65535")
        return [(first_ip, http + i, coap + i) for i in range(count)]
    http = (
        _int(group.get("http_port", 80), f"{where}.http_port", 0, 65535) if http is None else http
    )
    base = int(ipaddress.IPv4Address(first_ip))
    last = base + count - 1
    loopback = ipaddress.IPv4Address(first_ip).is_loopback
    if last > 0xFFFFFFFF or (loopback and not ipaddress.IPv4Address(last).is_loopback):
        raise FleetError(f"{where}: {count} addresses from {first_ip} run out of range")
    addresses = [str(ipaddress.IPv4Address(base + i)) for i in range(count)]
    if not loopback:  # a LAN alias, a macvlan, a veth: each must be this host's already
        for ip in addresses:
            try:
                require_local_address(ip)
            except ValueError as error:
                raise FleetError(f"{where}.address: {error}") from None
    return [(ip, http, coap) for ip in addresses]


def _endpoint(value: Any, where: str, default_port: int | None = 0) -> tuple[str, Any]:
    text = str(value)
    host, sep, port = text.partition(":")
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        raise FleetError(f"{where}: {host!r} is not an IPv4 address; want IP or IP:PORT") from None
    if not sep:
        return host, default_port
    return host, _int(port, where, 0, 65535)


def _int(value: Any, where: str, low: int, high: int) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise FleetError(f"{where}: {value!r} is not an integer; want {low}..{high}") from None
    if not low <= number <= high:
        raise FleetError(f"{where}: {number} is out of range {low}..{high}")
    return number


def _login(value: Any, where: str) -> tuple[str, str] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        user, password = value.get("username"), value.get("password")
    else:
        user, _, password = str(value).partition(":")
    if not user or not password:
        raise FleetError(f"{where}: want USER:PASSWORD or {{username, password}}")
    return str(user), str(password)


def _cloud(value: Any, where: str) -> CloudSpec | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = {"server": value}
    if not isinstance(value, Mapping) or not value.get("server"):
        raise FleetError(f"{where}: want a server URL or {{server, account, ca}}")
    _no_unknown(value, {"server", "account", "ca"}, where)
    server = str(value["server"])
    if not server.startswith(("ws://", "wss://")):
        raise FleetError(f"{where}.server: {server!r} is not a ws:// or wss:// URL")
    account = _scalar(value.get("account"), f"{where}.account", "an account e-mail")
    ca = _scalar(value.get("ca"), f"{where}.ca", "a CA file path")
    return CloudSpec(server, account, ca)


def _str_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise FleetError(f"{where}: must be a mapping of parameters")
    return {str(k): _param(v, f"{where}.{k}") for k, v in value.items()}


def _param(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str | int | float):
        raise FleetError(f"{where}: {value!r}; want a string, number or true/false")
    return str(value)


def _scalar(value: Any, where: str, what: str) -> str | None:
    """A string setting given as a string or number (None when absent)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FleetError(f"{where}: {value!r}; want {what}")
    return str(value)


def _bool(value: Any, where: str) -> bool | None:
    """YAML true or false (None when absent): a string such as "no" is an error, not True."""
    if value is None or isinstance(value, bool):
        return value
    raise FleetError(f"{where}: {value!r}; want true or false")


def _relays(value: Any, where: str) -> dict[int, bool]:
    if value is None:
        return {}
    if isinstance(value, list):
        value = dict(enumerate(value))
    if not isinstance(value, Mapping):
        raise FleetError(f"{where}: want {{channel: true|false}} or a list")
    relays = {}
    for key, on in value.items():
        if not isinstance(on, bool):
            raise FleetError(f"{where}.{key}: {on!r}; want true or false")
        relays[_int(key, where, 0, 64)] = on
    return relays


def _pattern(pattern: str, i: int, ip: str, port: int, where: str) -> str:
    try:
        return pattern.format(n=i + 1, i=i, ip=ip, port=port)
    except (KeyError, IndexError, ValueError) as error:
        raise FleetError(
            f"{where}.name: bad pattern {pattern!r} ({error}); use {{n}} {{i}} {{ip}} {{port}}"
        ) from None


def _no_unknown(data: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(str(k) for k in set(data) - known)
    if unknown:
        raise FleetError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(sorted(known))}")


def _check_unique(devices: list[DeviceSpec], source: str) -> None:
    seen_mac: set[str] = set()
    seen_http: set[tuple[str, int]] = set()
    for device in devices:
        if device.mac in seen_mac:
            raise FleetError(
                f"{source}: MAC {device.mac} is used twice; give groups their own seed"
            )
        endpoint = (device.ip, device.http_port)
        if device.http_port and endpoint in seen_http:
            raise FleetError(f"{source}: {device.ip}:{device.http_port} is used twice")
        seen_mac.add(device.mac)
        seen_http.add(endpoint)
