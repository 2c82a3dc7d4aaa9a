"""Entra ID for the sandbox tenant: OIDC discovery and the client-credentials token endpoint, with a client secret
or with a federated assertion (workload identity federation).

A federated assertion is a JWT from an issuer the sandbox knows (an AKS cluster's OIDC issuer, the GitHub Actions
stand-in: oidc.py). Entra checks it as Azure does: in its valid time range (AADSTS700024), matching a federated
identity credential of the identity whose client id is presented, on issuer, subject and audience, compared
exactly, case and trailing slash included (AADSTS70021), and signed by the issuer's key (AADSTS700027). A credential
written less than `realism.federation_propagation_s` ago (or while a test holds `federation_propagation`) does not
match yet (AADSTS70021 too).

Tokens are issued only for the resources the sandbox serves, under Azure's own audiences (tokens.KNOWN_AUDIENCES);
any other resource is Entra's AADSTS500011 invalid_resource, which names the scopes to use, so a client that guesses
`{arm_url}/.default` learns that the sandbox expects Azure's audience, not its own URL.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

from .. import directory
from ..arm import list_children, now_iso
from ..router import LOGIN, ArmError, Request, Response, router
from ..tokens import SCOPES, known_audience
from . import oidc
from .msi import FIC_TYPE

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FEDERATION_DOCS = "https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation"


class EntraError(ArmError):
    """An error in Entra's token-endpoint shape: {error, error_description, error_codes, timestamp, trace_id,
    correlation_id, error_uri}, the description ending with the ids and time as Entra's does."""

    def __init__(self, status: int, error: str, description: str, correlation_id: str | None = None):
        self.description = description
        trace_id, correlation_id = str(uuid.uuid4()), correlation_id or str(uuid.uuid4())
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        match = re.match(r"AADSTS(\d+)", description)
        text = f"{description} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {stamp}"
        body: dict[str, Any] = {"error": error, "error_description": text,
                                "error_codes": [int(match.group(1))] if match else [], "timestamp": stamp,
                                "trace_id": trace_id, "correlation_id": correlation_id}
        if match:
            body["error_uri"] = f"https://login.microsoftonline.com/error?code={match.group(1)}"
        super().__init__(status, error, text, body=body)

    def for_request(self, req: Request) -> EntraError:
        """The same error, correlated with the client's `client-request-id` (MSAL sends one) as Entra does."""
        asked = req.header("client-request-id")
        return EntraError(self.status, self.code, self.description, asked) if asked else self


def oauth_error(status: int, error: str, description: str) -> EntraError:
    return EntraError(status, error, description)


def unknown_resource(sb, resource: str) -> EntraError:
    """AADSTS500011 for a resource the sandbox does not serve, naming the scopes it does."""
    scopes = ", ".join(f"{name} '{scope}'" for name, scope in SCOPES.items())
    return oauth_error(400, "invalid_resource", f"AADSTS500011: The resource principal named {resource} was not "
                       f"found in the tenant named {sb.tenant_id}. This can happen if the application has not been "
                       "installed by the administrator of the tenant or consented to by any user in the tenant. You "
                       "might have sent your authentication request to the wrong tenant. The sandbox issues tokens "
                       f"for Azure's own audiences, whatever its URLs: use {scopes} (named so in its descriptor).")


def _check_tenant(sb, tenant: str) -> None:
    if tenant.lower() not in (sb.tenant_id.lower(), "organizations", "common"):
        raise oauth_error(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you "
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
    try:
        return _token(sb, req)
    except EntraError as err:
        raise err.for_request(req) from None


def _token(sb, req: Request) -> Response:
    _check_tenant(sb, req.params["tenant"])
    form = dict(parse_qsl(req.body.decode("utf-8", "replace")))
    if form.get("grant_type") == "urn:ietf:params:oauth:grant-type:device_code":
        from .login_device import device_token  # a person's sign-in with a device code (login_device.py)
        return device_token(sb, form)
    if form.get("grant_type") != "client_credentials":
        raise oauth_error(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type "
                           f"'{form.get('grant_type', '')}'. The sandbox supports client_credentials.")
    client_id, scope = form.get("client_id", ""), form.get("scope", "")
    principal = directory.principal_by_app(sb.store, client_id)
    if principal is None:
        raise oauth_error(400, "unauthorized_client", f"AADSTS700016: Application with identifier '{client_id}' was "
                           f"not found in the directory '{sb.tenant_id}'.")
    extra = None
    if "client_assertion" in form or "client_assertion_type" in form:
        extra = _federated(sb, principal, form)
    elif not directory.check_secret(principal, form.get("client_secret", "")):
        raise oauth_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret "
                           f"being sent in the request is the client secret value, not the client secret ID, for a "
                           f"secret added to app '{client_id}'.")
    resources = [s for s in scope.split() if s.endswith("/.default")]
    if len(resources) != 1:
        raise oauth_error(400, "invalid_scope", f"AADSTS1002012: The provided value for scope {scope} is not valid. "
                           "Client credential flows must have a scope value with /.default suffixed to the resource "
                           "identifier (application ID URI).")
    audience = resources[0][: -len("/.default")]
    if not known_audience(audience) and directory.principal_by_app(sb.store, audience.removeprefix("api://")) is None:
        raise unknown_resource(sb, audience)
    access_token, exp = sb.issuer.issue(object_id=principal["objectId"], app_id=client_id, audience=audience,
                                        lifetime_s=sb.realism.token_lifetime_s, extra=extra)
    lifetime = int(sb.realism.token_lifetime_s)
    return Response(200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                          "access_token": access_token})


