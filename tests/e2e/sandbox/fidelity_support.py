"""The machinery of test_fidelity.py: JSON shapes and their differences, raw HTTPS replay against a sandbox with a
real token, prerequisites made through the SDK, and the registry of example cases."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from wizard.azure.clients import AzureClients

ARM_SCOPE, VAULT_SCOPE = "https://management.azure.com/.default", "https://vault.azure.net/.default"
BATCH_SCOPE = "https://batch.core.windows.net//.default"


# ---- shapes ------------------------------------------------------------------------------------------------
MAPS = {"tags", "userAssignedIdentities", "secret", "metadata"}
"""Objects whose keys are data, not structure (tag names, identity ids, secret volume files, log metadata)."""


def shape(value: Any, key: str = "") -> Any:
    """JSON -> its structure: objects keep their keys, lists the merged shape of their items, scalars a type name.
    A map (MAPS) becomes a one-item list of its values' merged shape, so its keys do not count."""
    if isinstance(value, dict) and key in MAPS:
        return shape(list(value.values()))
    if isinstance(value, dict):
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        merged = None
        for item in value:
            merged = _merge(merged, shape(item))
        return [merged] if value else []
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "null" if value is None else "string"


def _merge(a: Any, b: Any) -> Any:
    """One shape for two list items: the union of their keys (an item lacking a key does not remove it)."""
    if a is None or b is None:
        return b if a is None else a
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _merge(a.get(k), b.get(k)) for k in {**a, **b}}
    if isinstance(a, list) and isinstance(b, list):
        return [_merge(a[0] if a else None, b[0] if b else None)] if (a or b) else []
    return a if a == b else "|".join(sorted({str(a), str(b)}))


