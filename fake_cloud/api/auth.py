"""Issuing and checking the cloud's tokens against its state (who may see what).

Claims follow what clients check (spec/cloud.md): the authorization code has `sub` = client id
(never "pwd"), `user_id` as a string and `user_api_url` (§3.4); the access token has `sub` "pwd",
the same two and `exp` (§3.5); the integrator token has `itg` (§2.2). Every token has a `jti`
so the control plane can expire it, and an `aud` naming its kind.
"""

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fake_cloud.api.render import SocketKind
from fake_cloud.state.backend import Backend, User
from fake_cloud.state.clock import Clock
from fake_cloud.state.config import Policies
from fake_cloud.state.tokens import Audience, TokenError, Tokens

__all__ = ["AuthError", "Authority", "Principal"]


class AuthError(Exception):
    """A refused credential; the message is the reason shown to the client."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a token speaks for: an integrator (`tag`) or an account (`user`)."""

    kind: SocketKind
    tag: str | None
    user: int | None
    client_id: str | None
    exp: float


class Authority:
    """Issues tokens and turns presented ones into principals."""

    def __init__(self, backend: Backend, tokens: Tokens, clock: Clock, policies: Policies) -> None:
        self._backend = backend
        self._tokens = tokens
        self._clock = clock
        self._policies = policies

    def _issue(self, audience: Audience, subject: str, claims: dict[str, Any], ttl: int) -> str:
        jti = self._backend.new_jti(subject)
        return self._tokens.issue(audience, {**claims, "jti": jti}, self._clock.now(), ttl)

    def integrator_token(self, tag: str, token: str) -> str:
        integrator = self._backend.integrators.get(tag)
        if integrator is None or integrator.token != token:
            raise AuthError("wrong integrator tag or token")
        return self._issue(
            Audience.INTEGRATOR, f"itg:{tag}", {"itg": tag}, self._policies.integrator_ttl
        )

    def _user_claims(self, user: User, sub: str) -> dict[str, Any]:
        api_url = self._backend.server(user.server).api_url
        return {"sub": sub, "user_id": str(user.id), "user_api_url": api_url}

    def login(self, email: str, password: str) -> User:
        user = self._backend.user_by_email(email)
        if user is None or user.password != password:
            raise AuthError("Wrong email or password")
        return user

    def check_client(self, client_id: str, redirect_uri: str) -> None:
        """Seed 002: the redirect URI must match the client's configured regex."""
        client = self._backend.client(client_id)
        if client is None:
            raise AuthError("unknown client_id")
        if not redirect_uri or not re.fullmatch(client.redirect_regex, redirect_uri):
            raise AuthError("redirect_uri is not allowed for this client_id")

    def authorize(
        self, client_id: str, redirect_uri: str, state: str | None, email: str, password: str
    ) -> str:
        """The OAuth login page's outcome: where the browser goes, with `code` and `state`.
        `state` is appended without URL encoding (seed 002 "No URL encoding is applied")."""
        self.check_client(client_id, redirect_uri)
        code = self.code(self.login(email, password), client_id)
        url = f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}code={quote(code, safe='')}"
        return url if state is None else f"{url}&state={state}"

    def code(self, user: User, client_id: str) -> str:
        claims = self._user_claims(user, client_id)
        return self._issue(Audience.CODE, f"user:{user.id}", claims, self._policies.code_ttl)

    def exchange(self, grant_type: str, credential: str, client_id: str, server: str) -> dict:
        """`/oauth/auth`: a code (or, [INFER], a refresh token) for an access token."""
        audience = {"code": Audience.CODE, "refresh_token": Audience.REFRESH}.get(grant_type)
        if audience is None:
            raise AuthError("grant_type must be code")
        claims = self._verify(credential, {audience})
        client = str(claims.get("client_id") if audience is Audience.REFRESH else claims["sub"])
        if client_id and client_id != client:
            raise AuthError("client_id does not match the code")
        user = self._user(claims, server)
        single_use = audience is Audience.CODE and not self._policies.codes_reusable
        if single_use and not self._backend.use_code(str(claims.get("jti"))):
            raise AuthError("code already used")
        access = {**self._user_claims(user, "pwd"), "client_id": client}
        ttl = self._policies.access_ttl
        return {
            "access_token": self._issue(Audience.ACCESS, f"user:{user.id}", access, ttl),
            "expires_in": ttl,
            "refresh_token": self._issue(
                Audience.REFRESH, f"user:{user.id}", access, self._policies.code_ttl
            ),
        }

    def authenticate(self, token: str | None, audiences: set[Audience], server: str) -> Principal:
        """Check a presented token for use on `server`; raise AuthError with the reason."""
        if not token:
            raise AuthError("missing token")
        claims = self._verify(token, audiences)
        exp = float(claims["exp"])
        if claims["aud"] == Audience.INTEGRATOR:
            tag = claims.get("itg")
            if not isinstance(tag, str) or tag not in self._backend.integrators:
                raise AuthError("unknown integrator")
            return Principal(SocketKind.INTEGRATOR, tag, None, None, exp)
        user = self._user(claims, server)
        client = claims.get("client_id")
        return Principal(SocketKind.ACCOUNT, None, user.id, str(client) if client else None, exp)

    def _verify(self, token: str, audiences: set[Audience]) -> dict[str, Any]:
        try:
            claims = self._tokens.decode(token, audiences, self._clock.now())
        except TokenError as exc:
            raise AuthError(str(exc)) from None
        if claims.get("jti") in self._backend.revoked:
            raise AuthError("token expired")
        return claims

    def _user(self, claims: dict[str, Any], server: str) -> User:
        """The token's user, who must live on this server: other tenants are refused."""
        raw = claims.get("user_id")
        user = self._backend.users.get(int(raw)) if isinstance(raw, str) and raw.isdigit() else None
        if user is None:
            raise AuthError("unknown user")
        if user.server != server:
            raise AuthError("user is not hosted on this server")
        return user