# ---- workload identity federation ----------------------------------------------------------------------------
def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _instant(value: Any) -> str:
    """A claim's time as Entra prints it, whatever the claim holds."""
    return now_iso(float(value)) if _finite(value) and 0 <= value < 253402300800 else now_iso(0.0)  # < year 10000


def _federated(sb, principal: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    """Check a federated client assertion for `principal`; the extra claims of the token it earns."""
    for field in ("client_assertion_type", "client_assertion"):
        if not form.get(field):
            raise oauth_error(400, "invalid_request", f"AADSTS90014: The required field '{field}' is missing from "
                              "the credential. Ensure that you have all the necessary parameters for the login "
                              "request.")
    if form["client_assertion_type"] != JWT_BEARER:
        raise oauth_error(400, "invalid_request", "AADSTS700023: The client_assertion_type "
                          f"'{form['client_assertion_type']}' is not supported: use '{JWT_BEARER}'.")
    assertion = form["client_assertion"]
    try:
        _, claims = oidc.decode_unverified(assertion)
    except ValueError:
        raise oauth_error(400, "invalid_request", "AADSTS50027: JWT token is invalid or malformed.") from None
    now = time.time()
    exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat", 0))
    if not (_finite(exp) and _finite(nbf) and exp > now and nbf <= now + 300):  # Entra allows 5 minutes of skew
        raise oauth_error(400, "invalid_client", "AADSTS700024: Client assertion is not within its valid time range. "
                          f"Current time: {now_iso(now)}, assertion valid from {_instant(nbf)}, expiry "
                          f"time of assertion {_instant(exp)}. Review the documentation at "
                          "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .")
    issuer, subject = str(claims.get("iss", "")), str(claims.get("sub", ""))
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else [a for a in aud if isinstance(a, str)] \
        if isinstance(aud, list) else []
    identity_id = principal.get("managedIdentityId")
    matching = [f for f in (list_children(sb, identity_id, FIC_TYPE) if identity_id else [])
                if f["properties"]["issuer"] == issuer and f["properties"]["subject"] == subject
                and set(f["properties"]["audiences"]) & set(audiences)]
    no_match = oauth_error(400, "invalid_request", "AADSTS70021: No matching federated identity record found for "
                           f"presented assertion. Assertion Issuer: '{issuer}'. Assertion Subject: '{subject}'. "
                           f"Assertion Audience: '{','.join(audiences)}'. {FEDERATION_DOCS}")
    if not oidc.known_issuer(sb, issuer):
        if matching:  # Entra would fetch the issuer's keys from its discovery document, and fail
            raise oauth_error(400, "invalid_request", f"AADSTS90061: Request to External OIDC endpoint failed. The "
                              f"issuer '{issuer}' did not answer its OpenID discovery request.")
        raise no_match
    if not oidc.verify_with_jwks(assertion, oidc.signing_key(sb, issuer).jwks()):  # the issuer's published keys
        raise oauth_error(401, "invalid_client", "AADSTS700027: Client assertion failed signature validation.")
    def propagating(fic: dict[str, Any], observe: bool) -> bool:
        return sb.realism.pending("federation_propagation", fic.get("_sandbox", {}).get("created", 0.0),
                                  sb.realism.federation_propagation_s, key=identity_id, now=now, observe=observe)
    if all(propagating(f, False) for f in matching):
        if matching:
            propagating(matching[0], True)  # refused only because the credential is still on its way
        raise no_match
    return {"xms_mirid": identity_id, "idtyp": "app"}
