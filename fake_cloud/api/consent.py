"""User consent: grants and revocations, and the per-device callbacks they fire.

INT-USERS (spec/cloud.md §2.3): one `POST <cb>` per device added or removed, with a JSON body and
an `SCL-Trust` ES384 JWT `{exp, itg, did}`; "Integrator must respond with 200 OK, otherwise the
operation will discontinue" — so a grant whose callback fails is dropped. An unreachable URL is
retried first (`Policies.callback_attempts`). The consent page and the control plane both come
here, so a headless grant fires exactly what a user's click would.

The grant is stored before its callback goes out, so an integrator that verifies the device
from inside its callback handler finds it granted; it is taken back if the callback fails.
Callbacks block (requests); call this from a worker thread, never from the event loop.
"""

import logging
import re
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import requests

from fake_cloud.api.render import callback_body
from fake_cloud.state.backend import Backend, Device, Grant, StateError
from fake_cloud.state.clock import Clock
from fake_cloud.state.config import Policies, SclTrustMode
from fake_cloud.state.recorder import Recorder
from fake_cloud.state.tokens import Tokens

__all__ = ["CallbackResult", "Consent"]

logger = logging.getLogger(__name__)

_ACCESS = re.compile(r"[0-9a-fA-F]{2}")


@dataclass(frozen=True, slots=True)
class CallbackResult:
    device: str
    action: str
    url: str
    delivered: bool
    status: int | None
    error: str | None
    attempts: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Consent:
    """Grant and revoke devices for integrators, delivering the callbacks."""

    def __init__(
        self,
        backend: Backend,
        tokens: Tokens,
        recorder: Recorder,
        policies: Policies,
        clock: Clock,
    ) -> None:
        self._backend = backend
        self._tokens = tokens
        self._recorder = recorder
        self._policies = policies
        self._clock = clock

    def grant(
        self, tag: str, user_id: int, devices: Iterable[str], access: str, cb: str
    ) -> list[CallbackResult]:
        """Share `devices` of `user_id` with integrator `tag`; one callback per device."""
        chosen = self._check(tag, user_id, devices, cb)
        if not _ACCESS.fullmatch(access):
            raise StateError("invalid", "access must be a hex byte such as 00 or 01")
        results = []
        for device in chosen:
            grant = Grant(tag, device.id, user_id, access.lower(), cb)
            previous = self._backend.put_grant(grant)
            result = self._deliver(grant, device, "add")
            if not result.delivered:
                logger.warning("grant of %s to %s dropped: callback failed", device.id, tag)
                if previous is None:
                    self._backend.drop_grant(tag, device.id)
                else:
                    self._backend.put_grant(previous)
            results.append(result)
        return results

    def revoke(
        self, tag: str, devices: Iterable[str] | None = None, user_id: int | None = None
    ) -> list[CallbackResult]:
        """Take devices back (all of the user's, or all of the integrator's, when not named).

        The grant goes first, so events for the device stop before the callback is even sent.
        """
        self._backend.integrator(tag)
        with self._backend.lock:
            if devices is None:
                wanted = [
                    g.device
                    for g in self._backend.grants.values()
                    if g.tag == tag and (user_id is None or g.user == user_id)
                ]
            else:
                wanted = [self._backend.device(d).id for d in devices]
        results = []
        for hexid in wanted:
            grant = self._backend.drop_grant(tag, hexid)
            if grant is not None:
                results.append(self._deliver(grant, self._backend.device(hexid), "remove"))
        return results

    def save(
        self, tag: str, user_id: int, selection: dict[str, str], cb: str
    ) -> list[CallbackResult]:
        """Apply the consent page's form: `selection` maps each chosen device to its access;
        newly chosen or changed devices are granted, unchosen granted ones revoked."""
        to_add: dict[str, list[str]] = {}
        to_remove = []
        for device in self._backend.devices_of(user_id):
            current = self._backend.grant(tag, device.id)
            access = selection.get(device.id)
            if access is not None and (
                current is None or (current.access, current.cb) != (access, cb)
            ):
                to_add.setdefault(access, []).append(device.id)
            elif access is None and current is not None:
                to_remove.append(device.id)
        results = self.revoke(tag, to_remove) if to_remove else []
        for access, ids in to_add.items():
            results += self.grant(tag, user_id, ids, access, cb)
        return results

    def _check(self, tag: str, user_id: int, devices: Iterable[str], cb: str) -> list[Device]:
        integrator = self._backend.integrator(tag)
        self._backend.user(user_id)
        if not cb.startswith(("http://", "https://")):
            raise StateError("invalid", "cb must be an http(s) URL")
        if integrator.callback_regex and not re.fullmatch(integrator.callback_regex, cb):
            raise StateError("invalid", "cb does not match the integrator's callback pattern")
        chosen = [self._backend.device(d) for d in devices]
        for device in chosen:
            if device.owner != user_id:
                raise StateError("invalid", f"device {device.id} is not owned by user {user_id}")
        return chosen

    def _deliver(self, grant: Grant, device: Device, action: str) -> CallbackResult:
        policies = self._policies
        with self._backend.lock:
            host = self._backend.servers[self._backend.device_server(device)].host
            body = callback_body(grant, device, host, action, policies)
        attempts = max(1, policies.callback_attempts)
        attempt = 0
        while True:
            attempt += 1
            headers = {"SCL-Trust": self._scl_trust(grant.tag, body["deviceId"])}
            try:
                answer = requests.post(
                    grant.cb,
                    json=body,
                    headers=headers,
                    timeout=policies.callback_timeout,
                    verify=policies.callback_verify_tls,
                )
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}: {exc}"
                self._recorder.add(
                    "callback", url=grant.cb, body=body, error=error, attempt=attempt
                )
                if attempt >= attempts:
                    return CallbackResult(device.id, action, grant.cb, False, None, error, attempt)
                time.sleep(policies.callback_retry_delay)
                continue
            status = answer.status_code
            self._recorder.add("callback", url=grant.cb, body=body, status=status, attempt=attempt)
            return CallbackResult(device.id, action, grant.cb, status == 200, status, None, attempt)

    def _scl_trust(self, tag: str, device_id: str) -> str:
        mode = self._policies.scl_trust
        now = self._clock.now()
        exp = now - 600 if mode is SclTrustMode.EXPIRED else now + self._policies.scl_trust_ttl
        itg = f"{tag}-other" if mode is SclTrustMode.WRONG_ITG else tag
        claims = {"exp": int(exp), "itg": itg, "did": device_id}
        return self._tokens.scl_trust(claims, bad_signature=mode is SclTrustMode.BAD_SIGNATURE)
