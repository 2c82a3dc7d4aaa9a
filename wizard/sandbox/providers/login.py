"""Entra ID for the sandbox tenant: OIDC discovery and the client-credentials token endpoint."""

from __future__ import annotations

from urllib.parse import parse_qsl

from .. import directory
from ..router import LOGIN, ArmError, Request, Response, router


def _oauth_error(status: int, error: str, description: str) -> ArmError:
    return ArmError(status, error, description, body={"error": error, "error_description": description,
                                                      "error_codes": [int(description[6:].split(":")[0])] if description.startswith("AADSTS") else [],
                                                      "timestamp": "", "trace_id": "", "correlation_id": ""})


def _check_tenant(sb, tenant: str) -> None:
    if tenant.lower() not in (sb.tenant_id.lower(), "organizations", "common"):
        raise _oauth_error(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you "
                           "have the correct tenant ID and are signing into the correct cloud.")


@router.route("GET", "/{tenant}/v2.0/.well-known/openid-configuration", operation="entra_discovery", plane=LOGIN,
              needs_api_version=False, authenticated=False)
def openid_configuration(sb, req: Request) -> Response:
    _check_tenant(sb, req.params["tenant"])
    base = f"{sb.authority}/{sb.tenant_id}"
    return Response(200, {
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "issuer": f"{sb.authority}/{sb.tenant_id}/v2.0",
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "tenant_region_scope": "NA",
        "cloud_instance_name": "sandbox.local",
    })


@router.route("GET", "/{tenant}/discovery/v2.0/keys", operation="entra_keys", plane=LOGIN,
              needs_api_version=False, authenticated=False)
def keys(sb, req: Request) -> Response:
    return Response(200, sb.issuer.jwks())


@router.route("POST", "/{tenant}/oauth2/v2.0/token", operation="entra_token_client_credentials", plane=LOGIN,
              needs_api_version=False, authenticated=False)
def token(sb, req: Request) -> Response:
    _check_tenant(sb, req.params["tenant"])
    form = dict(parse_qsl(req.body.decode("utf-8", "replace")))
    if form.get("grant_type") != "client_credentials":
        raise _oauth_error(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type "
                           f"'{form.get('grant_type', '')}'. The sandbox supports client_credentials.")
    client_id, secret, scope = form.get("client_id", ""), form.get("client_secret", ""), form.get("scope", "")
    principal = directory.principal_by_app(sb.store, client_id)
    if principal is None:
        raise _oauth_error(400, "unauthorized_client", f"AADSTS700016: Application with identifier '{client_id}' was "
                           f"not found in the directory '{sb.tenant_id}'.")
    if not directory.check_secret(principal, secret):
        raise _oauth_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret "
                           f"being sent in the request is the client secret value, not the client secret ID, for a "
                           f"secret added to app '{client_id}'.")
    resources = [s for s in scope.split() if s.endswith("/.default")]
    if len(resources) != 1:
        raise _oauth_error(400, "invalid_scope", f"AADSTS1002012: The provided value for scope {scope} is not valid. "
                           "Client credential flows must have a scope value with /.default suffixed to the resource "
                           "identifier (application ID URI).")
    audience = resources[0][: -len("/.default")]
    access_token, exp = sb.issuer.issue(object_id=principal["objectId"], app_id=client_id, audience=audience,
                                        lifetime_s=sb.realism.token_lifetime_s)
    lifetime = int(sb.realism.token_lifetime_s)
    return Response(200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                          "access_token": access_token})
