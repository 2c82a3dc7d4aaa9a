"""The federation and extra-grant links of the chain.

federation:NAME  a credential on the identity trusts exactly the expected issuer, subject and audience (for
                 AKS the issuer is the cluster's current one: a re-created cluster has a new issuer);
cluster:NAME     the AKS cluster exists, has an OIDC issuer and workload identity enabled;
grant_extra:ROLE@RESOURCE  the identity holds the role (or a broader one) at the resource, and it counts there
                 (Key Vault roles do nothing on an access-policy vault).
"""

from __future__ import annotations

from typing import Any

from .azure import roles, scopes
from .azure.access import Grant, assignments_covering, grants_for, role_definition
from .steps.federation import CLUSTER_TYPE, cluster_facts, read_cluster
from .verify import Checker, Link

CLUSTER_FORM = ("an AKS cluster's resource id (/subscriptions/SUB/resourceGroups/RG/providers/"
                "Microsoft.ContainerService/managedClusters/NAME)")


def check_federation(checker: Checker, identity: Any, fed: dict[str, Any]) -> None:
    expected_issuer = fed.get("issuer", "")
    cluster = None
    cluster_id = fed.get("cluster_id") or ""
    label = f"federation:{fed.get('name') or fed['subject']}"
    if cluster_id:
        try:
            where = scopes.parse_as(cluster_id, CLUSTER_TYPE, CLUSTER_FORM)
        except ValueError as err:
            checker.add(Link(label, False, str(err), "Give the cluster's resource id."))
            return
        cluster = read_cluster(checker.clients.for_subscription(where.subscription), cluster_id)
        facts = cluster_facts(cluster)
        expected_issuer = facts["issuer"] or expected_issuer
    # The identity as Azure returned it: its id is well-formed.
    who = scopes.parse(identity.id)
    credentials = list(checker.clients.for_subscription(who.subscription).msi.federated_identity_credentials.list(
        who.resource_group, who.name))
    matching = [c for c in credentials if c.subject == fed["subject"]]
    if not matching:
        from .targets.github_repo import name_form
        # GitHub's two subject forms (with and without the ids) of one repository: a repository emits only one.
        twin = next((c for c in credentials if fed["subject"].startswith("repo:") and c.subject != fed["subject"]
                     and name_form(c.subject) == name_form(fed["subject"])), None)
        form = (f" ({twin.name} trusts {twin.subject}, the other form of GitHub's subject: a repository's tokens "
                "carry only one form)") if twin is not None else ""
        checker.add(Link(label, False, f"No federated credential on {identity.name} trusts the subject "
                                       f"{fed['subject']}{form}: that workload cannot sign in as the identity.",
                         "Add it (resume the setup, or az identity federated-credential create --issuer ... "
                         f"--subject '{fed['subject']}')."))
    else:
        right = [c for c in matching if c.issuer.rstrip("/") == expected_issuer.rstrip("/")]
        if not right:
            checker.add(Link(label, False, f"{matching[0].name} trusts {fed['subject']} from issuer "
                                           f"{matching[0].issuer}, but the tokens come from {expected_issuer}"
                                           + (" (the cluster's issuer: was it re-created?)." if cluster_id else "."),
                             "Update the credential's issuer (resume the setup re-writes it)."))
        elif list(right[0].audiences or []) != [audience := expected_audience(checker, fed)]:
            checker.add(Link(label, False, f"{right[0].name} expects audience {', '.join(right[0].audiences or [])}, "
                                           f"not {audience}: token exchange fails.",
                             f"Set the credential's audience to {audience}{_whose(audience)}: resume the setup, or "
                             f"az identity federated-credential update -g {who.resource_group} --identity-name "
                             f"{who.name} -n {right[0].name} --audiences {audience}"))
        else:
            checker.add(Link(label, True, f"{right[0].name} trusts {fed['subject']} from {expected_issuer}."))
    if cluster_id:
        check_cluster(checker, cluster_id, cluster)


