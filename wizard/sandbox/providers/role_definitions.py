"""Microsoft.Authorization role definitions: the built-in roles, read at the tenant root or below a subscription
(role assignments are in authorization.py, which shares the scope helpers here)."""

from __future__ import annotations

import re

from ..authz import builtin_roles, role_definition_body
from ..router import ArmError, Request, Response, router

NS = "Microsoft.Authorization"
RD_PATH = "/providers/" + NS + "/roleDefinitions"
RD_READ = NS + "/roleDefinitions/read"


def normal_scope(raw: str) -> str:
    """'/seg/seg' with single slashes; '/' for the tenant root (the SDK may send '' or '//')."""
    parts = [p for p in (raw or "").split("/") if p]
    return "/" + "/".join(parts)


def request_scope(req: Request) -> str:
    return normal_scope(req.params.get("scope", ""))


def subscription_of(scope: str) -> str | None:
    parts = [p for p in scope.split("/") if p]
    return parts[1] if len(parts) >= 2 and parts[0].lower() == "subscriptions" else None


# ---- role definitions -----------------------------------------------------------------------------------
def _definition_scope(scope: str) -> str:
    # Built-in roles are answered with the subscription-level id below a subscription, else tenant-level.
    sub = subscription_of(scope)
    return f"/subscriptions/{sub}" if sub else ""


def definition_not_found(role_id: str, status: int = 404) -> ArmError:
    return ArmError(status, "RoleDefinitionDoesNotExist", f"The specified role definition with ID '{role_id}' does "
                    "not exist.")


def _get_definition(sb, req: Request) -> Response:
    role_id = req.params["role"]
    role = builtin_roles().get(role_id.lower())
    if role is None:
        raise definition_not_found(role_id)
    return Response(200, role_definition_body(role, _definition_scope(request_scope(req))))


def _list_definitions(sb, req: Request) -> Response:
    roles = list(builtin_roles().values())
    raw = req.query.get("$filter", "").strip()
    if raw:
        m = re.fullmatch(r"(roleName|type)\s+eq\s+'(.*)'", raw, re.IGNORECASE)
        if not m:
            raise ArmError(400, "UnsupportedQuery", f"The filter '{raw}' is not supported. Supported filters are "
                           "'roleName eq '{value}'' and 'type eq '{value}''.")
        field, value = m.group(1).lower(), m.group(2).lower()
        roles = [r for r in roles if (r["roleName"].lower() == value if field == "rolename"
                                      else value == "builtinrole")]
    scope = _definition_scope(request_scope(req))
    return Response(200, {"value": [role_definition_body(r, scope) for r in roles]})


# Tenant level first: "{scope:path}" cannot be empty. Reading built-in roles at the root needs no role.
router.route("GET", RD_PATH + "/{role}", operation="arm_get")(_get_definition)
router.route("GET", "/{scope:path}" + RD_PATH + "/{role}", operation="arm_get", action=RD_READ,
             scope=request_scope)(_get_definition)
router.route("GET", RD_PATH, operation="arm_get")(_list_definitions)
router.route("GET", "/{scope:path}" + RD_PATH, operation="arm_get", action=RD_READ, scope=request_scope)(_list_definitions)
