"""Entra-ID-like tokens: RS256 JWTs signed by the sandbox's own key, carrying oid, tid, appid, aud, exp."""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KEY_FILE = "signing.key"

ARM_AUDIENCES = ("https://management.azure.com", "https://management.core.windows.net")
VAULT_AUDIENCE = "https://vault.azure.net"
# The Batch service's AAD resource: the SDK asks for "https://batch.core.windows.net//.default".
BATCH_AUDIENCE = "https://batch.core.windows.net/"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenError(Exception):
    """Why a bearer token was refused: code is ARM's (InvalidAuthenticationToken, ...)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class TokenIssuer:
    """Signs and verifies the sandbox's tokens. One key per data dir, so tokens survive restarts."""

    def __init__(self, data_dir: Path, tenant_id: str, issuer_base: str):
        path = data_dir / KEY_FILE
        if path.exists():
            self._key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        else:
            self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            path.write_bytes(self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
            path.chmod(0o600)
        self.tenant_id = tenant_id
        self.issuer = f"{issuer_base}/{tenant_id}/"
        self.kid = b64url(self._key.public_key().public_numbers().n.to_bytes(256, "big")[:16])

    def issue(self, *, object_id: str, app_id: str, audience: str, lifetime_s: float = 3600,
              extra: dict[str, Any] | None = None, now: float | None = None) -> tuple[str, int]:
        now = time.time() if now is None else now
        exp = int(now + lifetime_s)
        claims = {"aud": audience, "iss": self.issuer, "iat": int(now), "nbf": int(now) - 1, "exp": exp,
                  "oid": object_id, "sub": object_id, "tid": self.tenant_id, "appid": app_id, "azp": app_id,
                  "idtyp": "app", "uti": uuid.uuid4().hex, "ver": "1.0"}
        claims.update(extra or {})
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}", exp

    def verify(self, token: str, audiences: tuple[str, ...], *, now: float | None = None) -> dict[str, Any]:
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("InvalidAuthenticationToken", "The access token is invalid.")
        try:
            self._key.public_key().verify(b64url_decode(parts[2]), f"{parts[0]}.{parts[1]}".encode(),
                                          padding.PKCS1v15(), hashes.SHA256())
            claims = json.loads(b64url_decode(parts[1]))
        except (InvalidSignature, ValueError):
            raise TokenError("InvalidAuthenticationToken",
                             "The access token is invalid: its signature could not be verified.") from None
        now = time.time() if now is None else now
        if claims.get("exp", 0) <= now:
            raise TokenError("ExpiredAuthenticationToken",
                             "The access token expiry UTC time '%s' is earlier than current UTC time '%s'." % (
                                 time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(claims.get("exp", 0))),
                                 time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(now))))
        aud = str(claims.get("aud", "")).rstrip("/")
        if aud not in tuple(a.rstrip("/") for a in audiences):
            raise TokenError("InvalidAuthenticationTokenAudience",
                             f"The access token has been obtained for wrong audience or resource '{claims.get('aud')}'. "
                             f"It should exactly match with one of the allowed audiences '{', '.join(audiences)}'.")
        return claims

    def jwks(self) -> dict[str, Any]:
        numbers = self._key.public_key().public_numbers()
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        return {"keys": [{"kty": "RSA", "use": "sig", "kid": self.kid, "n": b64url(n), "e": b64url(e)}]}