def differences(expected: Any, actual: Any, path: str = "") -> set[str]:
    """'missing P' (the example has it, the sandbox not), 'extra P' (the reverse), 'type P: a != b'."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = {f"missing {_join(path, k)}" for k in expected.keys() - actual.keys()}
        out |= {f"extra {_join(path, k)}" for k in actual.keys() - expected.keys()}
        for key in expected.keys() & actual.keys():
            out |= differences(expected[key], actual[key], _join(path, key))
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        # An empty list has no item shape to compare with (e.g. "command": []).
        return differences(expected[0], actual[0], path + "[]") if expected and actual else set()
    if expected != actual:
        return {f"type {path or '<body>'}: {_kind(expected)} != {_kind(actual)}"}
    return set()


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(s: Any) -> str:
    return "object" if isinstance(s, dict) else "array" if isinstance(s, list) else str(s)


# ---- talking to the sandbox --------------------------------------------------------------------------------
@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass
class Env:
    """The module's sandbox, SDK clients signed in as the Owner operator, and raw HTTPS replay."""

    sandbox: Any
    az: AzureClients
    credential: Any
    sub: str
    made: set[str] = field(default_factory=set)

    def _send(self, url: str, method: str, body: Any, scope: str) -> Reply:
        ctx = ssl.create_default_context(cafile=str(self.sandbox.ca_path))
        # A POST without a body still states its length (0), as the SDKs send it.
        data = (b"" if method == "POST" else None) if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, method=method, data=data, headers={
            "Authorization": "Bearer " + self.credential.get_token(scope).token,
            "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=ctx) as resp:
                return Reply(resp.status, dict(resp.headers), resp.read())
        except urllib.error.HTTPError as err:
            return Reply(err.code, dict(err.headers), err.read())

    def arm(self, method: str, path: str, example: dict, body: Any = None, query: str = "") -> Reply:
        """Replay on ARM with the example's own api-version."""
        return self._send(f"{self.sandbox.arm_url}{path}?api-version={example['parameters']['api-version']}{query}",
                          method, body, ARM_SCOPE)

    def batch(self, account_id: str, method: str, path: str, example: dict, body: Any = None) -> Reply:
        """Replay on a Batch account's own endpoint (the Batch service API), as BatchClient calls it."""
        base = self.sandbox.batch_url(account_id).rstrip("/")
        return self._send(f"{base}{path}?api-version={example['parameters']['api-version']}", method, body,
                          BATCH_SCOPE)

    def sub_path(self, rest: str) -> str:
        return f"/subscriptions/{self.sub}{rest}"

    def vault(self, vault_name: str, method: str, path: str, example: dict, body: Any = None) -> Reply:
        base = self.sandbox.vault_url(vault_name).rstrip("/")
        return self._send(f"{base}{path}?api-version={example['parameters']['api-version']}", method, body,
                          VAULT_SCOPE)

    # prerequisites, made once per module through the SDK -------------------------------------------------
    def group(self, name: str, location: str = "eastus") -> str:
        if name not in self.made:
            self.az.resources.resource_groups.create_or_update(name, {"location": location})
            self.made.add(name)
        return name

    def identity(self, group: str, name: str, location: str = "eastus", tags: dict | None = None) -> Any:
        self.group(group, location)
        return self.az.msi.user_assigned_identities.create_or_update(group, name, {"location": location,
                                                                                  "tags": tags or {}})

    def vault_resource(self, group: str, name: str, location: str, properties: dict) -> Any:
        self.group(group, location)
        props = {"tenantId": self.sandbox.tenant_id, "sku": {"family": "A", "name": "standard"}, **properties}
        return self.az.keyvault.vaults.begin_create_or_update(group, name, {"location": location,
                                                                           "properties": props}).result()

    def grant(self, scope: str, role: str, principal_id: str) -> None:
        self.az.authorization.role_assignments.create(scope, str(uuid.uuid4()), {"properties": {
            "roleDefinitionId": f"/subscriptions/{self.sub}/providers/Microsoft.Authorization/roleDefinitions/{role}",
            "principalId": principal_id, "principalType": "ServicePrincipal"}})

    @property
    def operator_id(self) -> str:
        return self.sandbox.operator()["objectId"]


@contextmanager
def lro_seconds(env: Env, operation: str, seconds: float) -> Iterator[None]:
    """Make `operation` a long-running one for the duration of a block (the sandbox is shared by the module)."""
    env.sandbox.realism.lro_seconds[operation] = seconds
    try:
        yield
    finally:
        env.sandbox.realism.lro_seconds.pop(operation, None)


# ---- cases ----------------------------------------------------------------------------------------------------
Exchange = tuple[str, Reply]
"""(the example's response key, e.g. "201", the sandbox's reply to the replayed request)."""


@dataclass
class Case:
    file: str
    run: Callable[[Env, dict], list[Exchange]]
    allowed: dict[str, str] = field(default_factory=dict)
    """Difference ('missing P', 'extra P') -> why it is legitimate."""


CASES: list[Case] = []


def case(file: str, allowed: dict[str, str] | None = None) -> Callable:
    """Register `fn(env, example) -> [(status key, reply), ...]` for one example file."""
    def register(fn: Callable) -> Callable:
        CASES.append(Case(file, fn, dict(allowed or {})))
        return fn
    return register


def listed(allowed: dict[str, str]) -> dict[str, str]:
    """The same allowances for the items of a list answer ("extra tags" -> "extra value[].tags")."""
    return {f"{d.split(' ', 1)[0]} value[].{d.split(' ', 1)[1]}": why for d, why in allowed.items()}


def placeholder_links(body: Any, arm_url: str) -> list[str]:
    """nextLinks that are not real sandbox URLs (the SDK would follow them)."""
    if isinstance(body, dict):
        link = body.get("nextLink")
        bad = [link] if link is not None and not str(link).startswith(arm_url + "/") else []
        return bad + [found for v in body.values() for found in placeholder_links(v, arm_url)]
    if isinstance(body, list):
        return [found for v in body for found in placeholder_links(v, arm_url)]
    return []
