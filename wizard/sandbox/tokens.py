"""Entra-ID-like access tokens: RS256 JWTs signed with the sandbox's own key (PyJWT), checked as ARM and Key Vault
check a bearer token: signature, validity window (exp, nbf), audience, issuer and tenant, and the caller's object id.

Tokens are v1 access tokens, as Entra issues for `{resource}/.default` client-credential requests: their issuer is
`https://sts.windows.net/{tenant}/`, which does not depend on the sandbox's port, so a token outlives a restart on
another port exactly as long as its key (one per data dir) and its expiry allow.
"""

from __future__ import annotations

import base64
import math
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from .files import write_private

KEY_FILE = "signing.key"

ARM_AUDIENCES = ("https://management.azure.com", "https://management.core.windows.net")
VAULT_AUDIENCE = "https://vault.azure.net"
# The Batch service's AAD resource: the SDK asks for "https://batch.core.windows.net//.default".
BATCH_AUDIENCE = "https://batch.core.windows.net/"
STORAGE_AUDIENCE = "https://storage.azure.com"
EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
KNOWN_AUDIENCES = (*ARM_AUDIENCES, VAULT_AUDIENCE, BATCH_AUDIENCE, STORAGE_AUDIENCE, EXCHANGE_AUDIENCE)
"""The resources the sandbox tenant issues tokens for: Azure's own audiences, since its clients are unmodified."""
SCOPES = {"arm_scope": "https://management.azure.com/.default",
          "keyvault_scope": "https://vault.azure.net/.default",
          "batch_scope": "https://batch.core.windows.net//.default",
          "storage_scope": "https://storage.azure.com/.default"}
"""The scope to ask for each plane, as the descriptor names them."""
CLOCK_SKEW_S = 300  # Azure accepts a token whose nbf is up to 5 minutes ahead of its own clock


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def known_audience(resource: str) -> bool:
    """True for a resource the sandbox issues tokens for (Entra ignores a trailing slash and case here)."""
    wanted = resource.rstrip("/").lower()
    return any(wanted == audience.rstrip("/").lower() for audience in KNOWN_AUDIENCES)


class TokenError(Exception):
    """Why a bearer token was refused: `code` and `message` are ARM's, `vault_message` Key Vault's."""

    def __init__(self, code: str, message: str, vault_message: str = ""):
        super().__init__(message)
        self.code, self.message = code, message
        self.vault_message = vault_message or f"AKV10000: {message}"


def _utc(instant: float) -> str:
    return time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(instant))


