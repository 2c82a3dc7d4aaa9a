"""Requests, responses, errors and the route table shared by every sandbox provider.

Routes are ARM-style path templates matched case-insensitively (ARM paths are case-insensitive and
the SDK sends `/resourcegroups/` and `/resourceGroups/` in different places). A route names the
operation (for latency and faults), the RBAC action it needs and which plane it belongs to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import wraps
from typing import Any
from urllib.parse import parse_qsl

ARM, LOGIN, VAULT, IMDS = "arm", "login", "vault", "imds"
BATCH = "batch"  # the Batch service API of one Batch account (its own host:port, like a vault)


class ArmError(Exception):
    """An error answered with Azure's body shape: {"error": {"code", "message", ...}}."""

    def __init__(self, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None,
                 innererror: dict | None = None, details: list | None = None, body: dict | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})
        self.innererror, self.details, self.body = innererror, details, body

    def to_body(self) -> dict[str, Any]:
        if self.body is not None:
            return self.body
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        if self.innererror:
            error["innererror"] = self.innererror
        return {"error": error}


def not_found(resource_type: str, name: str, group: str | None) -> ArmError:
    where = f" under resource group '{group}'" if group else ""
    return ArmError(404, "ResourceNotFound",
                    f"The Resource '{resource_type}/{name}'{where} was not found. "
                    "For more details please go to https://aka.ms/ARMResourceNotFoundFix")


@dataclass
class Principal:
    """The authenticated caller, read from its verified token."""

    object_id: str
    app_id: str
    tenant_id: str
    audience: str
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes
    host: str = ""
    plane: str = ARM
    params: dict[str, str] = field(default_factory=dict)
    principal: Principal | None = None
    context: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # ARM treats an empty path segment as absent: `az container create -f` sends
        # `.../Microsoft.ContainerInstance//containerGroups/N` and Azure serves it as the single-slash path.
        if self.plane == ARM and "//" in self.path:
            self.path = re.sub(r"/{2,}", "/", self.path)

    @property
    def api_version(self) -> str:
        return self.query.get("api-version", "")

    def json(self) -> Any:
        if not self.body:
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: "
                           "the body is empty.")
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ArmError(400, "InvalidRequestContent",
                           f"The request content was invalid and could not be deserialized: '{exc}'.") from None

    def json_object(self) -> dict[str, Any]:
        value = self.json()
        if not isinstance(value, dict):
            raise ArmError(400, "InvalidRequestContent",
                           "The request content was invalid and could not be deserialized: expected a JSON object.")
        return value

    def header(self, name: str, default: str = "") -> str:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return default


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json; charset=utf-8"

    def payload(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        return json.dumps(self.body).encode()


Handler = Callable[[Any, Request], Response]
"""A provider function: (sandbox, request) -> response."""

_current: ContextVar[tuple[Any, Request] | None] = ContextVar("sandbox_current_request", default=None)


def current_call() -> tuple[Any, Request] | None:
    """(sandbox, request) of the handler running in this thread, if any: list helpers read the caller's paging
    parameters ($top, maxresults, $skiptoken) and build nextLinks from it without every handler passing them."""
    return _current.get()


def _bound(handler: Handler) -> Handler:
    @wraps(handler)
    def run(sb: Any, req: Request) -> Response:
        token = _current.set((sb, req))
        try:
            return handler(sb, req)
        finally:
            _current.reset(token)
    return run


@dataclass
class Route:
    method: str
    template: str
    pattern: re.Pattern
    handler: Handler
    operation: str
    plane: str
    action: str | Callable[[Request], str] | None
    scope: Callable[[Request], str] | None
    needs_api_version: bool
    authenticated: bool


def _compile(template: str) -> re.Pattern:
    out, pos = [], 0
    for m in re.finditer(r"\{(\w+)(:path)?\}", template):
        out.append(re.escape(template[pos:m.start()]))
        out.append(f"(?P<{m.group(1)}>.+?)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("^" + "".join(out) + "/?$", re.IGNORECASE)


class Router:
    """The route table. Providers register with `@router.route(...)`; first match wins."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(self, method: str, template: str, *, operation: str, plane: str = ARM,
              action: str | Callable[[Request], str] | None = None,
              scope: Callable[[Request], str] | None = None,
              needs_api_version: bool = True, authenticated: bool = True) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method.upper(), template, _compile(template), _bound(handler), operation, plane,
                                     action, scope, needs_api_version, authenticated))
            return handler
        return register

    def match(self, plane: str, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """Return (route, params, path_known). path_known is True when another method would match."""
        path_known = False
        for route in self.routes:
            if route.plane != plane:
                continue
            m = route.pattern.match(path)
            if not m:
                continue
            if route.method != method:
                path_known = True
                continue
            return route, m.groupdict(), True
        return None, {}, path_known


def parse_query(raw: str) -> dict[str, str]:
    # ARM query keys are case-insensitive (api-version, $filter, ...).
    return {k.lower(): v for k, v in parse_qsl(raw, keep_blank_values=True)}


router = Router()
"""The one route table every provider module registers into."""
