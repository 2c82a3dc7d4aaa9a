"""Microsoft.Authorization (2022-04-01): role assignments at any scope (built-in role definitions and the scope
helpers are in role_definitions.py).

The SDK sends a scope as a raw path ("/{scope}/providers/Microsoft.Authorization/..."), so one template
with `{scope:path}` serves a subscription, a group, a resource or a child of a resource (a vault secret),
and get_by_id / create_by_id / delete_by_id reach the same routes. Tenant-level paths ("/providers/...")
have their own templates because `{scope:path}` needs at least one character.

Azure behaviour reproduced here (AZURE_FACTS "Microsoft.Authorization" and "B3"):
- names and principal ids must be GUIDs; an unknown principal, or one created less than
  `realism.principal_not_found_s` ago (or while a test holds `principal_not_found`) when the request has no
  principalType, is PrincipalNotFound;
- the same (scope, role, principal) under another name is 409 RoleAssignmentExists carrying the
  existing id as 32 hex characters; the same name with other principal/scope/role is
  RoleAssignmentUpdateNotPermitted; an identical re-PUT is 200 (a new assignment is 201);
- list filters: no filter = at, above and below the scope; atScope() = at or above only;
  principalId eq / assignedTo() = that principal's assignments, at, above and below (atScope() narrows).
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from .. import directory
from ..arm import get, now_iso, page, public, require_resource_group
from ..authz import ROLE_ASSIGNMENT, builtin_roles, role_id_from_definition_id, scope_covers
from ..router import ArmError, Request, Response, not_found, router
from .role_definitions import RD_PATH, definition_not_found, request_scope, subscription_of

NS = "Microsoft.Authorization"
RA_TYPE = NS + "/roleAssignments"
RA_PATH = "/providers/" + RA_TYPE
RA_READ, RA_WRITE, RA_DELETE = RA_TYPE + "/read", RA_TYPE + "/write", RA_TYPE + "/delete"
_DEFINITION_ID = re.compile(r"^(/subscriptions/[^/]+)?/providers/Microsoft\.Authorization/roleDefinitions/([^/]+)$",
                            re.IGNORECASE)


# ---- scopes ---------------------------------------------------------------------------------------------
def _assignment_path(req: Request) -> str:
    # Azure's AuthorizationFailed names the assignment's full id as the scope, e.g.
    # ".../providers/Microsoft.Authorization/roleAssignments/{name}"; coverage is the same as its scope.
    return request_scope(req).rstrip("/") + RA_PATH + "/" + req.params["name"]


def require_scope(sb, scope: str) -> None:
    """Azure refuses assignments (and listings) at a group or resource that does not exist."""
    parts = [p for p in scope.split("/") if p]
    lowered = [p.lower() for p in parts]
    if len(parts) < 4 or lowered[0] != "subscriptions" or lowered[2] != "resourcegroups":
        return  # root, subscription (checked by the pipeline) or a scope ARM does not hold here
    require_resource_group(sb, parts[1], parts[3])
    if len(parts) >= 8 and lowered[4] == "providers":
        # The top-level resource must exist; children (a vault's secrets) are data-plane objects.
        if get(sb, "/" + "/".join(parts[:8])) is None:
            raise not_found(f"{parts[5]}/{parts[6]}", parts[7], parts[3])


def _same_scope(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


# ---- role assignments -----------------------------------------------------------------------------------
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}", re.IGNORECASE)


def _is_guid(value: Any) -> bool:
    """Azure parses GUIDs as .NET does: dashed ("D") or 32 hex digits ("N")."""
    return isinstance(value, str) and bool(_GUID.fullmatch(value))


def _hex(guid: str) -> str:
    return guid.replace("-", "").lower()


def _name(req: Request) -> str:
    """The assignment name from the path, as a dashed lower-case GUID (InvalidRoleAssignmentId otherwise)."""
    name = req.params["name"]
    if not _is_guid(name):
        raise ArmError(400, "InvalidRoleAssignmentId", f"The role assignment ID '{name}' is not valid. The role "
                       "assignment ID must be a GUID.")
    return str(uuid.UUID(name))


def _principal_not_found(sb, principal_id: str) -> ArmError:
    return ArmError(400, "PrincipalNotFound",
                    f"Principal {_hex(principal_id)} does not exist in the directory {sb.tenant_id}. Check that you "
                    "have the correct principal ID. If you are creating this principal and then immediately "
                    "assigning a role, this error might be related to a replication delay. In this case, set the "
                    "role assignment principalType property to a value, such as ServicePrincipal, User, or Group. "
                    "See https://aka.ms/docs-principaltype")


def _check_principal(sb, principal_id: str, principal_type: str | None) -> str:
    """The principal's type, or PrincipalNotFound as Azure answers it (including the replication window)."""
    entry = directory.principal(sb.store, principal_id)
    if entry is None:
        raise _principal_not_found(sb, principal_id)
    refuses = not principal_type or not sb.realism.principal_type_skips_window
    replicating = sb.realism.pending("principal_not_found", float(entry.get("created") or 0.0),
                                     sb.realism.principal_not_found_s, key=principal_id, observe=refuses)
    if replicating:
        if refuses:
            raise _principal_not_found(sb, principal_id)
        return principal_type  # Azure cannot look the principal up yet: it trusts the type it was given
    actual = entry.get("principalType", "ServicePrincipal")
    if principal_type and principal_type.lower() != actual.lower():
        raise ArmError(400, "UnmatchedPrincipalType", f"The PrincipalId '{_hex(principal_id)}' has type '{actual}' , "
                       f"which is different from specified PrincipalType '{principal_type}'.")
    return actual


