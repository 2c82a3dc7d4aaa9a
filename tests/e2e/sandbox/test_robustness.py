"""Bad input never crashes the sandbox or leaks a stack trace: every route, fed malformed requests, answers an
Azure-shaped error (or success), never 500 InternalServerError."""

from __future__ import annotations

import json
import re
import ssl
import urllib.error
import urllib.request

import pytest

from wizard.sandbox.router import ARM, VAULT, router

BODIES = [b"", b"{", b"[]", b"null", b'{"properties": 5}', b'{"location": 5, "properties": {"x": []}}',
          b'{"properties": {"accessPolicies": "nope", "sku": 3}}', b'{"value": 12}']


def _fill(template: str, sub: str) -> str:
    values = {"sub": sub, "rg": "rg-prefect-demo", "scope": f"subscriptions/{sub}"}
    return re.sub(r"\{(\w+)(:path)?\}", lambda m: values.get(m.group(1), "x-" + m.group(1).lower()), template)


def _send(url: str, method: str, body: bytes, token: str, ca: str) -> tuple[int, bytes]:
    req = urllib.request.Request(url, method=method, data=body if method not in ("GET", "HEAD", "DELETE") else None,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ssl.create_default_context(cafile=ca), timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.mark.parametrize("plane", [ARM, VAULT])
def test_every_route_survives_malformed_requests(sandbox, credential, sub_id, plane):
    scope = "https://vault.azure.net/.default" if plane == VAULT else "https://management.azure.com/.default"
    token = credential.get_token(scope).token
    base = sandbox.vault_url("kv-legacy-ap").rstrip("/") if plane == VAULT else sandbox.arm_url
    failures = []
    routes = [r for r in router.routes if r.plane == plane]
    assert routes
    for route in routes:
        path = _fill(route.template, sub_id)
        for body in BODIES if route.method in ("PUT", "POST", "PATCH") else [b""]:
            status, payload = _send(f"{base}{path}?api-version=2026-05-15", route.method, body, token,
                                    str(sandbox.ca_path))
            if status >= 500:
                failures.append((route.method, route.template, body, status, payload[:200]))
            elif payload and status >= 400 and route.method != "HEAD":
                error = json.loads(payload)
                assert "error" in error or "code" in error, (route.template, payload[:200])
                assert "Traceback" not in payload.decode()
    assert failures == []
    # Still healthy afterwards.
    assert _send(f"{sandbox.arm_url}/subscriptions/{sub_id}/resourcegroups?api-version=2025-04-01", "GET", b"",
                 credential.get_token("https://management.azure.com/.default").token, str(sandbox.ca_path))[0] == 200
