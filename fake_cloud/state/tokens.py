"""JWTs of the fake cloud (PyJWT): integrator tokens, OAuth codes and access tokens, SCL-Trust.

Seed 002: "All tokens issued by Shelly Cloud are JWTs. They are signed with a secret key but can
be decoded using any standard JWT library". Clients decode without verifying, so the claims are
what matters (spec/cloud.md §3.4, §3.5, §2.2). Each kind carries its own `aud`, which is how a
code presented as an access token is told apart ("wrong audience").

Expiry is checked against the injected clock, not PyJWT's wall clock, so a ManualClock expires
tokens. The SCL-Trust key pair is the fake's own P-384 key: the real cloud's private key is
Shelly's, so the integrator under test must be pointed at `public_pem` instead (§2.3).
"""

import random
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = ["Audience", "TokenError", "Tokens"]

# Order of the P-384 group: a private scalar must lie in [1, n-1].
_P384_ORDER = int(
    "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
    16,
)


class Audience(StrEnum):
    INTEGRATOR = "integrator"
    CODE = "code"
    ACCESS = "access"
    REFRESH = "refresh"


class TokenError(Exception):
    """A token that must be refused; the message names why (expired, bad signature, …)."""


class Tokens:
    """Signs and checks tokens; keys derive from the cloud's seed so runs are reproducible."""

    def __init__(self, seed: int) -> None:
        self.rekey(seed)

    def rekey(self, seed: int) -> None:
        """New secret and SCL-Trust key pair; every token signed before is then forged."""
        rng = random.Random(f"tokens-{seed}")
        self._secret = rng.randbytes(32)
        self.session_key = rng.randbytes(32)  # signs the web pages' session cookies
        self._scl_key = ec.derive_private_key(rng.randrange(1, _P384_ORDER), ec.SECP384R1())
        self.public_pem = (
            self._scl_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def issue(self, audience: Audience, claims: dict[str, Any], now: float, ttl: int) -> str:
        payload = {**claims, "aud": audience.value, "iat": int(now), "exp": int(now) + ttl}
        return jwt.encode(payload, self._secret, algorithm="HS256")

    def decode(self, token: str, audiences: set[Audience], now: float) -> dict[str, Any]:
        """Verify signature, audience and expiry; raise TokenError otherwise."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_iat": False, "verify_aud": False},
            )
        except jwt.InvalidSignatureError:
            raise TokenError("bad signature") from None
        except jwt.PyJWTError:
            raise TokenError("malformed token") from None
        if claims.get("aud") not in audiences:
            raise TokenError("wrong audience")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp <= now:
            raise TokenError("token expired")
        return claims

    @staticmethod
    def peek(token: str) -> dict[str, Any]:
        """Claims without any check, as clients read them (seed 002)."""
        try:
            return dict(jwt.decode(token, options={"verify_signature": False}))
        except jwt.PyJWTError:
            raise TokenError("malformed token") from None

    def forge(self, claims: dict[str, Any], valid_signature: bool = False) -> str:
        """A token with arbitrary claims, signed with the real secret or with a wrong one."""
        key = self._secret if valid_signature else b"not-the-cloud-secret-not-the-cloud"
        return jwt.encode(claims, key, algorithm="HS256")

    def scl_trust(self, claims: dict[str, Any], bad_signature: bool = False) -> str:
        """SCL-Trust header value: ES384 JWT `{exp, itg, did}` (INT-USERS)."""
        key = ec.generate_private_key(ec.SECP384R1()) if bad_signature else self._scl_key
        return jwt.encode(claims, key, algorithm="ES384")
