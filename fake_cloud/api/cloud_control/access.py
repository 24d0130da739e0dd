"""Who a Cloud Control request speaks for, on which server, and whether it is within the rate.

The Cloud Control API authenticates with the account's `auth_key` ("User settings ->
Authorization cloud key"; "The key will change if you change your password") and must be sent to
the server the account lives on ("Using this API requires knowing the host on which the user is
a tenant of"), both from the Cloud Control "Getting Started" page [DOC]. What a key used on
another server gets back is not documented: the fake refuses it naming the right server
(`wrong_host`, after the integrator API's WRONG_HOST) [INFER]. An OAuth access token
(`Authorization: Bearer`) is accepted as well, as one client sends it to v2 [OBS].

"Currently API calls are limited to one per second" [DOC]: one token bucket per account,
shared by v1 and v2 (`Policies.cc_rate_limit`, `cc_rate_burst`), on the cloud's clock.
"""

from dataclasses import dataclass

from fake_cloud.api.context import Services
from fake_cloud.state.backend import User
from fake_cloud.state.tokens import Audience, TokenError

__all__ = ["Denied", "account"]


@dataclass(slots=True)
class Denied(Exception):
    """A refused credential: `kind` is unauthorized, wrong_host or rate_limited; `host` is the
    account's server URI when the key belongs to another server."""

    kind: str
    message: str
    host: str | None = None

    def __str__(self) -> str:
        return self.message


def account(services: Services, server: str, key: str | None, authorization: str) -> User:
    """The account a request acts for, checked against `server` and the rate limit."""
    backend = services.backend
    user: User | None
    if key:
        user = backend.user_by_auth_key(key)
        if user is None:
            raise Denied("unauthorized", "invalid auth_key")
    elif authorization[:7].lower() == "bearer ":
        user = _bearer(services, authorization[7:].strip())
    else:
        raise Denied("unauthorized", "auth_key is required")
    if user.server != server:
        uri = backend.server(user.server).api_url
        raise Denied("wrong_host", f"this account is served by {uri}", uri)
    policies = services.policies
    rate = policies.cc_rate_limit
    if rate is not None and not services.limiter.allow(
        f"cloud-control:{user.id}", rate, policies.cc_rate_burst
    ):
        raise Denied("rate_limited", "Request limit reached")
    return user


def _bearer(services: Services, token: str) -> User:
    """An RTE access token, valid on any server (the server check follows)."""
    backend = services.backend
    try:
        claims = services.tokens.decode(token, {Audience.ACCESS}, services.clock.now())
    except TokenError as exc:
        raise Denied("unauthorized", str(exc)) from None
    raw = claims.get("user_id")
    user = backend.users.get(int(raw)) if isinstance(raw, str) and raw.isdigit() else None
    if user is None or claims.get("jti") in backend.revoked:
        raise Denied("unauthorized", "token is not valid")
    return user
