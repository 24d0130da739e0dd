"""In-memory backend of the fake cloud: servers, users, devices, integrators, grants, tokens.

Pure state (DESIGN principle 1): no sockets, no clock reads, no rendering. Every mutation runs
under one re-entrant lock, because REST handlers run in worker threads and tests call the Python
API from their own thread. Mutations that clients must hear about emit events to subscribers
synchronously, still under the lock, so every subscriber sees them in the order they happened.
"""

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fake_cloud.state.events import Event, OnlineChanged, SettingsChanged, StatusChanged
from fake_cloud.state.ids import is_hex_id, normalize_hex, parse_id

__all__ = [
    "Access",
    "Backend",
    "Device",
    "Grant",
    "Integrator",
    "OAuthClient",
    "Server",
    "StateError",
    "User",
]

DIY_CLIENT = "shelly-diy"


class Access(StrEnum):
    """`accessGroups`: a hex byte whose bit 0 is control (spec/cloud.md §2.3, INT-COMM)."""

    READ_ONLY = "00"
    CONTROL = "01"


def can_control(access: str) -> bool:
    return int(access, 16) & 1 == 1


class StateError(Exception):
    """A control-plane or state request that cannot be applied; `kind` maps to an HTTP status."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "not_found" | "conflict" | "invalid"


@dataclass(slots=True)
class Server:
    name: str
    ip: str
    host: str  # what clients are told: callback `host`, WRONG_HOST `host`
    api_url: str  # `user_api_url` of users living here (seed 002)


@dataclass(slots=True)
class User:
    id: int
    email: str
    password: str
    server: str
    # Cloud Control API key (fake_cloud/api/cloud_control): "The key will change if you change
    # your password" (Cloud Control API, Getting Started).
    auth_key: str = ""


@dataclass(slots=True)
class Device:
    """A registered device; `status`/`settings` are its Gen1 documents as last reported."""

    id: str  # canonical lowercase hex, e.g. "b92cfa"
    code: str
    owner: int
    gen: str = "G1"
    mac: str = ""
    fw: str = ""
    name: str = ""
    status: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    online: bool = False
    linked: bool = False
    # Never linked: made by the control plane, its commands are played on its stored status.
    virtual: bool = True
    forced_offline: bool = False
    serial: int = 0


@dataclass(slots=True)
class Integrator:
    tag: str
    token: str
    callback_regex: str | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    tag: str
    device: str
    user: int
    access: str
    cb: str


@dataclass(frozen=True, slots=True)
class OAuthClient:
    client_id: str
    redirect_regex: str


class Backend:
    """The cloud's data. `reset()` empties it but keeps servers (they are bound sockets)."""

    def __init__(self, seed: int | None = None) -> None:
        self.lock = threading.RLock()
        self.servers: dict[str, Server] = {}
        self._listeners: list[Callable[[Event], None]] = []
        self.seed = random.SystemRandom().randrange(2**32) if seed is None else seed
        self.reset(self.seed)

    def reset(self, seed: int | None = None) -> None:
        """Forget users, devices, integrators, grants and tokens; ids restart from `seed`."""
        with self.lock:
            self.seed = self.seed if seed is None else seed
            self.rng = random.Random(self.seed)
            self.users: dict[int, User] = {}
            self.devices: dict[str, Device] = {}
            self.integrators: dict[str, Integrator] = {}
            self.grants: dict[tuple[str, str], Grant] = {}
            self.clients: dict[str, OAuthClient] = {}
            self.issued: dict[str, str] = {}  # jti -> subject ("user:<id>" or "itg:<tag>")
            self.revoked: set[str] = set()
            self.used_codes: set[str] = set()

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        with self.lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[Event], None]) -> None:
        with self.lock:
            self._listeners.remove(listener)

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)

    # Servers and users.

    def add_server(self, server: Server) -> None:
        with self.lock:
            self.servers[server.name] = server

    def server(self, name: str) -> Server:
        try:
            return self.servers[name]
        except KeyError:
            raise StateError("not_found", f"no server {name!r}") from None

    def create_user(
        self, email: str, password: str, server: str, user_id: int | None = None
    ) -> User:
        with self.lock:
            self.server(server)
            if self.user_by_email(email) is not None:
                raise StateError("conflict", f"user {email!r} exists")
            if user_id is None:
                user_id = self._unique(lambda: self.rng.randrange(1000, 10**6), self.users)
            elif user_id in self.users:
                raise StateError("conflict", f"user {user_id} exists")
            user = User(user_id, email, password, server, self._new_auth_key())
            self.users[user_id] = user
            return user

    def user(self, user_id: int) -> User:
        try:
            return self.users[user_id]
        except KeyError:
            raise StateError("not_found", f"no user {user_id}") from None

    def user_by_auth_key(self, key: str) -> User | None:
        return next((u for u in self.users.values() if key and u.auth_key == key), None)

    def _new_auth_key(self) -> str:
        return format(self.rng.getrandbits(256), "064x")

    def user_by_email(self, email: str) -> User | None:
        return next((u for u in self.users.values() if u.email.lower() == email.lower()), None)

    def move_user(self, user_id: int, server: str) -> None:
        """Rehost a user and their devices; integrators then get WRONG_HOST (INT-COMM)."""
        with self.lock:
            self.server(server)
            self.user(user_id).server = server

    def set_password(self, user_id: int, password: str) -> None:
        """A new password invalidates the user's tokens (seed 001: "invalidated on password
        change")."""
        with self.lock:
            user = self.user(user_id)
            user.password = password
            user.auth_key = self._new_auth_key()
            self.revoke_subject(f"user:{user_id}")

    # Devices.

    def create_device(
        self, code: str, owner: int, hexid: str | None = None, **fields: Any
    ) -> Device:
        with self.lock:
            self.user(owner)
            if hexid is None:
                hexid = self._unique(lambda: format(self.rng.getrandbits(24), "06x"), self.devices)
            elif not is_hex_id(hexid):
                raise StateError("invalid", f"device id {hexid!r} is not 6 or 12 hex digits")
            hexid = normalize_hex(hexid)
            if hexid in self.devices:
                raise StateError("conflict", f"device {hexid} exists")
            device = Device(hexid, code, owner, **fields)
            device.serial = _initial_serial(device.status)
            device.status = {**device.status, "serial": device.serial}
            self.devices[hexid] = device
            return device

    def device(self, hexid: str) -> Device:
        try:
            return self.devices[normalize_hex(hexid)]
        except KeyError:
            raise StateError("not_found", f"no device {hexid}") from None

    def find_device(self, raw: object, prefer_dec: bool) -> Device | None:
        """Resolve a client-written id (decimal string, hex, or number) to a device."""
        for candidate in parse_id(raw, prefer_dec):
            if candidate in self.devices:
                return self.devices[candidate]
        return None

    def device_server(self, device: Device) -> str:
        """A device lives on its owner's server (seed 000: users and their devices stay
        together)."""
        return self.users[device.owner].server

    def devices_of(self, user_id: int) -> list[Device]:
        return [d for d in self.devices.values() if d.owner == user_id]

    def link_up(self, hexid: str, hello: dict[str, Any], server: str) -> Device:
        """A device link said hello: register it if new (owned by the hello's `account`, else
        the server's first user, made if needed), take its identity and documents, and mark it
        online. A known device given another account moves to it, as pairing again does."""
        with self.lock:
            device = self.devices.get(normalize_hex(hexid))
            account = self.user_by_email(str(hello["account"])) if "account" in hello else None
            if device is not None and account is not None:
                device.owner = account.id
            if device is None:
                owner = (
                    account.id
                    if account is not None
                    else next((u.id for u in self.users.values() if u.server == server), None)
                )
                if owner is None:
                    owner = self.create_user(f"owner-{hexid}@fake.shelly.cloud", "", server).id
                device = self.create_device(str(hello.get("code", "")), owner, hexid)
            device.code = str(hello.get("code") or device.code)
            device.mac = str(hello.get("mac") or device.mac)
            device.fw = str(hello.get("fw") or device.fw)
            device.name = str(hello.get("name") or device.name)
            if isinstance(hello.get("gen"), int):
                device.gen = f"G{hello['gen']}"
            device.linked = True
            device.virtual = False
            if isinstance(hello.get("settings"), dict):
                device.settings = hello["settings"]
            self._set_online(device, True)
            if isinstance(hello.get("status"), dict):
                self.update_status(device.id, hello["status"])
            return device

    def link_down(self, hexid: str) -> None:
        with self.lock:
            device = self.device(hexid)
            device.linked = False
            self._set_online(device, False)

    def set_online(self, hexid: str, online: bool) -> None:
        """Control plane: offline sticks until set online again (a live link is also cut by
        the runner); online brings a virtual device back at once, a linked one when it links
        again."""
        with self.lock:
            device = self.device(hexid)
            device.forced_offline = not online
            if not online or device.virtual:
                self._set_online(device, online)

    def _set_online(self, device: Device, online: bool) -> None:
        if device.online != online:
            device.online = online
            self._emit(OnlineChanged(device.id, online))

    def update_status(self, hexid: str, status: dict[str, Any], merge: bool = False) -> None:
        """Store a status document and announce it with a fresh `serial`: ushelly treats an
        unchanged serial as a ping and fires no change events (spec/cloud.md §1.4)."""
        with self.lock:
            device = self.device(hexid)
            new = {**device.status, **status} if merge else dict(status)
            changed = tuple(k for k in new if k != "serial" and device.status.get(k) != new[k])
            device.serial += 1
            new["serial"] = device.serial
            device.status = new
            self._emit(StatusChanged(device.id, new, changed))

    def update_settings(self, hexid: str, settings: dict[str, Any], merge: bool = False) -> None:
        with self.lock:
            device = self.device(hexid)
            device.settings = {**device.settings, **settings} if merge else dict(settings)
            self._emit(SettingsChanged(device.id, device.settings))

    # Integrators, grants, OAuth clients.

    def create_integrator(
        self, tag: str, token: str | None = None, callback_regex: str | None = None
    ) -> Integrator:
        with self.lock:
            if tag in self.integrators:
                raise StateError("conflict", f"integrator {tag!r} exists")
            token = token or format(self.rng.getrandbits(128), "032x")
            integrator = Integrator(tag, token, callback_regex)
            self.integrators[tag] = integrator
            return integrator

    def integrator(self, tag: str) -> Integrator:
        try:
            return self.integrators[tag]
        except KeyError:
            raise StateError("not_found", f"no integrator {tag!r}") from None

    def put_grant(self, grant: Grant) -> Grant | None:
        """Store a grant; returns the one it replaced."""
        with self.lock:
            key = (grant.tag, grant.device)
            previous = self.grants.get(key)
            self.grants[key] = grant
            return previous

    def drop_grant(self, tag: str, hexid: str) -> Grant | None:
        with self.lock:
            return self.grants.pop((tag, normalize_hex(hexid)), None)

    def grant(self, tag: str, hexid: str) -> Grant | None:
        return self.grants.get((tag, hexid))

    def register_client(self, client_id: str, redirect_regex: str) -> OAuthClient:
        with self.lock:
            client = OAuthClient(client_id, redirect_regex)
            self.clients[client_id] = client
            return client

    def client(self, client_id: str) -> OAuthClient | None:
        """`shelly-diy` is always known and accepts any redirect (seed 002)."""
        if client_id == DIY_CLIENT:
            return OAuthClient(DIY_CLIENT, ".*")
        return self.clients.get(client_id)

    # Token bookkeeping (signing lives in tokens.py).

    def new_jti(self, subject: str) -> str:
        with self.lock:
            jti = self._unique(lambda: format(self.rng.getrandbits(64), "016x"), self.issued)
            self.issued[jti] = subject
            return jti

    def revoke(self, jti: str) -> None:
        with self.lock:
            self.revoked.add(jti)

    def revoke_subject(self, subject: str) -> None:
        with self.lock:
            self.revoked.update(j for j, s in self.issued.items() if s == subject)

    def revoke_all(self) -> None:
        with self.lock:
            self.revoked.update(self.issued)

    def use_code(self, jti: str) -> bool:
        """Mark a single-use code spent; False when it already was."""
        with self.lock:
            if jti in self.used_codes:
                return False
            self.used_codes.add(jti)
            return True

    def _unique[K](self, make: Callable[[], K], taken: dict[K, Any]) -> K:
        while (value := make()) in taken:
            pass
        return value


def _initial_serial(status: dict[str, Any]) -> int:
    serial = status.get("serial")
    return serial if isinstance(serial, int) and not isinstance(serial, bool) else 0
