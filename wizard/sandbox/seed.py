"""Seeds: `empty` (one subscription, the operators) and `demo` (a small, realistic tenant)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .arm import SUBSCRIPTION, put, rg_id
from .authz import ROLE_ASSIGNMENT

if TYPE_CHECKING:
    from .app import Sandbox

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"

DEMO_GROUPS = [("rg-prefect-demo", "eastus"), ("rg-batch-jobs", "westeurope"), ("rg-shared-secrets", "eastus"),
               ("rg-platform", "northeurope"), ("rg-aks-apps", "westus2")]

# Providers add their demo objects (Batch account and pool, a running container group, soft-deleted and
# taken vault names) by registering here; each runs after the tenant, groups and operators exist.
demo_seeders: list[Callable[[Sandbox], None]] = []


def add_subscription(sb: Sandbox, sub_id: str, name: str) -> None:
    sb.store.put(SUBSCRIPTION, sub_id, {
        "id": f"/subscriptions/{sub_id}", "subscriptionId": sub_id, "tenantId": sb.tenant_id, "displayName": name,
        "state": "Enabled", "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01",
                                                     "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
        "authorizationSource": "RoleBased", "managedByTenants": [], "tags": {}})


def add_group(sb: Sandbox, sub_id: str, name: str, location: str) -> None:
    from .providers.resources import RG_TYPE
    put(sb, {"id": rg_id(sub_id, name), "name": name, "type": RG_TYPE, "location": location, "tags": {},
             "properties": {"provisioningState": "Succeeded"}})


def assign(sb: Sandbox, scope: str, role_guid: str, principal_id: str, name: str,
           principal_type: str = "ServicePrincipal") -> None:
    from .app import stable_id
    ra_name = stable_id(name)
    sub = scope.split("/")[2]
    sb.store.put(ROLE_ASSIGNMENT, ra_name, {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{ra_name}", "name": ra_name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {"roleDefinitionId": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}",
                       "principalId": principal_id, "principalType": principal_type, "scope": scope,
                       "createdOn": "2025-01-01T00:00:00.0000000Z", "updatedOn": "2025-01-01T00:00:00.0000000Z",
                       "createdBy": None, "updatedBy": None, "condition": None, "conditionVersion": None},
        "_sandbox": {"created": 0.0}})


def seed(sb: Sandbox, name: str) -> None:
    from .app import stable_id
    if name not in ("demo", "empty"):
        raise ValueError(f"unknown seed {name!r}: use 'demo' or 'empty'")
    subs = [(stable_id("sub:dev"), "Contoso Dev")]
    if name == "demo":
        subs.append((stable_id("sub:prod"), "Contoso Prod"))
    operator = sb.add_operator("operator", "mi-wizard operator (Owner)")
    contributor = sb.add_operator("contributor", "mi-wizard operator (Contributor only)")
    for sub_id, display in subs:
        add_subscription(sb, sub_id, display)
        assign(sb, f"/subscriptions/{sub_id}", OWNER, operator["objectId"], f"owner:{sub_id}")
        assign(sb, f"/subscriptions/{sub_id}", CONTRIBUTOR, contributor["objectId"], f"contrib:{sub_id}")
    if name == "demo":
        for group, location in DEMO_GROUPS:
            add_group(sb, subs[0][0], group, location)
        add_group(sb, subs[1][0], "rg-prod-workloads", "eastus2")
        add_group(sb, subs[1][0], "rg-prod-secrets", "eastus2")
        for seeder in demo_seeders:
            seeder(sb)
    sb.store.put("meta", "seeded_at", {"at": time.time()})
