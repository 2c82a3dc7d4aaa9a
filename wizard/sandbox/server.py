"""HTTP(S) listeners and the request pipeline: route, api-version, authenticate, authorize, realism, handle.

Every answer is an Azure-shaped JSON body; a bug in a handler answers 500 InternalServerError and is
logged, it never crashes the server or sends a stack trace over HTTP.
"""

from __future__ import annotations

import email.utils
import logging
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .router import ARM, BATCH, IMDS, LOGIN, VAULT, ArmError, Principal, Request, Response, Route, parse_query, router
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


class _Drop(Exception):
    """A fault that closes the connection without an answer."""


class Listener(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, sandbox: Sandbox, plane: str, port: int, tls: ssl.SSLContext | None, vault: str | None = None):
        self.sandbox, self.plane, self.tls, self.vault = sandbox, plane, tls, vault
        super().__init__(("127.0.0.1", port), _Handler)
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2},
                                       name=f"sandbox-{plane}-{self.port}", daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> Listener:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs here, in the request's own thread, so a slow client never blocks accept().
        if self.tls is not None:
            try:
                request.settimeout(30)
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    server: Listener

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        plane = self.server.plane
        path = unquote(url.path)
        if plane == ARM and not path.lower().startswith(("/subscriptions", "/providers", "/_sandbox")):
            plane = LOGIN
        request = Request(method=self.command, path=path, query=parse_query(url.query), headers=dict(self.headers),
                          body=body, host=self.headers.get("Host", ""), plane=plane)
        if self.server.vault:
            request.context["vault"] = self.server.vault
        try:
            response = dispatch(self.server.sandbox, request)
        except _Drop:
            self.close_connection = True
            self.connection.close()
            return
        self._write(request, response)

    def _write(self, request: Request, response: Response) -> None:
        payload = response.payload()
        self.send_response(response.status)
        headers = {"Cache-Control": "no-cache",
                   "x-ms-request-id": str(uuid.uuid4()),
                   "x-ms-correlation-request-id": request.header("x-ms-client-request-id") or str(uuid.uuid4())}
        if request.plane == ARM:
            headers["x-ms-routing-request-id"] = "SANDBOX:" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            kind = "reads" if request.method in ("GET", "HEAD") else ("deletes" if request.method == "DELETE" else "writes")
            headers[f"x-ms-ratelimit-remaining-subscription-{kind}"] = "249" if kind == "reads" else "199"
        if payload or response.raw is not None:
            headers["Content-Type"] = response.content_type
        headers.update(response.headers)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = _serve


def dispatch(sandbox: Sandbox, request: Request) -> Response:
    operation, route = "unknown", None
    try:
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
            response = _fault_response(fault)
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
    except _Drop:
        sandbox.record(CallRecord(request.plane, request.method, request.path, operation, 0, time.time()))
        raise
    except Exception:  # noqa: BLE001 - the server must answer, never crash
        log.exception("sandbox handler failed: %s %s", request.method, request.path)
        response = Response(500, {"error": {"code": "InternalServerError",
                                            "message": "The sandbox hit an internal error; see its log."}})
    call = CallRecord(request.plane, request.method, request.path, operation, response.status, time.time())
    sandbox.record(call)
    for observe in list(sandbox.observers):
        observe(call)  # tests: e.g. kill a client the moment Azure has accepted a write, before it hears back
    return response


def _fault_response(fault: Any) -> Response:
    if fault.kind == "drop":
        raise _Drop()
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


def authenticate(sandbox: Sandbox, request: Request) -> Principal | None:
    if request.plane not in (ARM, VAULT, BATCH):
        return None
    header = request.header("Authorization")
    if request.plane == VAULT and not header.lower().startswith("bearer "):
        raise ArmError(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.",
                       headers={"WWW-Authenticate": f'Bearer authorization="{sandbox.authority}/{sandbox.tenant_id}", '
                                                    f'resource="{VAULT_AUDIENCE}"'})
    if not header.lower().startswith("bearer "):
        raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
                       headers={"WWW-Authenticate": 'Bearer authorization_uri="%s", error="invalid_token", '
                                'error_description="The authentication failed because of missing \'Authorization\' header."'
                                % sandbox.authority})
    audiences = (VAULT_AUDIENCE,) if request.plane == VAULT else (BATCH_AUDIENCE,) if request.plane == BATCH \
        else ARM_AUDIENCES
    try:
        claims = sandbox.issuer.verify(header.split(" ", 1)[1].strip(), audiences)
    except TokenError as err:
        if request.plane == VAULT:
            raise ArmError(401, "Unauthorized", f"AKV10022: {err.message}",
                           headers={"WWW-Authenticate": f'Bearer authorization="{sandbox.authority}/{sandbox.tenant_id}", '
                                                        f'resource="{VAULT_AUDIENCE}"'}) from None
        raise ArmError(401, err.code, err.message,
                       headers={"WWW-Authenticate": f'Bearer authorization_uri="{sandbox.authority}", '
                                                    f'error="invalid_token", error_description="{err.message}"'}) from None
    return Principal(object_id=claims["oid"], app_id=claims.get("appid", ""), tenant_id=claims["tid"],
                     audience=claims["aud"], claims=claims)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
