"""After a normal apply on the sandbox, break the links a captured spec's `[reproduce]` table names.

The setup is made working first (every step as usual, so a later apply without the table repairs it), then,
through the same SDK clients:
- grant_missing: the role assignments (or the access policy) that let the identity read the secret are removed;
- not_attached: the container group is re-deployed without the identity, or the Batch pool's identity map is
  PATCHed without it (If-Match on the pool's ETag, the pool's other identities kept);
- wrong_client_id: the group is re-deployed with AZURE_CLIENT_ID set to a decoy identity's client id (the decoy
  attached beside the identity), or to a client id that names nothing;
- secret_disabled: a disabled version of the secret is written through ARM (the value read from the same
  source as the secret step's);
- missing_credentials: the named federated credentials of an AKS or GitHub target are deleted from the identity.
Workspace.apply calls it only when the table is not empty; the preflight refuses the table off the sandbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .progress import StepMessage

if TYPE_CHECKING:
    from .engine import Engine
    from .secrets import SecretSource
    from .state import State

STEP = "reproduce"


def break_links(engine: Engine, secret_source: SecretSource | None) -> State:
    """Break what `engine.spec.reproduce` names; returns the state (unchanged: the breaking is not a step)."""
    r = engine.spec.reproduce
    state = engine.open_state()
    identity = state.step("identity").outputs
    if r.grant_missing:
        _remove_grant(engine, identity)
    if r.not_attached and engine.spec.target.kind == "batch":
        _detach_from_pool(engine, identity)
    elif r.not_attached or r.wrong_client_id:
        _redeploy_group(engine, identity)
    for name in r.missing_credentials:
        _say(engine, f"Reproducing: deleting federated credential {name} from {identity['name']}")
        engine.clients.msi.federated_identity_credentials.delete(engine.spec.identity_group, identity["name"], name)
    if r.secret_disabled:
        _disable_secret(engine, secret_source)
    engine.reads_fresh = False  # what the plan read no longer holds: the verification reads Azure again
    return state


def _say(engine: Engine, text: str) -> None:
    engine.sink(StepMessage(step=STEP, text=text))


def _remove_grant(engine: Engine, identity: dict[str, Any]) -> None:
    from .azure import roles
    from .azure.access import grants_for
    from .steps.grant import secret_scope
    spec, clients = engine.spec, engine.clients
    vault = clients.keyvault.vaults.get(spec.vault_group, spec.vault.name)
    if vault.properties.enable_rbac_authorization:
        scope = secret_scope(vault.id, spec.secret.name)
        for grant in grants_for(clients, identity["principal_id"], roles.GET_SECRET, scope, data=True):
            _say(engine, f"Reproducing: deleting {grant.role_name} at {grant.scope}")
            clients.authorization.role_assignments.delete_by_id(grant.assignment_id)
        return
    _say(engine, f"Reproducing: removing {identity['name']}'s access policy from {vault.name}")
    clients.keyvault.vaults.update_access_policy(
        spec.vault_group, spec.vault.name, "remove",
        {"properties": {"accessPolicies": [{"tenantId": identity["tenant_id"], "objectId": identity["principal_id"],
                                            "permissions": {"secrets": []}}]}})


def _redeploy_group(engine: Engine, identity: dict[str, Any]) -> None:
    from azure.mgmt.containerinstance import models as m

    from .spec_reproduce import WRONG_CLIENT_ID
    from .targets.aci import CLIENT_ID_ENV, aci_target
    spec, clients = engine.spec, engine.clients
    r, target = spec.reproduce, aci_target(spec)
    aci = clients.aci.container_groups
    group = m.ContainerGroup.from_dict(aci.get(spec.target_group, target.container_group).as_dict())
    current = group.identity
    ids = {k: m.UserAssignedIdentities() for k in ((current.user_assigned_identities or {}) if current else {})}
    wanted_client_id = identity["client_id"]
    if r.not_attached:
        ids = {k: v for k, v in ids.items() if k.lower() != identity["id"].lower()}
        _say(engine, f"Reproducing: re-deploying {group.name} without {identity['name']}")
    else:
        wanted_client_id = WRONG_CLIENT_ID
        if r.decoy_identity:
            decoy = clients.msi.user_assigned_identities.create_or_update(
                spec.identity_group, r.decoy_identity, {"location": spec.location,
                                                        "tags": {"created-by": "mi-wizard", "reproduce": spec.name}})
            ids[decoy.id] = m.UserAssignedIdentities()
            wanted_client_id = decoy.client_id
        _say(engine, f"Reproducing: re-deploying {group.name} with {CLIENT_ID_ENV}={wanted_client_id}")
    system = current is not None and "SystemAssigned" in (current.type or "")
    if ids:
        group.identity = m.ContainerGroupIdentity(type="SystemAssigned, UserAssigned" if system else "UserAssigned",
                                                  user_assigned_identities=ids)
    else:
        group.identity = m.ContainerGroupIdentity(type="SystemAssigned") if system else None
    for container in group.containers:
        env = [v for v in (container.environment_variables or []) if v.name != CLIENT_ID_ENV]
        if not r.not_attached:
            env.append(m.EnvironmentVariable(name=CLIENT_ID_ENV, value=wanted_client_id))
        container.environment_variables = env
        container.instance_view = None
    group.instance_view = None
    aci.begin_create_or_update(spec.target_group, target.container_group, group).result()


def _detach_from_pool(engine: Engine, identity: dict[str, Any]) -> None:
    from azure.core import MatchConditions

    from .targets.batch import batch_target
    from .targets.batch_steps import get_pool, pool_identity_ids
    spec, clients = engine.spec, engine.clients
    target = batch_target(spec)
    pool, etag = get_pool(clients, spec.target_group, target.account, target.pool)
    if pool is None:
        return
    others = [i for i in pool_identity_ids(pool) if i.lower() != identity["id"].lower()]
    _say(engine, f"Reproducing: removing {identity['name']} from pool {target.pool}'s identity map")
    wanted = {"identity": {"type": "UserAssigned", "userAssignedIdentities": {i: {} for i in others}}
              if others else {"type": "None"}}
    clients.batch.pool.update(spec.target_group, target.account, target.pool, wanted, etag=etag,
                              match_condition=MatchConditions.IfNotModified)


def _disable_secret(engine: Engine, secret_source: SecretSource | None) -> None:
    spec, clients = engine.spec, engine.clients
    _say(engine, f"Reproducing: disabling {spec.secret.name}")
    if secret_source is not None:
        # A new version, disabled, through ARM (Contributor is enough, as for the secret step itself).
        clients.keyvault.secrets.create_or_update(
            spec.vault_group, spec.vault.name, spec.secret.name,
            {"properties": {"value": secret_source.read(), "attributes": {"enabled": False}}})
        return
    vault = clients.keyvault.vaults.get(spec.vault_group, spec.vault.name)
    clients.secrets(vault.properties.vault_uri).update_secret_properties(spec.secret.name, enabled=False)