class TokenIssuer:
    """Signs and verifies the sandbox's tokens. One key per data dir, so tokens survive restarts."""

    def __init__(self, data_dir: Path, tenant_id: str, issuer_base: str):
        path = data_dir / KEY_FILE
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            assert isinstance(key, rsa.RSAPrivateKey), f"{path} does not hold an RSA key"
            self._key = key
        else:
            self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            write_private(path, self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
        self._public = self._key.public_key()
        self.tenant_id = tenant_id
        self.authority = f"{issuer_base}/{tenant_id}"
        """Where a client gets tokens for this tenant (ARM names it when a token comes from the wrong tenant)."""
        self.issuer = f"https://sts.windows.net/{tenant_id}/"
        self.kid = b64url(self._public.public_numbers().n.to_bytes(256, "big")[:16])

    def issue(self, *, object_id: str, app_id: str, audience: str, lifetime_s: float = 3600,
              extra: dict[str, Any] | None = None, now: float | None = None) -> tuple[str, int]:
        now = time.time() if now is None else now
        exp = int(now + lifetime_s)
        claims = {"aud": audience, "iss": self.issuer, "iat": int(now), "nbf": int(now) - 1, "exp": exp,
                  "oid": object_id, "sub": object_id, "tid": self.tenant_id, "appid": app_id, "azp": app_id,
                  "idtyp": "app", "uti": uuid.uuid4().hex, "ver": "1.0"}
        claims.update(extra or {})
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid, "x5t": self.kid}), exp

    def verify(self, token: str, audiences: tuple[str, ...], *, now: float | None = None) -> dict[str, Any]:
        """The claims of a token signed by this issuer for one of `audiences`, valid at `now`; else TokenError.

        PyJWT checks the signature and that the claims Azure relies on are present; the rest is checked here, in
        ARM's order and with its messages, against `now` (the sandbox's clock, which a test may set).
        """
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._public, algorithms=["RS256"],
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False,
                         "verify_iss": False, "require": ["exp", "aud", "iss", "tid"]})
        except jwt.InvalidSignatureError:
            raise TokenError("InvalidAuthenticationToken", "The access token is invalid: its signature could not "
                             "be verified.", "AKV10022: Invalid token signature.") from None
        except jwt.MissingRequiredClaimError as err:
            raise TokenError("InvalidAuthenticationToken", f"The access token is invalid: it has no '{err.claim}' "
                             "claim.") from None
        except jwt.InvalidTokenError:
            raise TokenError("InvalidAuthenticationToken", "The access token is invalid.") from None
        now = time.time() if now is None else now
        self._check_lifetime(claims, now)
        self._check_audience(claims, audiences)
        self._check_issuer(claims)
        if not isinstance(claims.get("oid"), str) or not claims["oid"]:
            # ARM's words for a token that names no caller it can authorize (as from an app with no service principal).
            raise TokenError("InvalidAuthenticationToken", "The received access token is not valid: at least one of "
                             "the claims 'puid' or 'altsecid' or 'oid' should be present. If you are accessing as "
                             "application please make sure service principal is properly created in the tenant.")
        return claims

    @staticmethod
    def _check_lifetime(claims: dict[str, Any], now: float) -> None:
        exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat", 0))
        for value in (exp, nbf):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise TokenError("InvalidAuthenticationToken", "The access token is invalid: its validity times "
                                 "are not numbers.")
        if exp <= now:
            raise TokenError("ExpiredAuthenticationToken", f"The access token expiry UTC time '{_utc(exp)}' is "
                             f"earlier than current UTC time '{_utc(now)}'.",
                             "[TokenExpired] Error validating token: 'S2S12086'.")
        if nbf > now + CLOCK_SKEW_S:
            raise TokenError("InvalidAuthenticationToken", f"The access token is not valid yet: its validity starts "
                             f"at UTC time '{_utc(nbf)}', later than current UTC time '{_utc(now)}'.",
                             "[TokenNotYetValid] Error validating token: 'S2S12086'.")

    @staticmethod
    def _check_audience(claims: dict[str, Any], audiences: tuple[str, ...]) -> None:
        aud = claims.get("aud")
        if not isinstance(aud, str) or aud.rstrip("/") not in tuple(a.rstrip("/") for a in audiences):
            raise TokenError("InvalidAuthenticationTokenAudience",
                             f"The access token has been obtained for wrong audience or resource '{aud}'. It should "
                             f"exactly match with one of the allowed audiences '{', '.join(audiences)}'.",
                             f"AKV10022: Invalid audience. Expected {', '.join(audiences)}, found: {aud}.")

    def _check_issuer(self, claims: dict[str, Any]) -> None:
        iss, tid = claims.get("iss"), claims.get("tid")
        if iss != self.issuer or tid != self.tenant_id:
            raise TokenError("InvalidAuthenticationTokenTenant",
                             f"The access token is from the wrong issuer '{iss}'. It must match the tenant "
                             f"'{self.issuer}' associated with this subscription. Please use the authority (URL) "
                             f"'{self.authority}' to get the token.",
                             f"AKV10032: Invalid issuer. Expected one of {self.issuer}, found {iss}.")

    def jwks(self) -> dict[str, Any]:
        key = RSAAlgorithm.to_jwk(self._public, as_dict=True)
        return {"keys": [{"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid, "n": key["n"],
                          "e": key["e"]}]}