def _role_guid(sb, definition_id: Any) -> str:
    m = _DEFINITION_ID.match(definition_id) if isinstance(definition_id, str) else None
    if not m:
        raise ArmError(400, "InvalidRoleDefinitionId", f"The role definition ID '{definition_id}' is not valid.")
    guid = m.group(2).lower()
    if guid not in builtin_roles():
        raise definition_not_found(_hex(guid) if _is_guid(guid) else guid, 400)
    return guid


def _stored(sb, name: str) -> dict[str, Any] | None:
    return sb.store.get(ROLE_ASSIGNMENT, name)


def _identity_of(ra: dict[str, Any]) -> tuple[str, str, str]:
    p = ra["properties"]
    return (p["scope"].rstrip("/").lower(), role_id_from_definition_id(p["roleDefinitionId"]), p["principalId"].lower())


def create_assignment(sb, req: Request) -> Response:
    name = _name(req)
    scope = request_scope(req)
    props = req.json_object().get("properties")
    if not isinstance(props, dict) or not props.get("roleDefinitionId") or not props.get("principalId"):
        raise ArmError(400, "InvalidRequestContent", "The request content was invalid: 'properties.roleDefinitionId' "
                       "and 'properties.principalId' are required.")
    principal_id = str(props["principalId"])
    if not _is_guid(principal_id):
        raise ArmError(400, "InvalidPrincipalId", f"The Principal ID '{principal_id}' is not valid. Principal ID must "
                       "be a GUID.")
    principal_id = str(uuid.UUID(principal_id))
    role_guid = _role_guid(sb, props["roleDefinitionId"])
    require_scope(sb, scope)
    principal_type = _check_principal(sb, principal_id, props.get("principalType"))
    sub = subscription_of(scope)
    definition_id = (f"/subscriptions/{sub}" if sub else "") + f"{RD_PATH}/{role_guid}"
    wanted = (scope.rstrip("/").lower(), role_guid, principal_id)
    with sb.store.transaction():
        existing = _stored(sb, name)
        if existing is not None and _identity_of(existing) != wanted:
            raise ArmError(400, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and "
                           "scope are not allowed to be updated.")
        if existing is None:
            for other in sb.store.list(ROLE_ASSIGNMENT):
                if _identity_of(other) == wanted:
                    raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists. The ID of the "
                                   f"existing role assignment is {_hex(other['name'])}.")
        now, caller = now_iso(), req.principal.object_id if req.principal else None
        if existing is not None:
            # Only the description and the condition may change on a re-PUT of the same assignment.
            ra = existing
        else:
            ra = {"id": scope.rstrip("/") + RA_PATH + "/" + name, "name": name, "type": RA_TYPE,
                  "properties": {"roleDefinitionId": definition_id, "principalId": principal_id,
                                 "principalType": principal_type, "scope": scope, "condition": None,
                                 "conditionVersion": None, "createdOn": now, "updatedOn": now,
                                 "createdBy": caller, "updatedBy": caller, "delegatedManagedIdentityResourceId": None,
                                 "description": None},
                  "_sandbox": {"created": time.time()}}
        out = ra["properties"]
        changed = False
        for key in ("condition", "conditionVersion", "description", "delegatedManagedIdentityResourceId"):
            if props.get(key) is not None and out.get(key) != props[key]:
                out[key], changed = props[key], True
        if out.get("condition") and not out.get("conditionVersion"):
            out["conditionVersion"] = "2.0"
        if existing is not None and changed:
            out["updatedOn"], out["updatedBy"] = now, caller
        sb.store.put(ROLE_ASSIGNMENT, ra["name"], ra)
    body = assignment_view(ra)
    if existing is None:
        # Azure answers a new assignment with createdBy null (it shows the creator from the next read on), as
        # azure-cli's recordings of `az role assignment create` show.
        body["properties"]["createdBy"] = None
    return Response(200 if existing is not None else 201, body)


