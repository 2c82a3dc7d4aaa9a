"""The sandbox tenant's directory: service principals (operators and managed identities), and who is its admin."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

from .store import Store

PRINCIPAL = "principal"
APP = "app"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def add_principal(store: Store, *, display_name: str, principal_type: str = "ServicePrincipal",
                  object_id: str | None = None, app_id: str | None = None, secret: str | None = None,
                  managed_identity_id: str | None = None, created: float | None = None) -> dict[str, Any]:
    principal = {
        "objectId": object_id or str(uuid.uuid4()),
        "appId": app_id or str(uuid.uuid4()),
        "displayName": display_name,
        "principalType": principal_type,
        "created": time.time() if created is None else created,
        "secretHash": _hash(secret) if secret else None,
        "managedIdentityId": managed_identity_id,
    }
    with store.transaction():
        store.put(PRINCIPAL, principal["objectId"], principal)
        store.put(APP, principal["appId"], {"objectId": principal["objectId"]})
    return principal


def remove_principal(store: Store, object_id: str) -> None:
    principal = store.get(PRINCIPAL, object_id)
    if principal:
        with store.transaction():
            store.delete(PRINCIPAL, object_id)
            store.delete(APP, principal["appId"])


def principal(store: Store, object_id: str) -> dict[str, Any] | None:
    return store.get(PRINCIPAL, object_id)


def principal_by_app(store: Store, app_id: str) -> dict[str, Any] | None:
    link = store.get(APP, app_id)
    return store.get(PRINCIPAL, link["objectId"]) if link else None


def check_secret(principal: dict[str, Any], secret: str) -> bool:
    return bool(principal.get("secretHash")) and principal["secretHash"] == _hash(secret)


SANDBOX_ADMIN = "sandbox_admin"
"""Kind: object id -> {"objectId"}: principals granted the sandbox admin right explicitly."""
_DEFAULT_OPERATOR = ("meta", "operator:operator")
"""Where app.py records the operator the descriptor names by default (the seeded Owner)."""


def grant_sandbox_admin(store: Store, object_id: str) -> None:
    """Let `object_id` act as the systems the sandbox stands in for (GitHub Actions: minting its OIDC tokens)."""
    store.put(SANDBOX_ADMIN, object_id, {"objectId": object_id})


def is_sandbox_admin(store: Store, object_id: str) -> bool:
    """True for the sandbox's admin: its default operator (whoever runs the sandbox plays the outside world with
    it), or a principal granted the right. Azure RBAC roles never confer it: it is not an Azure right."""
    if store.get(SANDBOX_ADMIN, object_id) is not None:
        return True
    default = store.get(*_DEFAULT_OPERATOR)
    return default is not None and default["objectId"].lower() == object_id.lower()
