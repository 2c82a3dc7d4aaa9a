"""Capture: turn a setup made elsewhere (by hand, a template, another tool) into a spec that rebuilds its shape.

Given doctor's inputs, it reads (never writes) the identity, the vault and secret, the container group and the
extra grants, the Batch pool or the federated credentials (AKS or GitHub), runs doctor's checks without the live probe (a probe would write to the customer's subscription),
and writes a spec with the same kinds, access model, grant scope, roles and attachments. What doctor found broken
goes to the spec's `[reproduce]` table, which `apply --sandbox` rebuilds broken (wizard/reproduce.py).

Names that must not meet the original's are mapped: resource groups get a suffix (so a replay in the same
subscription never adopts, and then breaks, the original's resources), and so are vault and Batch account names,
which are global. mi-wizard creates neither Batch accounts nor AKS clusters: a captured Batch spec names the mapped
account (to be created before the replay), a captured AKS spec the original cluster by name and group (it is only
read: its OIDC issuer), each said in the notes.
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
ACCOUNT_SUFFIX = "rp"
ONE_TARGET = "capture one target at a time (a container group, a Batch pool, AKS or GitHub federation)"


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
    notes: list[str] = field(default_factory=list)
    """What the replay needs that the spec does not make (a Batch account, an AKS cluster)."""

    def to_dict(self) -> dict[str, Any]:
        return {"names": self.names, "findings": self.findings, "reproduce": self.spec.reproduce.broken(),
                "not_reproduced": self.not_reproduced, "notes": self.notes}


def mapped_group(name: str) -> str:
    return f"{name[:90 - len(GROUP_SUFFIX)]}{GROUP_SUFFIX}"


def mapped_vault(name: str) -> str:
    """A valid vault name of at most 24 characters that is not the original's (vault names are global)."""
    return f"{name[:24 - len(VAULT_SUFFIX)].rstrip('-')}{VAULT_SUFFIX}"


def mapped_account(name: str) -> str:
    """A valid Batch account name (3-24 lower-case letters and digits) that is not the original's (global)."""
    return f"{name[:24 - len(ACCOUNT_SUFFIX)]}{ACCOUNT_SUFFIX}"


def one_target_problem(target: Target) -> str:
    """Why the target's parts cannot make one spec target ("" when they can): a spec has one target."""
    feds = {f["kind"] for f in target.federations}
    parts = [p for p, given in (("--container-group", target.container_group_id), ("--pool", target.pool_id),
                                ("--federation aks:...", "aks" in feds), ("--federation github:...", "github" in feds))
             if given]
    if len(parts) > 1:
        return f"{' and '.join(parts)} make {len(parts)} targets and a spec has one: {ONE_TARGET}."
    if len([f for f in target.federations if f["kind"] == "aks"]) > 1:
        return f"several --federation aks:... make several AKS targets and a spec has one: {ONE_TARGET}."
    repos = {_github_repo(f["subject"]).lower() for f in target.federations if f["kind"] == "github"}
    if len(repos) > 1:
        return f"--federation github:... names {len(repos)} repositories and a GitHub target has one: {ONE_TARGET}."
    return ""


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
    elif target.pool_id:
        _capture_pool(clients, out, identity, target.pool_id, reproduce)
    elif target.federations:
        _capture_federations(clients, out, identity, target.federations, reproduce, broken)
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


def _capture_pool(clients: Any, out: Captured, identity: Any, pool_id: str, reproduce: ReproduceSpec) -> None:
    """A pool the spec creates (existing = false: a replay has no pool to adopt) with the original's VM size, image
    and node counts, in the mapped account; not attached on the original -> detached after the replay's apply."""
    from .targets.batch import BatchTarget
    where = scopes.parse(pool_id)
    account_name, pool_name = where.names[0], where.names[-1]
    same_group = where.resource_group.lower() == scopes.parse(identity.id).resource_group.lower()
    group = "" if same_group else _rename(out.names, "resource group", where.resource_group, mapped_group)
    account_new = _rename(out.names, "batch account", account_name, mapped_account)
    target = BatchTarget(account=account_new, pool=pool_name, existing=False, resource_group=group)
    out.spec.target = target
    account = _get(lambda: clients.batch.batch_account.get(where.resource_group, account_name))
    replay_group = group or out.spec.resource_group
    location = account.location if account is not None else out.spec.location
    out.notes.append(f"target.account: mi-wizard does not create Batch accounts; before the replay, create the "
                     f"group and the account (az group create -n {replay_group} -l {out.spec.location}; az batch "
                     f"account create -n {account_new} -g {replay_group} -l {location}).")
    pool = _get(lambda: clients.batch.pool.get(where.resource_group, account_name, pool_name))
    if pool is None:
        out.not_reproduced.append(f"attached: no Batch pool at {pool_id}; the spec makes a new one with the defaults.")
        return
    props = pool.properties
    target.vm_size = str(props.vm_size or target.vm_size)
    vm = getattr(props.deployment_configuration, "virtual_machine_configuration", None)
    if vm is not None:
        ref = vm.image_reference
        if ref is not None and ref.publisher and ref.offer and ref.sku:
            target.node_image = f"{ref.publisher}:{ref.offer}:{ref.sku}:{ref.version or 'latest'}"
        elif ref is not None:
            out.not_reproduced.append(f"target: pool {pool_name} boots a custom image ({ref.id}); the spec uses "
                                      f"{target.node_image}.")
        target.node_agent_sku = str(vm.node_agent_sku_id or target.node_agent_sku)
    fixed = getattr(props.scale_settings, "fixed_scale", None) if props.scale_settings else None
    if fixed is not None:
        target.dedicated_nodes = int(fixed.target_dedicated_nodes or 0)
        target.low_priority_nodes = int(fixed.target_low_priority_nodes or 0)
    else:
        target.dedicated_nodes = int(props.current_dedicated_nodes or 0)
        target.low_priority_nodes = int(props.current_low_priority_nodes or 0)
        out.not_reproduced.append(f"target: pool {pool_name} scales automatically; the spec uses a fixed scale of its "
                                  f"current nodes ({target.dedicated_nodes} dedicated, {target.low_priority_nodes} "
                                  "low-priority).")
    from .targets.batch_steps import pool_identity_ids
    attached = [i.lower() for i in pool_identity_ids(pool)]
    others = [i for i in attached if i != identity.id.lower()]
    if others:
        out.not_reproduced.append(f"target: pool {pool_name} carries {len(others)} other identit"
                                  f"{'ies' if len(others) > 1 else 'y'}; the replay's pool carries only the setup's.")
    if identity.id.lower() not in attached:
        reproduce.not_attached = True