NULLABLE_PROPERTIES = ("condition", "conditionVersion", "description", "delegatedManagedIdentityResourceId")
"""What 2022-04-01 answers as null when unset (az shows them so); the examples trim them."""


def assignment_view(ra: dict[str, Any]) -> dict[str, Any]:
    """The assignment as answered, with every property present (records written elsewhere, e.g. seeds, may lack
    the nullable ones)."""
    body = public(ra)
    body["properties"] = {**{k: None for k in NULLABLE_PROPERTIES}, **body["properties"]}
    return body


def _assignment_at(sb, req: Request) -> dict[str, Any] | None:
    ra = _stored(sb, _name(req))
    if ra is None or not _same_scope(ra["properties"]["scope"], request_scope(req)):
        return None
    return ra


def get_assignment(sb, req: Request) -> Response:
    ra = _assignment_at(sb, req)
    if ra is None:
        raise ArmError(404, "RoleAssignmentNotFound", f"The role assignment '{req.params['name']}' is not found.")
    return Response(200, assignment_view(ra))


def delete_assignment(sb, req: Request) -> Response:
    with sb.store.transaction():
        ra = _assignment_at(sb, req)
        if ra is None:
            return Response(204)
        sb.store.delete(ROLE_ASSIGNMENT, ra["name"])
    return Response(200, assignment_view(ra))


_ASSIGNED_TO = re.compile(r"assignedTo\(\s*'?([^')]*)'?\s*\)", re.IGNORECASE)
_PRINCIPAL_EQ = re.compile(r"principalId\s+eq\s+'?([^'\s]*)'?", re.IGNORECASE)


def parse_assignment_filter(raw: str) -> tuple[bool, str | None]:
    """(at_scope_only, principal_id) from $filter; 400 UnsupportedQuery for anything else."""
    at_scope, principal = False, None
    for term in filter(None, (t.strip() for t in re.split(r"\s+and\s+", raw.strip(), flags=re.IGNORECASE))):
        if re.fullmatch(r"atScope\(\s*\)", term, re.IGNORECASE):
            at_scope = True
        elif m := (_ASSIGNED_TO.fullmatch(term) or _PRINCIPAL_EQ.fullmatch(term)):
            principal = m.group(1).lower()
        else:
            raise ArmError(400, "UnsupportedQuery", f"The filter '{raw}' is not supported. Supported filters are "
                           "either 'atScope()' or 'principalId eq '{value}'' or 'assignedTo('{value}')'.")
    return at_scope, principal


def list_assignments(sb, req: Request) -> Response:
    scope = request_scope(req)
    at_scope, principal = parse_assignment_filter(req.query.get("$filter", ""))
    require_scope(sb, scope)
    found = []
    for ra in sb.store.list(ROLE_ASSIGNMENT):
        props = ra["properties"]
        if principal is not None and props["principalId"].lower() != principal:
            continue
        at_or_above = scope_covers(props["scope"], scope)
        below = scope_covers(scope, props["scope"])
        if at_or_above or (below and not at_scope):
            found.append(ra)
    return Response(200, page([assignment_view(ra) for ra in found]))


# Tenant-root templates first ("{scope:path}" cannot be empty); every template names roleAssignments, so
# none of them can swallow another provider's path.
for _prefix in ("", "/{scope:path}"):
    router.route("PUT", _prefix + RA_PATH + "/{name}", operation="role_assignment_create", action=RA_WRITE,
                 scope=_assignment_path)(create_assignment)
    router.route("GET", _prefix + RA_PATH + "/{name}", operation="arm_get", action=RA_READ,
                 scope=_assignment_path)(get_assignment)
    router.route("DELETE", _prefix + RA_PATH + "/{name}", operation="arm_write", action=RA_DELETE,
                 scope=_assignment_path)(delete_assignment)
    router.route("GET", _prefix + RA_PATH, operation="arm_get", action=RA_READ, scope=request_scope)(list_assignments)
