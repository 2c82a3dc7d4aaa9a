"""Capture: turn a setup made elsewhere (by hand, a template, another tool) into a spec that rebuilds its shape.

Given doctor's inputs, it reads (never writes) the identity, the vault and secret, the container group and the
extra grants, runs doctor's checks without the live probe (a probe would write to the customer's subscription),
and writes a spec with the same kinds, access model, grant scope, roles and attachments. What doctor found broken
goes to the spec's `[reproduce]` table, which `apply --sandbox` rebuilds broken (wizard/reproduce.py).

Names that must not meet the original's are mapped: resource groups get a suffix (so a replay in the same
subscription never adopts, and then breaks, the original's resources) and vault names, which are global, too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .azure import scopes
from .spec import IdentitySpec, SecretSpec, Spec, VaultSpec
from .spec_reproduce import ReproduceSpec
from .spec_workloads import ExtraGrantSpec
from .targets.aci import CLIENT_ID_ENV, AciTarget, attached_ids, client_id_env
from .targets.no_target import NoTarget

if TYPE_CHECKING:
    from .verify import Report, Target

GROUP_SUFFIX = "-repro"
VAULT_SUFFIX = "-rp"


class CaptureError(ValueError):
    """Nothing can be captured (the identity is gone, a part is of a kind capture does not cover)."""


@dataclass
class Captured:
    spec: Spec
    names: dict[str, str] = field(default_factory=dict)
    """Original name -> the name in the spec, for each renamed resource ("vault kv-x" -> "kv-x-rp")."""
    findings: list[dict[str, Any]] = field(default_factory=list)
    """Doctor's broken links on the original (link, detail)."""
    not_reproduced: list[str] = field(default_factory=list)
    """Findings the spec cannot rebuild broken, and parts left out, each saying why."""

    def to_dict(self) -> dict[str, Any]:
        return {"names": self.names, "findings": self.findings, "reproduce": self.spec.reproduce.broken(),
                "not_reproduced": self.not_reproduced}


def mapped_group(name: str) -> str:
    return f"{name[:90 - len(GROUP_SUFFIX)]}{GROUP_SUFFIX}"


def mapped_vault(name: str) -> str:
    """A valid vault name of at most 24 characters that is not the original's (vault names are global)."""
    return f"{name[:24 - len(VAULT_SUFFIX)].rstrip('-')}{VAULT_SUFFIX}"


def capture(clients: Any, target: Target, report: Report, *, name: str) -> Captured:
    """The spec for the setup `target` names, as `clients` (its subscription's) read it; `report`: doctor's
    links on it, checked without the probe."""
    identity_at = scopes.parse(target.identity_id)
    identity = _get(lambda: clients.msi.user_assigned_identities.get(identity_at.resource_group, identity_at.name))
    if identity is None:
        raise CaptureError(f"No identity at {target.identity_id}: there is nothing to capture. Fix the id.")
    out = Captured(Spec(name=name, subscription=identity_at.subscription, location=str(identity.location),
                        identity=IdentitySpec(name=str(identity.name))))
    out.spec.resource_group = _rename(out.names, "resource group", identity_at.resource_group, mapped_group)
    out.findings = [{"link": link.name, "detail": link.detail} for link in report.links if not link.ok]
    reproduce = ReproduceSpec()
    broken = {link.name for link in report.links if not link.ok}
    if target.vault_name:
        _capture_vault(clients, out, identity, target, reproduce, broken)
    if target.container_group_id:
        _capture_group(clients, out, identity, target.container_group_id, reproduce)
    else:
        out.spec.target = NoTarget()
    for grant in target.grants:
        out.spec.grant_extra.append(ExtraGrantSpec(role=grant["role"], scope=grant["scope"], allow_any_role=True,
                                                   note="captured"))
        label = next((n for n in broken if n.startswith(f"grant_extra:{grant['role']}@")), None)
        if label:
            out.not_reproduced.append(f"{label}: a missing extra grant is made on the replay (not rebuilt missing).")
    if "identity" in broken:
        out.not_reproduced.append("identity: the identity is missing; there is nothing to rebuild.")
    out.spec.reproduce = reproduce
    return out


def _get(read: Any) -> Any:
    from .steps.base import not_found_is_none
    return not_found_is_none(read)


def _enum_text(value: Any, default: str) -> str:
    """An SDK enum's value (str() of one is "SkuName.STANDARD"), or the text, or `default`."""
    return str(getattr(value, "value", value) or default)


def _rename(names: dict[str, str], kind: str, original: str, mapping: Any) -> str:
    new: str = mapping(original)
    names[f"{kind} {original}"] = new
    return new