def _github_repo(subject: str) -> str:
    """ORG/REPO of a GitHub subject (repo:ORG/REPO:...)."""
    return subject.split(":")[1] if subject.startswith("repo:") and subject.count(":") >= 2 else ""


def _github_credential(subject: str) -> Any:
    from .targets.github import GithubCredential
    rest = subject.split(":", 2)[2]
    if rest.startswith("ref:refs/heads/"):
        return GithubCredential(branch=rest.removeprefix("ref:refs/heads/"))
    if rest.startswith("ref:refs/tags/"):
        return GithubCredential(tag=rest.removeprefix("ref:refs/tags/"))
    if rest.startswith("environment:"):
        return GithubCredential(environment=rest.removeprefix("environment:"))
    return GithubCredential(pull_request=True)


def _capture_federations(clients: Any, out: Captured, identity: Any, feds: list[dict[str, Any]],
                         reproduce: ReproduceSpec, broken: set[str]) -> None:
    """The AKS or GitHub target the federations name (one_target_problem checked that they make one), with the
    credentials' names as on the identity; a credential missing there is deleted after the replay's apply."""
    from .targets.aks import AksTarget
    from .targets.github import GithubTarget
    who = scopes.parse(identity.id)
    on_identity = {c.subject: c for c in clients.msi.federated_identity_credentials.list(who.resource_group, who.name)}
    if feds[0]["kind"] == "aks":
        fed = feds[0]
        cluster = scopes.parse(fed["cluster_id"])
        namespace, account = fed["subject"].split(":")[2:4]
        found = on_identity.get(fed["subject"])
        aks = AksTarget(cluster=cluster.name, resource_group=cluster.resource_group, namespace=namespace,
                        service_account=account, credential_name=str(found.name) if found is not None else "")
        out.spec.target = aks
        if found is None:
            reproduce.missing_credentials = [aks.name]
        out.notes.append(f"target.cluster: mi-wizard does not create AKS clusters; the spec refers to the original "
                         f"cluster {cluster.name} in {cluster.resource_group} as is (the replay only reads its OIDC "
                         "issuer). It must exist in the subscription the replay runs in (the sandbox's demo seed "
                         "has aks-apps in rg-aks-apps).")
        if cluster.subscription.lower() != who.subscription.lower():
            out.not_reproduced.append(f"target: cluster {cluster.name} is in subscription {cluster.subscription}, "
                                      "not the identity's; the spec looks for it in the identity's.")
        if any(n.startswith(f"cluster:{cluster.name}") for n in broken):
            out.not_reproduced.append(f"cluster:{cluster.name}: the cluster is referred to, not made: its state is "
                                      "whatever it is where the replay runs.")
    else:
        repository = _github_repo(feds[0]["subject"])
        github = GithubTarget(repository=repository)
        for fed in feds:
            credential = _github_credential(fed["subject"])
            found = on_identity.get(fed["subject"])
            if found is not None:
                credential.name = str(found.name)
            else:
                reproduce.missing_credentials.append(credential.credential_name(github.repository))
            github.credentials.append(credential)
        out.spec.target = github
    for fed in feds:
        label = f"federation:{fed['subject']}"
        if label in broken and fed["subject"] in on_identity:
            out.not_reproduced.append(f"{label}: the credential exists with another issuer or audience; the replay "
                                      "makes it right (not rebuilt wrong).")
