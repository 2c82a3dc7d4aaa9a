"""An IMDS-compatible token endpoint (plain HTTP, like 169.254.169.254) for sandbox workloads.

Each running workload (a container group's container, a Batch pool node) is a *caller* with its own
base URL, `{imds}/_callers/{token}`, handed to it as AZURE_POD_IDENTITY_AUTHORITY_HOST. The endpoint
serves tokens only for the identities attached to that caller, with Azure's IMDS errors.
"""

from __future__ import annotations

import secrets
import time

from ..router import IMDS, ArmError, Request, Response, router
from ..tokens import known_audience
from .login import unknown_resource

CALLER = "imds_caller"
SYSTEM_TYPE = "microsoft.managedidentity/identities"


def register_caller(sb, label: str, identity_ids: list[str]) -> str:
    """Register a workload that may ask for tokens for `identity_ids`; returns its IMDS base URL."""
    token = secrets.token_urlsafe(16)
    sb.store.put(CALLER, token, {"token": token, "label": label, "identities": list(identity_ids)})
    return f"{sb.imds_url}/_callers/{token}"


def unregister_caller(sb, base_url: str) -> None:
    sb.store.delete(CALLER, base_url.rstrip("/").rsplit("/", 1)[-1])


def _imds_error(status: int, error: str, description: str) -> ArmError:
    return ArmError(status, error, description, body={"error": error, "error_description": description})


@router.route("GET", "/_callers/{caller}/metadata/identity/oauth2/token", operation="imds_token", plane=IMDS,
              needs_api_version=False, authenticated=False)
def token(sb, req: Request) -> Response:
    if req.header("Metadata").lower() != "true":
        raise _imds_error(400, "invalid_request", "Required metadata header not specified")
    if not req.api_version:
        raise _imds_error(400, "invalid_request", "Required queryparameter api-version not specified")
    caller = sb.store.get(CALLER, req.params["caller"])
    if caller is None:
        raise _imds_error(400, "invalid_request", "Identity not found")
    resource = req.query.get("resource", "")
    if not resource:
        raise _imds_error(400, "invalid_request", "Required queryparameter resource not specified")
    if not known_audience(resource):  # IMDS relays Entra's refusal as Entra words it
        raise unknown_resource(sb, resource).for_request(req)
    from ..arm import get
    identities = [i for i in (get(sb, rid) for rid in caller["identities"]) if i is not None]
    client_id = req.query.get("client_id")
    object_id = req.query.get("object_id") or req.query.get("principal_id")
    msi_res_id = req.query.get("msi_res_id") or req.query.get("mi_res_id")
    if client_id:
        chosen = [i for i in identities if i["properties"]["clientId"].lower() == client_id.lower()]
    elif object_id:
        chosen = [i for i in identities if i["properties"]["principalId"].lower() == object_id.lower()]
    elif msi_res_id:
        chosen = [i for i in identities if i["id"].lower() == msi_res_id.lower()]
    elif any(i["type"].lower() == SYSTEM_TYPE for i in identities):
        # With no selector, IMDS answers for the system-assigned identity when there is one.
        chosen = [i for i in identities if i["type"].lower() == SYSTEM_TYPE]
    elif len(identities) > 1:
        raise _imds_error(400, "invalid_request", "Multiple user assigned identities exist, please specify the "
                          "clientId / resourceId of the identity in the token request")
    else:
        chosen = identities
    if not chosen:
        raise _imds_error(400, "invalid_request", "Identity not found")
    identity = chosen[0]
    lifetime = int(sb.realism.token_lifetime_s)
    access_token, exp = sb.issuer.issue(object_id=identity["properties"]["principalId"],
                                        app_id=identity["properties"]["clientId"], audience=resource,
                                        lifetime_s=lifetime, extra={"xms_mirid": identity["id"], "idtyp": "app"})
    now = int(time.time())
    return Response(200, {"access_token": access_token, "client_id": identity["properties"]["clientId"],
                          "expires_in": str(lifetime), "expires_on": str(exp), "ext_expires_in": str(lifetime),
                          "not_before": str(now), "resource": resource, "token_type": "Bearer"})
