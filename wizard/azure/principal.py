"""Who the signed-in operator is, read from their own token (needed for their Key Vault access)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential


@dataclass(frozen=True)
class SignedInPrincipal:
    object_id: str
    tenant_id: str
    app_id: str
    principal_type: str
    """ServicePrincipal for apps and managed identities, User for people: role assignments need the right one."""
    display: str


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified: we only read who we are from our own token (the service checks it)."""
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise ValueError("The sign-in token is not a JWT; cannot tell who is signed in.") from None
    return claims


def signed_in_principal(credential: TokenCredential, arm_scope: str) -> SignedInPrincipal:
    claims = claims_of(credential.get_token(arm_scope).token)
    is_user = claims.get("idtyp") == "user" or "upn" in claims or "unique_name" in claims
    return SignedInPrincipal(
        object_id=claims.get("oid", ""), tenant_id=claims.get("tid", ""), app_id=claims.get("appid", claims.get("azp", "")),
        principal_type="User" if is_user else "ServicePrincipal",
        display=claims.get("upn") or claims.get("unique_name") or claims.get("appid", ""))