def expected_audience(checker: Checker, fed: dict[str, Any]) -> str:
    """The audience the workload's tokens carry: the federation's own (a setup's, written per cloud; doctor's, from
    --cloud), else the cloud's token-exchange audience (wizard/azure/clouds.py cites Microsoft's list)."""
    return str(fed.get("audience") or checker.clients.profile.token_exchange_audience)


def _whose(audience: str) -> str:
    from .azure.clouds import by_audience
    cloud = by_audience(audience)
    return f", the token-exchange audience of {cloud.title}" if cloud is not None else ""


def check_cluster(checker: Checker, cluster_id: str, cluster: Any) -> None:
    where = scopes.parse(cluster_id)  # checked by check_federation
    name, rg = where.name, where.resource_group
    if cluster is None:
        checker.add(Link(f"cluster:{name}", False, f"No AKS cluster at {cluster_id}.",
                         "Fix the cluster name or group; for a new cluster, run apply again for its issuer."))
        return
    facts = cluster_facts(cluster)
    enable = f"az aks update -g {rg} -n {name} --enable-oidc-issuer --enable-workload-identity"
    if not facts["issuer"] or not facts["oidc_enabled"]:
        checker.add(Link(f"cluster:{name}", False, f"Cluster {name} has no OIDC issuer: it issues no tokens "
                                                   "Entra ID can trust.", enable))
    elif not facts["workload_identity"]:
        checker.add(Link(f"cluster:{name}", False, f"Workload identity is not enabled on {name}: pods get no "
                                                   "projected token or AZURE_* variables.", enable))
    else:
        checker.add(Link(f"cluster:{name}", True, f"{name} has an OIDC issuer and workload identity enabled."))


def extra_grant_label(grant: dict[str, Any]) -> str:
    """The link's name: grant_extra:ROLE@RESOURCE (ROLE alone when the scope is not a resource id), the same whether
    the grant was checked or could not be (capture and drift find it by this name)."""
    try:
        info = scopes.parse(grant["scope"])
    except ValueError:
        return f"grant_extra:{grant['role']}"
    return f"grant_extra:{grant['role']}@{info.name or info.resource_group or info.subscription}"


def check_extra_grant(checker: Checker, identity: Any, grant: dict[str, Any]) -> Link:
    """The link of one extra grant (returned, not added: the checker runs them side by side, in order)."""
    role = roles.find(grant["role"])
    label = extra_grant_label(grant)
    try:
        info = scopes.parse(grant["scope"])
    except ValueError as err:
        return Link(label, False, str(err), "Fix the scope.")
    clients = checker.clients.for_subscription(info.subscription)
    if scopes.read(checker.clients, info) is None:
        return Link(label, False, f"Nothing exists at {info.id} any more: the grant has nothing to act on.",
                         "Fix or re-create the resource, then run apply again.")
    vault = scopes.vault_of(info)
    if vault is not None and role is not None and {roles.VAULT, roles.SECRET} & set(role.fits):
        found = clients.keyvault.vaults.get(vault[1], vault[2])
        if not found.properties.enable_rbac_authorization:
            return Link(label, False, f"Vault {vault[2]} uses access policies: Azure ignores {role.name} on it.",
                             "Give the identity an access policy with secret permission 'get', or move the vault "
                             "to Azure RBAC.")
    if role is not None and role.check[0]:
        held = grants_for(clients, identity.principal_id, role.check[0], info.id, data=role.check[1],
                          reads=checker.read)
    else:
        held = [Grant(ra.id, ra.name, grant["role"], "", ra.scope) for ra in assignments_covering(
            clients, identity.principal_id, info.id)
            if _role_name(checker, clients, ra.role_definition_id).lower() == grant["role"].lower()]
    if not held:
        return Link(label, False, f"{identity.name} does not hold {grant['role']} on {info.label}"
                                       + (f" ({grant['note']})." if grant.get("note") else "."),
                         f"Grant {grant['role']} on {info.id} (resume the setup).")
    return Link(label, True, f"{held[0].role_name} at {held[0].scope}.")


def _role_name(checker: Checker, clients: Any, definition_id: str) -> str:
    definition = role_definition(clients, definition_id, checker.read)
    return str(definition.role_name or "")
