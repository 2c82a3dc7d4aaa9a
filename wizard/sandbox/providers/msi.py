"""Microsoft.ManagedIdentity: user-assigned identities and their federated identity credentials.

As azure-cli's recordings of real Azure show (identity and federated-credential tests): a create answers 201 with a
`Location` header holding the new resource's path, an update 200 without it; neither resource carries systemData.
An identity's `isolationScope` exists from api-version 2024-11-30 on (the 2023-07-31-preview spec still lacks it),
so older versions are answered without it.
"""

from __future__ import annotations

import re
import time

from .. import directory
from ..arm import (
    delete,
    get,
    list_children,
    list_in_subscription,
    page,
    provider_id,
    public,
    put,
    require_location,
    require_resource_group,
    require_tags,
)
from ..router import ArmError, Request, Response, not_found, router

NS = "Microsoft.ManagedIdentity/userAssignedIdentities"
FIC_TYPE = NS + "/federatedIdentityCredentials"
BASE = "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
IDENTITY_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$")
FIC_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}$")
MAX_FICS = 20
ISOLATION_SCOPE_SINCE = "2024-11-30"


def identity_view(identity: dict, api_version: str) -> dict:
    """The identity as answered at `api-version` (isolationScope only where that version has it)."""
    body = public(identity)
    if api_version[:10] < ISOLATION_SCOPE_SINCE:
        body["properties"] = {k: v for k, v in body["properties"].items() if k != "isolationScope"}
    return body


def _created(body: dict) -> Response:
    # Real Azure's 201 carries Location: the resource's own path (relative, as recorded).
    return Response(201, body, headers={"Location": body["id"]})


def identity_id(req: Request) -> str:
    return provider_id(req.params["sub"], req.params["rg"], NS, req.params["name"])


def require_identity(sb, req: Request) -> dict:
    identity = get(sb, identity_id(req))
    if identity is None:
        raise not_found(NS, req.params["name"], req.params["rg"])
    return identity


@router.route("PUT", BASE + "/{name}", operation="managed_identity_create", action=NS + "/write")
def create_identity(sb, req: Request) -> Response:
    name = req.params["name"]
    if not IDENTITY_NAME.match(name):
        raise ArmError(400, "InvalidResourceName", f"Resource name '{name}' is invalid. The name can contain only "
                       "letters, digits, '-' and '_', must start with a letter or digit, and be 3 to 128 characters.")
    body = req.json_object()
    location = require_location(body.get("location"))
    tags = require_tags(body)
    require_resource_group(sb, req.params["sub"], req.params["rg"])
    with sb.store.transaction():
        existing = get(sb, identity_id(req))
        if existing:
            existing["tags"] = tags
            put(sb, existing)
            return Response(200, identity_view(existing, req.api_version))
        principal = directory.add_principal(sb.store, display_name=name, managed_identity_id=identity_id(req))
        identity = {"id": identity_id(req), "name": name, "type": NS, "location": location, "tags": tags,
                    "properties": {"tenantId": sb.tenant_id, "principalId": principal["objectId"],
                                   "clientId": principal["appId"], "isolationScope": "None"}}
        put(sb, identity)
    return _created(identity_view(identity, req.api_version))


@router.route("PATCH", BASE + "/{name}", operation="arm_write", action=NS + "/write")
def update_identity(sb, req: Request) -> Response:
    body = req.json_object()
    with sb.store.transaction():
        identity = require_identity(sb, req)
        if "tags" in body:
            identity["tags"] = require_tags(body)
        put(sb, identity)
    return Response(200, identity_view(identity, req.api_version))


@router.route("GET", BASE + "/{name}", operation="arm_get", action=NS + "/read")
def get_identity(sb, req: Request) -> Response:
    return Response(200, identity_view(require_identity(sb, req), req.api_version))


@router.route("GET", BASE, operation="arm_get", action=NS + "/read")
def list_by_group(sb, req: Request) -> Response:
    require_resource_group(sb, req.params["sub"], req.params["rg"])
    parent = f"/subscriptions/{req.params['sub']}/resourceGroups/{req.params['rg']}/providers/Microsoft.ManagedIdentity"
    return Response(200, page([identity_view(i, req.api_version) for i in list_children(sb, parent, NS)]))


@router.route("GET", "/subscriptions/{sub}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
              operation="arm_get", action=NS + "/read")
def list_by_subscription(sb, req: Request) -> Response:
    identities = list_in_subscription(sb, req.params["sub"], NS)
    return Response(200, page([identity_view(i, req.api_version) for i in identities]))


@router.route("DELETE", BASE + "/{name}", operation="arm_write", action=NS + "/delete")
def delete_identity(sb, req: Request) -> Response:
    with sb.store.transaction():
        identity = get(sb, identity_id(req))
        if identity is None:
            return Response(204)
        for fic in list_children(sb, identity["id"], FIC_TYPE):
            delete(sb, fic["id"])
        directory.remove_principal(sb.store, identity["properties"]["principalId"])
        delete(sb, identity["id"])
    return Response(200)


