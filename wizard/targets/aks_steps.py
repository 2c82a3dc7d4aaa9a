"""The AKS target's step: one federated credential that trusts the cluster's OIDC issuer for one service account.
The issuer is read from the cluster (a re-created cluster has a new one); a typed issuer is used as is."""

from __future__ import annotations

from dataclasses import replace

from azure.mgmt.core.tools import resource_id

from ..steps.base import RunContext
from ..steps.federation import FederatedCredentialsStep, WantedCredential, cluster_facts, read_cluster
from .aks import AksTarget, aks_target


def cluster_id(subscription: str, target: AksTarget, default_group: str) -> str:
    return resource_id(subscription=subscription, resource_group=target.resource_group or default_group,
                       namespace="Microsoft.ContainerService", type="managedClusters", name=target.cluster)


class AksStep(FederatedCredentialsStep):
    id = "aks"
    kind = "aks"
    title = "AKS workload identity"

    def wanted(self, ctx: RunContext) -> list[WantedCredential]:
        target = aks_target(ctx.spec)
        group = target.resource_group or ctx.spec.resource_group
        record = (("namespace", target.namespace), ("service_account", target.service_account))
        want = WantedCredential(label="target", name=target.name, issuer=target.issuer, subject=target.subject,
                                audience=target.audience, record=(("cluster_id", ""), *record))
        if not target.cluster:
            return [replace(want, details=(
                f"The issuer {target.issuer} was typed: mi-wizard cannot check the cluster behind it.",))]
        rid = cluster_id(ctx.subscription_id, target, ctx.spec.resource_group)
        cluster = ctx.read(f"cluster:{rid.lower()}", lambda: read_cluster(ctx.clients, rid))
        problems: list[str] = []
        details: list[str] = []
        enable = f"az aks update -g {group} -n {target.cluster} --enable-oidc-issuer --enable-workload-identity"
        if cluster is None:
            problems.append(f"target.cluster: no AKS cluster {target.cluster} in resource group {group}. Fix the name "
                            "or group, or type the cluster's issuer URL.")
            facts = {"issuer": ""}
        else:
            facts = cluster_facts(cluster)
            if not facts["issuer"] or not facts["oidc_enabled"]:
                problems.append(f"target: cluster {target.cluster} has no OIDC issuer, so nothing can federate with "
                                f"it. Enable it: {enable}")
            elif target.issuer and target.issuer.rstrip("/") != facts["issuer"].rstrip("/"):
                problems.append(f"target.issuer: the typed issuer {target.issuer} is not cluster {target.cluster}'s "
                                f"({facts['issuer']}). Remove `issuer` to use the cluster's.")
            if not facts["workload_identity"]:
                details.append(f"Warning: workload identity is not enabled on {target.cluster}: pods get no token "
                               f"until it is ({enable}).")
        return [replace(want, issuer=target.issuer or facts["issuer"], problems=tuple(problems),
                        details=tuple(details), record=(("cluster_id", rid), *record))]
