"""The request pipeline every listener runs: route, body checks, api-version, authenticate, authorize, realism,
handle. Every answer is an Azure-shaped JSON body; a bug in a handler answers 500 InternalServerError and is logged,
it never crashes the server or sends a stack trace over HTTP.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .framing import json_depth
from .router import ARM, BATCH, VAULT, ArmError, Principal, Request, Response, router
from .tokens import ARM_AUDIENCES, BATCH_AUDIENCE, VAULT_AUDIENCE, TokenError

if TYPE_CHECKING:
    from .app import Sandbox

log = logging.getLogger("wizard.sandbox")

plane_error_shapes: dict[str, Callable[[Request, ArmError], ArmError]] = {}
"""Planes whose service answers errors in another shape (the Batch service) reshape the pipeline's own
errors (401, missing api-version, unknown path) here; errors raised with an explicit body pass as they are."""


@dataclass
class CallRecord:
    """One answered request, for tests and benchmarks (never bodies: they may hold secrets)."""

    plane: str
    method: str
    path: str
    operation: str
    status: int
    at: float


class Drop(Exception):
    """A fault that closes the connection without an answer."""


def check_body(sandbox: Sandbox, request: Request) -> None:
    """Refuse JSON nested deeper than the service parses (a parser would recurse, or a 500 would answer)."""
    body = request.body.lstrip()
    if body[:1] in (b"{", b"[") and json_depth(body) > sandbox.limits.max_json_depth:
        raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: "
                       f"'The reader's MaxDepth of {sandbox.limits.max_json_depth} has been exceeded.'")


def dispatch(sandbox: Sandbox, request: Request) -> Response:
    operation, route = "unknown", None
    try:
        check_body(sandbox, request)
        route, params, known = router.match(request.plane, request.method, request.path)
        if route is None:
            raise _unknown_route(request, known)
        operation = route.operation
        request.params = params
        delay = sandbox.realism.latency_for(operation, request.method)
        if delay:
            time.sleep(delay)
        if route.needs_api_version and not request.api_version:
            raise _missing_api_version(request.plane)
        if route.authenticated:
            request.principal = authenticate(sandbox, request)
        if request.plane == ARM:
            from .arm import check_subscription
            check_subscription(sandbox, request)
        fault = sandbox.realism.take_fault(operation)
        if fault is not None:
            response = _fault_response(fault, operation)
        else:
            if route.action is not None and request.principal is not None:
                action = route.action(request) if callable(route.action) else route.action
                scope = route.scope(request) if route.scope else request.path.rstrip("/")
                from .authz import require_action
                require_action(sandbox.store, request.principal, action, scope)
            response = route.handler(sandbox, request)
    except ArmError as err:
        if err.body is None and request.plane in plane_error_shapes:
            err = plane_error_shapes[request.plane](request, err)
        response = Response(err.status, err.to_body(), headers=err.headers)
    except Drop:
        sandbox.record(CallRecord(request.plane, request.method, request.path, operation, 0, time.time()))
        raise
    except RecursionError:  # a structure nested past Python's limit, however it got past check_body
        response = Response(400, {"error": {"code": "InvalidRequestContent", "message": "The request content was "
                                            "invalid and could not be deserialized: it is nested too deeply."}})
    except Exception:  # noqa: BLE001 - the server must answer, never crash
        log.exception("sandbox handler failed: %s %s", request.method, request.path)
        response = Response(500, {"error": {"code": "InternalServerError",
                                            "message": "The sandbox hit an internal error; see its log."}})
    call = CallRecord(request.plane, request.method, request.path, operation, response.status, time.time())
    sandbox.record(call)
    for observe in list(sandbox.observers):
        observe(call)  # tests: e.g. kill a client the moment Azure has accepted a write, before it hears back
    return response


def _fault_response(fault: Any, operation: str) -> Response:
    if fault.kind == "403":  # raised: the plane's own error shape is applied (ARM's, or Key Vault's)
        raise ArmError(403, "AuthorizationFailed", "The client does not have authorization to perform this action "
                       f"({operation}) over this scope or the scope is invalid. If access was recently granted, "
                       "please refresh your credentials.")
    if fault.kind == "drop":
        raise Drop()
    if fault.kind == "429":
        return Response(429, {"error": {"code": "TooManyRequests",
                                        "message": "The request is being throttled as the limit has been reached for "
                                                   "operation type. Please try again later."}},
                        headers={"Retry-After": str(max(1, fault.retry_after))})
    if fault.kind == "503":
        return Response(503, {"error": {"code": "ServiceUnavailable",
                                        "message": "The service is temporarily unavailable. Please try again later."}},
                        headers={"Retry-After": str(max(1, fault.retry_after))})
    return Response(500, {"error": {"code": "InternalServerError",
                                    "message": "Encountered internal server error. Please try again."}})


def _missing_api_version(plane: str) -> ArmError:
    if plane == VAULT:
        return ArmError(400, "BadParameter", "The request URI contains an invalid or missing 'api-version' parameter.")
    return ArmError(400, "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.")


def _unknown_route(request: Request, path_known: bool) -> ArmError:
    if path_known:
        return ArmError(405, "HttpMethodNotAllowed",
                        f"The requested resource does not support http method '{request.method}'.")
    if request.plane == ARM:
        parts = [p for p in request.path.split("/") if p]
        lowered = [p.lower() for p in parts]
        if "providers" in lowered:
            i = len(lowered) - 1 - lowered[::-1].index("providers")
            if i + 2 < len(parts) + 1 and i + 1 < len(parts):
                namespace = parts[i + 1]
                rtype = parts[i + 2] if i + 2 < len(parts) else ""
                return ArmError(404, "InvalidResourceType",
                                f"The resource type '{rtype}' could not be found in the namespace '{namespace}' "
                                f"for api version '{request.api_version}'.")
        return ArmError(404, "NotFound", f"The path '{request.path}' is not served by this API.")
    if request.plane == VAULT:
        return ArmError(400, "BadParameter", f"The request URI '{request.path}' is not valid.")
    return ArmError(404, "NotFound", f"No endpoint at '{request.path}'.")


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def authenticate(sandbox: Sandbox, request: Request) -> Principal | None:
    if request.plane not in (ARM, VAULT, BATCH):
        return None
    header = request.header("Authorization")
    vault_challenge = {"WWW-Authenticate": f'Bearer authorization="{sandbox.authority}/{sandbox.tenant_id}", '
                                           f'resource="{VAULT_AUDIENCE}"'}
    if request.plane == VAULT and not header.lower().startswith("bearer "):
        raise ArmError(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.",
                       headers=vault_challenge)
    if not header.lower().startswith("bearer "):
        raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
                       headers={"WWW-Authenticate": f'Bearer authorization_uri="{sandbox.authority}", '
                                'error="invalid_token", error_description="The authentication failed because of '
                                'missing \'Authorization\' header."'})
    audiences = (VAULT_AUDIENCE,) if request.plane == VAULT else (BATCH_AUDIENCE,) if request.plane == BATCH \
        else ARM_AUDIENCES
    try:
        claims = sandbox.issuer.verify(header.split(" ", 1)[1].strip(), audiences)
    except TokenError as err:
        if request.plane == VAULT:
            raise ArmError(401, "Unauthorized", err.vault_message, headers=vault_challenge) from None
        raise ArmError(401, err.code, err.message,
                       headers={"WWW-Authenticate": f'Bearer authorization_uri="{sandbox.authority}", '
                                f'error="invalid_token", error_description="{_quoted(err.message)}"'}) from None
    # verify() guarantees oid, tid and aud: a token without them is a 401 above, never a KeyError (500) here.
    return Principal(object_id=claims["oid"], app_id=claims.get("appid", ""), tenant_id=claims["tid"],
                     audience=claims["aud"], claims=claims)