# ---- federated identity credentials ------------------------------------------------------------------
FIC = BASE + "/{name}/federatedIdentityCredentials"


def _fic_id(req: Request) -> str:
    return f"{identity_id(req)}/federatedIdentityCredentials/{req.params['fic']}"


@router.route("PUT", FIC + "/{fic}", operation="federated_credential_create", action=NS + "/federatedIdentityCredentials/write")
def put_fic(sb, req: Request) -> Response:
    name = req.params["fic"]
    if not FIC_NAME.match(name):
        raise ArmError(400, "BadRequest", f"Invalid federated identity credential name '{name}': use 3-120 letters, "
                       "digits, '-' or '_', starting with a letter or digit.")
    props = req.json_object().get("properties")
    if not isinstance(props, dict):
        raise ArmError(400, "BadRequest", "The 'properties' object is required.")
    issuer, subject, audiences = props.get("issuer"), props.get("subject"), props.get("audiences")
    if not isinstance(issuer, str) or not issuer.startswith("https://"):
        raise ArmError(400, "BadRequest", "The issuer must be an https URL, for example the OIDC issuer of an AKS "
                       "cluster or https://token.actions.githubusercontent.com.")
    if not isinstance(subject, str) or not subject:
        raise ArmError(400, "BadRequest", "The subject is required.")
    if not isinstance(audiences, list) or len(audiences) != 1 or not all(isinstance(a, str) for a in audiences):
        raise ArmError(400, "BadRequest", "Exactly one audience is required, usually 'api://AzureADTokenExchange'.")
    with sb.store.transaction():
        identity = require_identity(sb, req)
        siblings = [f for f in list_children(sb, identity["id"], FIC_TYPE) if f["name"].lower() != name.lower()]
        for other in siblings:
            if (other["properties"]["issuer"], other["properties"]["subject"]) == (issuer, subject):
                raise ArmError(409, "Conflict", f"A federated identity credential with issuer '{issuer}' and subject "
                               f"'{subject}' already exists on this identity as '{other['name']}'.")
        if len(siblings) >= MAX_FICS:
            raise ArmError(400, "BadRequest", f"An identity can have at most {MAX_FICS} federated identity credentials.")
        existing = get(sb, _fic_id(req))
        fic = {"id": _fic_id(req), "name": name, "type": FIC_TYPE,
               "properties": {"issuer": issuer, "subject": subject, "audiences": audiences}}
        # Entra honours a written credential only after it propagates (login.py); an unchanged re-PUT keeps its age.
        unchanged = existing is not None and existing["properties"] == fic["properties"]
        fic["_sandbox"] = {"created": existing.get("_sandbox", {}).get("created", 0.0) if unchanged else time.time()}
        put(sb, fic, parent=identity["id"])
    return Response(200, public(fic)) if existing else _created(public(fic))


@router.route("GET", FIC + "/{fic}", operation="arm_get", action=NS + "/federatedIdentityCredentials/read")
def get_fic(sb, req: Request) -> Response:
    fic = get(sb, _fic_id(req))
    if fic is None:
        require_identity(sb, req)
        raise not_found(FIC_TYPE, f"{req.params['name']}/{req.params['fic']}", req.params["rg"])
    return Response(200, public(fic))


@router.route("GET", FIC, operation="arm_get", action=NS + "/federatedIdentityCredentials/read")
def list_fics(sb, req: Request) -> Response:
    identity = require_identity(sb, req)
    return Response(200, page(list_children(sb, identity["id"], FIC_TYPE)))


@router.route("DELETE", FIC + "/{fic}", operation="arm_write", action=NS + "/federatedIdentityCredentials/delete")
def delete_fic(sb, req: Request) -> Response:
    require_identity(sb, req)
    return Response(200 if delete(sb, _fic_id(req)) else 204)


# ---- demo seed ---------------------------------------------------------------------------------------------
def _seed_demo(sb) -> None:
    """A platform's own identity (like Union.ai's `userflyterole`), for the "grants for an existing identity"
    setup: it exists before mi-wizard runs and only needs grants."""
    from ..arm import rg_id
    sub = sb.subscription_ids[0]
    principal = directory.add_principal(sb.store, display_name="userflyterole", created=0.0,
                                        managed_identity_id=f"{rg_id(sub, 'rg-platform')}/providers/{NS}/userflyterole")
    put(sb, {"id": f"{rg_id(sub, 'rg-platform')}/providers/{NS}/userflyterole", "name": "userflyterole", "type": NS,
             "location": "northeurope", "tags": {"owner": "platform-team"},
             "properties": {"tenantId": sb.tenant_id, "principalId": principal["objectId"],
                            "clientId": principal["appId"], "isolationScope": "None"}})


from ..seed import demo_seeders  # noqa: E402 - registered once, when the providers are imported

demo_seeders.append(_seed_demo)
