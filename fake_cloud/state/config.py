"""Configuration of the fake cloud: topology fixed at start, and policies changeable at run time.

Every policy below stands for a fact spec/cloud.md marks [INFER] or [OBS] (or lists as an open
question in §8): the default is the most faithful known behaviour, the other values exist so an
integrator can be tested against each plausible real behaviour.
"""

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "AuthFailure",
    "CloudConfig",
    "ErrorsStyle",
    "IdForm",
    "Policies",
    "SclTrustMode",
    "SecondConnection",
]


class SecondConnection(StrEnum):
    """A second integrator socket to one server (§2.4, open question 1)."""

    REPLACE = "replace"  # close the old socket with 4409, keep the new one
    REJECT = "reject"  # refuse the new one with HTTP 409 at the upgrade


class AuthFailure(StrEnum):
    """How a refused WS token is answered (§2.4 "Auth failure: not documented")."""

    HTTP_401 = "http401"
    CLOSE_4401 = "close4401"


class ErrorsStyle(StrEnum):
    """`errors` as an object map (seen in practice) or an array (RTE doc), §1.1."""

    OBJECT = "object"
    ARRAY = "array"


class IdForm(StrEnum):
    """How a device id is written on the integrator surfaces (§1.2, open question 2)."""

    DEC = "dec"
    HEX = "hex"


class SclTrustMode(StrEnum):
    """What the SCL-Trust header of consent callbacks carries (§2.3, negative tests)."""

    VALID = "valid"
    EXPIRED = "expired"
    WRONG_ITG = "wrong_itg"
    BAD_SIGNATURE = "bad_signature"


DEFAULT_RES = {
    "offline": "device offline",
    "unauthorized": "unauthorized",
    "channel": "invalid channel",
    "calibration": "not calibrated",
    "params": "bad params",
    "timeout": "device timeout",
}


@dataclass(slots=True)
class Policies:
    """Behaviour switches; `Control.set_policies` and `POST /_fake/policies` change them live."""

    second_connection: SecondConnection = SecondConnection.REPLACE
    auth_failure: AuthFailure = AuthFailure.HTTP_401
    errors_style: ErrorsStyle = ErrorsStyle.OBJECT
    integrator_device_id: IdForm = IdForm.DEC
    # callback deviceType: a category ("relay", "roller", "light") or the model code (§2.3).
    device_type_is_category: bool = True
    # CommandResponse before the StatusOnChange the command causes (§2.6 step 5 [INFER]).
    response_before_status: bool = True
    # StatusOnChange with only the changed top-level keys (plus serial) [OBS HA-ITG].
    status_delta: bool = False
    # Shelly:Settings on the account (RTE) socket too [OBS shelly-cli].
    rte_settings_events: bool = True
    # Authorization codes re-exchangeable (ushelly re-uses its code) and their lifetime.
    codes_reusable: bool = True
    code_ttl: int = 10 * 365 * 86400
    # RTE access token lifetime; seed 001: "Access token is long lived".
    access_ttl: int = 30 * 86400
    # Integrator token lifetime: seed 000 "valid for 24 hours" [DOC].
    integrator_ttl: int = 86400
    # Close open sockets with 4401 when their token expires (§3.5; default keep, seed 000).
    close_at_exp: bool = False
    scl_trust: SclTrustMode = SclTrustMode.VALID
    scl_trust_ttl: int = 120  # [DOC INT-USERS] "TTL 2 min"
    # Consent callbacks: attempts on an unreachable URL before the grant is dropped [INFER].
    callback_attempts: int = 3
    callback_retry_delay: float = 1.0
    callback_timeout: float = 5.0
    callback_verify_tls: bool | str = True
    # Seconds a linked device has to answer a call before the command fails.
    command_timeout: float = 5.0
    # shelly-diy REST rate limit (requests/s per user, None = off), seed 002 "may be subject".
    diy_rate_limit: float | None = None
    diy_rate_burst: int = 1
    # CommandResponse data.res strings (§2.4.3 [INFER]).
    res: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_RES))
    # Cloud Control API (auth_key, fake_cloud/api/cloud_control): "Currently API calls are limited
    # to one per second" [DOC Getting Started]; per account, v1 and v2 share it (None = off).
    cc_rate_limit: float | None = 1.0
    cc_rate_burst: int = 1
    # HTTP status of an over-limit call: 401, as observed (node-red-contrib-shelly ADR-005,
    # pyShelly issue 133), or 429, which other clients expect [OBS].
    cc_rate_limit_status: int = 401
    # v2 `get` without `select`: identity and online state only [OBS node-red example], or
    # e.g. ["status", "settings"] [OBS dadl registry hint].
    cc_v2_default_select: list[str] = field(default_factory=list)

    def update(self, **changes: Any) -> None:
        """Apply changes by name, converting strings to the field's enum; unknown names fail."""
        known = {f.name: f for f in dataclasses.fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown policy {name!r}")
            current = getattr(self, name)
            if isinstance(current, StrEnum):
                value = type(current)(value)
            elif name == "res":
                value = {**current, **value}
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class CloudConfig:
    """Where and how the cloud listens.

    Addresses: the "api" front end takes `ip`, "my" takes `ip`+1, server *k* takes `ip`+2+*k*.
    With `ip=None` a random free block in 127.100-250.x.y is picked (several test sessions run
    on one machine). `rest_port=None` means 443 (80 with `plain`), falling back to a free port
    when it cannot be bound; WSS stays on 6113, which clients hard-code (§0).
    """

    ip: str | None = None
    servers: tuple[str, ...] = ("shelly-13-eu", "shelly-14-eu")
    plain: bool = False
    rest_port: int | None = None
    ws_port: int = 6113
    # Host advertised per server (callback `host`, WRONG_HOST, user_api_url); default its IP.
    hosts: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    demo: bool = False
    recorder_size: int = 100_000
    # Recorder bounds: bytes kept of one field (a frame, a body) and of all records together.
    recorder_field_bytes: int = 64 * 1024
    recorder_bytes: int = 32 * 1024 * 1024
    # REST: bodies over this are answered 413 unread; heads over 16 KB 431 (h11); connections
    # over `max_connections` per front end 503 (uvicorn's limit_concurrency).
    max_body: int = 1024 * 1024
    max_connections: int = 1000
    policies: Policies = field(default_factory=Policies)
