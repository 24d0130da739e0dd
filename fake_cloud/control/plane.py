"""Control plane of the fake cloud, as a Python API (`FakeCloud.control`); control_http.py
serves the same calls under `/_fake/` (moto's `/moto-api/` is the model, spec/cloud.md §7).

Everything a test needs to arrange or break: reset and seed, users, servers, devices, consent
granted headlessly (the very callbacks the page fires), moving a user to another server, token
expiry and forgery, dropping or freezing sockets, devices set offline, faults, the recorder,
the clock and the behaviour policies. Safe to call from any thread but the cloud's event loop
(grants block on their callbacks).
"""

import dataclasses
from collections.abc import Callable
from typing import Any

from fake_cloud.api.consent import CallbackResult
from fake_cloud.api.context import Services
from fake_cloud.api.ws import Hub
from fake_cloud.state.backend import (
    Access,
    Device,
    Integrator,
    OAuthClient,
    Server,
    StateError,
    User,
)
from fake_cloud.state.faults import Fault
from fake_cloud.state.tokens import Audience, Tokens

__all__ = ["Control"]


class Control:
    """The control-plane calls; `add_server` comes from the runner, which binds listeners."""

    def __init__(self, services: Services, hub: Hub, add_server: Callable[[str], Server]) -> None:
        self.services = services
        self._hub = hub
        self._add_server = add_server
        self._initial_policies = dataclasses.replace(services.policies)
        self._initial_policies.res = dict(services.policies.res)

    @property
    def scl_trust_public_key(self) -> str:
        """PEM of the key that signs SCL-Trust headers: give it to the integrator under test."""
        return self.services.tokens.public_pem

    # State.

    def reset(self, seed: int | None = None, demo: bool = False) -> None:
        """Back to an empty cloud (servers stay); open sockets are closed (1012), so linked
        devices reconnect and register again. A new `seed` re-derives ids and keys."""
        s = self.services
        self._hub.close_all(1012, "cloud reset")
        previous = s.backend.seed
        s.backend.reset(seed)
        if s.backend.seed != previous:
            s.tokens.rekey(s.backend.seed)
        s.faults.clear(s.backend.seed)
        s.recorder.clear()
        s.limiter.clear()
        for field in dataclasses.fields(self._initial_policies):
            value = getattr(self._initial_policies, field.name)
            setattr(s.policies, field.name, dict(value) if isinstance(value, dict) else value)
        if demo:
            self.seed_demo()

    def seed(self, seed: int | None = None) -> dict[str, Any]:
        """Reset with `seed` and the demo content; the resulting state."""
        self.reset(seed, demo=True)
        return self.state()

    def seed_demo(self) -> dict[str, Any]:
        """Deterministic demo content: two users on two servers, three devices, one
        integrator. Returns the credentials."""
        servers = list(self.services.backend.servers)
        demo = self.create_user("demo@example.com", "demo", servers[0])
        other = self.create_user("other@example.com", "other", servers[-1])
        self.create_device("SHSW-1", demo.id, status=_relay_status(1), name="Demo switch")
        self.create_device("SHSW-25", demo.id, status=_roller_status(), name="Demo cover")
        self.create_device("SHPLG-S", other.id, status=_relay_status(1), name="Other plug")
        integrator = self.create_integrator("ITG_DEMO")
        return {
            "users": [dataclasses.asdict(u) for u in (demo, other)],
            "integrator": dataclasses.asdict(integrator),
        }

    def state(self) -> dict[str, Any]:
        backend = self.services.backend
        sockets = self._hub.describe()  # not under the lock: it waits for the event loop
        with backend.lock:
            return {
                "seed": backend.seed,
                "servers": [dataclasses.asdict(s) for s in backend.servers.values()],
                "users": [dataclasses.asdict(u) for u in backend.users.values()],
                "devices": [
                    {**dataclasses.asdict(d), "server": backend.device_server(d)}
                    for d in backend.devices.values()
                ],
                "integrators": [dataclasses.asdict(i) for i in backend.integrators.values()],
                "grants": [dataclasses.asdict(g) for g in backend.grants.values()],
                "clients": [dataclasses.asdict(c) for c in backend.clients.values()],
                "sockets": sockets,
            }

    # Accounts, servers, devices.

    def create_user(
        self, email: str, password: str, server: str | None = None, user_id: int | None = None
    ) -> User:
        backend = self.services.backend
        return backend.create_user(email, password, server or next(iter(backend.servers)), user_id)

    def move_user(self, user_id: int, server: str) -> None:
        """Rehost a user: their devices' events move to the new server's sockets and
        DeviceVerify on the old one answers WRONG_HOST."""
        self.services.backend.move_user(user_id, server)

    def set_password(self, user_id: int, password: str) -> None:
        self.services.backend.set_password(user_id, password)

    def add_server(self, name: str) -> Server:
        return self._add_server(name)

    def create_device(
        self,
        code: str,
        owner: int,
        device_id: str | None = None,
        status: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
        online: bool = True,
        **fields: Any,
    ) -> Device:
        """A registered device without a link; commands to it are played on its status."""
        return self.services.backend.create_device(
            code,
            owner,
            device_id,
            status=status or {},
            settings=settings or {},
            online=online,
            **fields,
        )

    def set_online(self, device_id: str, online: bool) -> None:
        """Offline also cuts a live link (4403) and refuses it until set online again."""
        self.services.backend.set_online(device_id, online)
        if not online:
            self._hub.close_link(self.services.backend.device(device_id).id, 4403, "set offline")

    def set_status(self, device_id: str, status: dict[str, Any], merge: bool = True) -> None:
        self.services.backend.update_status(device_id, status, merge)

    def set_settings(self, device_id: str, settings: dict[str, Any], merge: bool = True) -> None:
        self.services.backend.update_settings(device_id, settings, merge)

    # Integrators, consent, OAuth.

    def create_integrator(
        self, tag: str, token: str | None = None, callback_regex: str | None = None
    ) -> Integrator:
        return self.services.backend.create_integrator(tag, token, callback_regex)

    def grant(
        self, tag: str, user: int, devices: list[str], cb: str, access: str = Access.CONTROL
    ) -> list[CallbackResult]:
        """Consent as if the user ticked `devices` on the page; fires the callbacks."""
        return self.services.consent.grant(tag, user, devices, access, cb)

    def revoke(
        self, tag: str, devices: list[str] | None = None, user: int | None = None
    ) -> list[CallbackResult]:
        return self.services.consent.revoke(tag, devices, user)

    def register_client(self, client_id: str, redirect_regex: str) -> OAuthClient:
        return self.services.backend.register_client(client_id, redirect_regex)

    def oauth_authorize(
        self,
        email: str,
        password: str,
        redirect_uri: str,
        client_id: str = "shelly-diy",
        state: str | None = None,
    ) -> str:
        """The login page without a browser: the redirect URL with `code` and `state`."""
        return self.services.authority.authorize(client_id, redirect_uri, state, email, password)

    def integrator_token(self, tag: str) -> str:
        return self.services.authority.integrator_token(
            tag, self.services.backend.integrator(tag).token
        )

    # Tokens.

    def expire_token(self, token: str | None = None) -> None:
        """Expire one token (by its `jti`), or every token issued so far."""
        backend = self.services.backend
        if token is None:
            backend.revoke_all()
            return
        jti = Tokens.peek(token).get("jti")
        if not isinstance(jti, str):
            raise StateError("invalid", "token has no jti")
        backend.revoke(jti)

    def forge_token(
        self, claims: dict[str, Any], valid_signature: bool = False, audience: str | None = None
    ) -> str:
        """A token with chosen claims: a bad signature by default, or a valid one (to test
        wrong-audience or other-tenant handling)."""
        if audience is not None:
            claims = {**claims, "aud": Audience(audience).value}
        return self.services.tokens.forge(claims, valid_signature)

    # Sockets.

    def sockets(self) -> list[dict[str, Any]]:
        return self._hub.describe()

    def drop_socket(self, socket_id: int) -> bool:
        return self._hub.drop(socket_id)

    def freeze_socket(self, socket_id: int, frozen: bool = True) -> bool:
        return self._hub.freeze(socket_id, frozen)

    # Faults, recorder, clock, policies.

    def add_fault(self, target: str, **spec: Any) -> Fault:
        return self.services.faults.add(target=target, **spec)

    def faults(self) -> list[dict[str, Any]]:
        return self.services.faults.list()

    def clear_faults(self) -> None:
        self.services.faults.clear()

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        return self.services.recorder.records(kind)

    def clear_records(self) -> None:
        self.services.recorder.clear()

    def advance_clock(self, seconds: float) -> float:
        self.services.clock.advance(seconds)
        return self.services.clock.now()

    def set_policies(self, **changes: Any) -> dict[str, Any]:
        self.services.policies.update(**changes)
        return self.services.policies.as_dict()


def _relay_status(channels: int) -> dict[str, Any]:
    relays = [{"ison": False, "has_timer": False, "source": "cloud"} for _ in range(channels)]
    return {"relays": relays, "meters": [{"power": 0.0, "is_valid": True}] * channels}


def _roller_status() -> dict[str, Any]:
    roller = {"state": "stop", "current_pos": 0, "positioning": True, "last_direction": "close"}
    return {"rollers": [roller], "meters": [{"power": 0.0, "is_valid": True}] * 2}
