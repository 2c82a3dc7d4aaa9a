"""Azure RBAC as the sandbox enforces it: role definitions, assignments, scope inheritance, wildcards.

ARM writes need the caller's `actions`; the vault data plane needs `dataActions` (or an access policy
on a vault that does not use RBAC). A grant reaches the data plane only after the propagation delay.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from typing import Any

from .router import ArmError, Principal
from .store import Store

ROLE_ASSIGNMENT = "role_assignment"
ROLE_DEFINITIONS_PATH = "/providers/Microsoft.Authorization/roleDefinitions/"


@lru_cache(maxsize=1)
def builtin_roles() -> dict[str, dict[str, Any]]:
    """Built-in role definitions by lower-case GUID."""
    data = json.loads(resources.files("wizard.sandbox").joinpath("data", "builtin_roles.json").read_text())
    return {role["name"].lower(): role for role in data["roles"]}


def role_id_from_definition_id(definition_id: str) -> str:
    return definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def role_by_name(role_name: str) -> dict[str, Any] | None:
    return next((r for r in builtin_roles().values() if r["roleName"].lower() == role_name.lower()), None)


def role_definition_body(role: dict[str, Any], scope: str) -> dict[str, Any]:
    """The ARM shape of a built-in role definition seen from `scope` ("" for tenant level)."""
    return {
        "id": f"{scope.rstrip('/')}{ROLE_DEFINITIONS_PATH}{role['name']}",
        "type": "Microsoft.Authorization/roleDefinitions",
        "name": role["name"],
        "properties": {
            "roleName": role["roleName"], "type": "BuiltInRole", "description": role.get("description", ""),
            "assignableScopes": ["/"], "permissions": role["permissions"],
            "createdOn": "2015-02-02T21:55:09.8806423Z", "updatedOn": "2025-01-01T00:00:00.0000000Z",
            "createdBy": None, "updatedBy": None,
        },
    }


@lru_cache(maxsize=512)
def _pattern(glob: str) -> re.Pattern:
    # "/*/" may also stand for a single "/": Managed Identity Operator's
    # "userAssignedIdentities/*/assign/action" grants "userAssignedIdentities/assign/action" in Azure.
    parts = re.split(r"(/\*/|\*)", glob)
    body = "".join("(?:/.*)?/" if p == "/*/" else ".*" if p == "*" else re.escape(p) for p in parts)
    return re.compile("^" + body + "$", re.IGNORECASE)


def matches(action: str, globs: list[str]) -> bool:
    return any(_pattern(g).match(action) for g in globs)


def scope_covers(assignment_scope: str, target: str) -> bool:
    """True when an assignment at `assignment_scope` applies to `target` (same or a child, by segment)."""
    a = assignment_scope.rstrip("/").lower()
    t = target.rstrip("/").lower()
    return a == "" or t == a or t.startswith(a + "/")


def assignments_for(store: Store, principal_id: str) -> list[dict[str, Any]]:
    return [ra for ra in store.list(ROLE_ASSIGNMENT)
            if ra["properties"]["principalId"].lower() == principal_id.lower()]


Propagating = Callable[[float, bool], bool]
"""(when a grant was made, observe) -> True while it has not reached the plane yet. `observe` is True only when
that answer refuses the caller, so a test's hold on the propagation sees it was reached (Realism.pending)."""


def _created(ra: dict[str, Any]) -> float:
    return ra.get("_sandbox", {}).get("created", 0.0)


def _grants(ra: dict[str, Any], action: str, target: str, data: bool) -> bool:
    props = ra["properties"]
    if not scope_covers(props["scope"], target):
        return False
    role = builtin_roles().get(role_id_from_definition_id(props["roleDefinitionId"]))
    allow_key, deny_key = ("dataActions", "notDataActions") if data else ("actions", "notActions")
    return role is not None and any(matches(action, perm.get(allow_key, [])) and not matches(action, perm.get(
        deny_key, [])) for perm in role["permissions"])


def permitted(store: Store, principal_id: str, action: str, target: str, *, data: bool = False,
              delay_s: float = 0.0, now: float | None = None,
              propagating: Propagating | None = None) -> dict[str, Any] | None:
    """The role assignment that permits `action` on `target`, or None. A grant counts once it has propagated:
    `delay_s` after it was made (as of `now`), or when `propagating` says so."""
    if propagating is None:
        moment = time.time() if now is None else now
        propagating = lambda created, _observe: moment < created + delay_s  # noqa: E731
    granting = [ra for ra in assignments_for(store, principal_id) if _grants(ra, action, target, data)]
    effective = next((ra for ra in granting if not propagating(_created(ra), False)), None)
    if effective is None and granting:
        propagating(_created(granting[0]), True)  # refused only because a grant is still on its way
    return effective


def pending_assignment(store: Store, principal_id: str, action: str, target: str, delay_s: float,
                       now: float | None = None) -> bool:
    """True when a grant exists but has not propagated yet (so the caller is told to wait, not fix)."""
    now = time.time() if now is None else now
    return permitted(store, principal_id, action, target, data=True, now=now + delay_s + 1) is not None and \
        permitted(store, principal_id, action, target, data=True, delay_s=delay_s, now=now) is None


def require_action(store: Store, caller: Principal, action: str, scope: str) -> None:
    """Raise ARM's 403 AuthorizationFailed unless the caller's roles allow `action` at `scope`."""
    if permitted(store, caller.object_id, action, scope) is None:
        raise ArmError(403, "AuthorizationFailed",
                       f"The client '{caller.app_id}' with object id '{caller.object_id}' does not have authorization "
                       f"to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was "
                       "recently granted, please refresh your credentials.")
