"""Entra ID's device code flow (RFC 8628) for the sandbox tenant, so a device-code sign-in runs end to end.

A client asks `/{tenant}/oauth2/v2.0/devicecode` for a code, shows it, and polls the token endpoint with the
device_code grant (`authorization_pending` until someone approves, as Entra answers). Approving is what a person
does in a browser at the verification address: here a POST to `{authority}/devicelogin` with the code and the
sandbox credentials of the operator who signs in (`client_id`, `client_secret`). The tokens are that operator's,
issued as to a person (idtyp user, upn), with an id token, as Entra's public-client tokens are.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

from .. import directory
from ..router import LOGIN, Request, Response, router
from .login import _check_tenant, oauth_error

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
KIND = "device_code"
LIFETIME_S = 900
INTERVAL_S = 1
"""Seconds between polls the client is told (Entra says 5; the sandbox answers at once)."""


def _form(req: Request) -> dict[str, str]:
    return dict(parse_qsl(req.body.decode("utf-8", "replace")))


@router.route("POST", "/{tenant}/oauth2/v2.0/devicecode", operation="entra_device_code", plane=LOGIN,
              needs_api_version=False, authenticated=False)
def device_code(sb: Any, req: Request) -> Response:
    _check_tenant(sb, req.params["tenant"])
    form = _form(req)
    if not form.get("client_id"):
        raise oauth_error(400, "invalid_request", "AADSTS900144: The request body must contain the following "
                          "parameter: 'client_id'.")
    user_code = "".join(secrets.choice("BCDFGHJKLMNPQRSTVWXZ23456789") for _ in range(9))
    code = secrets.token_urlsafe(32)
    sb.store.put(KIND, code, {"device_code": code, "user_code": user_code, "client_id": form["client_id"],
                              "scope": form.get("scope", ""), "expires": time.time() + LIFETIME_S, "approved": ""})
    verification = f"{sb.authority}/devicelogin"
    return Response(200, {"user_code": user_code, "device_code": code, "verification_uri": verification,
                          "expires_in": LIFETIME_S, "interval": INTERVAL_S,
                          "message": f"To sign in, use a web browser to open the page {verification} and enter the "
                                     f"code {user_code} to authenticate."})


@router.route("POST", "/devicelogin", operation="entra_device_login", plane=LOGIN, needs_api_version=False,
              authenticated=False)
def device_login(sb: Any, req: Request) -> Response:
    """The browser's part: the person (an operator, by its sandbox credentials) enters the code."""
    form = _form(req)
    principal = directory.principal_by_app(sb.store, form.get("client_id", ""))
    if principal is None or not directory.check_secret(principal, form.get("client_secret", "")):
        raise oauth_error(401, "invalid_client", "AADSTS50126: Error validating credentials due to invalid "
                          "username or password.")
    wanted = form.get("code", "").strip().upper()
    for pending in sb.store.list(KIND):
        if pending["user_code"] == wanted and pending["expires"] > time.time():
            sb.store.put(KIND, pending["device_code"], {**pending, "approved": principal["objectId"]})
            return Response(200, {"approved": True})
    raise oauth_error(400, "invalid_grant", "AADSTS70000: The code you entered has expired or is not valid.")


def device_token(sb: Any, form: dict[str, str]) -> Response:
    """The token endpoint's answer to the device_code grant."""
    pending = sb.store.get(KIND, form.get("device_code", ""))
    if pending is None or pending["client_id"] != form.get("client_id"):
        raise oauth_error(400, "invalid_grant", "AADSTS70000: The provided value for the 'device_code' is not valid.")
    if pending["expires"] <= time.time():
        raise oauth_error(400, "expired_token", "AADSTS70020: The provided value for the input parameter "
                          "'device_code' is not valid. This device code has expired.")
    if not pending["approved"]:
        raise oauth_error(400, "authorization_pending", "AADSTS70016: OAuth 2.0 device flow error. Authorization "
                          "is pending. Continue polling.")
    sb.store.delete(KIND, form["device_code"])
    principal = directory.principal(sb.store, pending["approved"]) or {}
    oid, client_id = pending["approved"], pending["client_id"]
    upn = f"{principal.get('displayName', 'operator').split(' ')[0]}@sandbox.local"
    resources = [s[: -len("/.default")] for s in pending["scope"].split() if s.endswith("/.default")]
    lifetime = int(sb.realism.token_lifetime_s)
    access, _ = sb.issuer.issue(object_id=oid, app_id=client_id, audience=resources[0] if resources else
                                "https://management.azure.com", lifetime_s=lifetime,
                                extra={"idtyp": "user", "upn": upn, "scp": "user_impersonation"})
    id_token, _ = sb.issuer.issue(object_id=oid, app_id=client_id, audience=client_id, lifetime_s=lifetime,
                                  extra={"iss": f"{sb.authority}/{sb.tenant_id}/v2.0", "ver": "2.0",
                                         "preferred_username": upn, "name": principal.get("displayName", upn)})
    client_info = base64.urlsafe_b64encode(json.dumps({"uid": oid, "utid": sb.tenant_id}).encode()).decode()
    return Response(200, {"token_type": "Bearer", "scope": pending["scope"], "expires_in": lifetime,
                          "ext_expires_in": lifetime, "access_token": access, "id_token": id_token,
                          "client_info": client_info.rstrip("=")})