def _capture_vault(clients: Any, out: Captured, identity: Any, target: Target, reproduce: ReproduceSpec,
                   broken: set[str]) -> None:
    from .steps.grant import secret_scope
    found = [v for v in clients.keyvault.vaults.list_by_subscription() if v.name.lower() == target.vault_name.lower()]
    if not found:
        out.not_reproduced.append(f"vault: no vault named {target.vault_name} in the subscription; the spec makes one.")
        out.spec.vault = VaultSpec(name=_rename(out.names, "vault", target.vault_name, mapped_vault))
        out.spec.secret = SecretSpec(name=target.secret_name)
        return
    vault = clients.keyvault.vaults.get(scopes.parse(found[0].id).resource_group, found[0].name)
    where = scopes.parse(vault.id)
    props = vault.properties
    rbac = bool(props.enable_rbac_authorization)
    group = "" if where.resource_group.lower() == scopes.parse(identity.id).resource_group.lower() else \
        _rename(out.names, "resource group", where.resource_group, mapped_group)
    out.spec.vault = VaultSpec(name=_rename(out.names, "vault", vault.name, mapped_vault), resource_group=group,
                               access_model="rbac" if rbac else "access_policy",
                               sku=_enum_text(getattr(props.sku, "name", None), "standard").lower(),
                               purge_protection=bool(props.enable_purge_protection))
    secret = _get(lambda: clients.keyvault.secrets.get(where.resource_group, vault.name, target.secret_name))
    content_type = str(getattr(secret.properties, "content_type", "") or "") if secret is not None else ""
    out.spec.secret = SecretSpec(name=target.secret_name, content_type=content_type)
    if rbac:
        from .azure import roles
        from .azure.access import grants_for
        grants = grants_for(clients, identity.principal_id, roles.GET_SECRET, secret_scope(vault.id, target.secret_name),
                            data=True)
        at_secret = any(g.scope.lower().rstrip("/").endswith(f"/secrets/{target.secret_name.lower()}") for g in grants)
        out.spec.grant.scope = "secret" if at_secret or not grants else "vault"
    else:
        out.spec.grant.scope = "vault"
        policy = next((p for p in props.access_policies or [] if p.object_id.lower() == identity.principal_id.lower()),
                      None)
        out.spec.grant.allow_list = policy is not None and "list" in {s.lower() for s in policy.permissions.secrets or []}
    reproduce.grant_missing = "grant" in broken
    if "secret" in broken:
        if secret is not None:
            reproduce.secret_disabled = True
        else:
            out.not_reproduced.append(f"secret: {target.secret_name} is missing on the original; the replay makes it "
                                      "(a missing secret is not rebuilt).")


def _capture_group(clients: Any, out: Captured, identity: Any, group_id: str, reproduce: ReproduceSpec) -> None:
    where = scopes.parse(group_id)
    group = _get(lambda: clients.aci.container_groups.get(where.resource_group, where.name))
    if group is None:
        out.not_reproduced.append(f"attached: no container group at {group_id}; the spec makes a new one.")
        out.spec.target = AciTarget(container_group=where.name)
        return
    first = group.containers[0]
    requests = first.resources.requests
    env = {v.name: v.value for v in first.environment_variables or [] if v.name != CLIENT_ID_ENV and v.value is not None}
    secure = [v.name for v in first.environment_variables or [] if v.value is None]
    same_group = where.resource_group.lower() == scopes.parse(identity.id).resource_group.lower()
    out.spec.target = AciTarget(
        container_group=group.name, image=str(first.image), command=list(first.command or []),
        cpu=float(requests.cpu), memory_gb=float(requests.memory_in_gb),
        restart_policy=_enum_text(group.restart_policy, "Always"), environment=env,
        resource_group="" if same_group else _rename(out.names, "resource group", where.resource_group, mapped_group))
    if len(group.containers) > 1:
        out.not_reproduced.append(f"target: {group.name} runs {len(group.containers)} containers; the spec makes "
                                  f"one ({first.name}).")
    if secure:
        out.not_reproduced.append(f"target: secure environment variables ({', '.join(secure)}) are never returned by "
                                  "Azure and are left out.")
    attached = attached_ids(group)
    if identity.id.lower() not in attached:
        reproduce.not_attached = True
        return
    envs = {client_id_env(c) for c in group.containers}
    if envs != {identity.client_id}:
        reproduce.wrong_client_id = True
        others = [rid for rid in attached if rid != identity.id.lower()]
        if others:
            reproduce.decoy_identity = f"{str(identity.name)[:120]}-decoy"
