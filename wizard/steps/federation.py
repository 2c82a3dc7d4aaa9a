"""Federated identity credentials: an AKS service account or a GitHub Actions workflow signs in as the
identity with its own OIDC token, so no secret is stored anywhere.

Entra ID compares issuer, subject and audience verbatim, so the subject is built exactly as AKS
(`system:serviceaccount:NS:SA`) or GitHub (`repo:ORG/REPO:ref:refs/heads/BRANCH`, ...) writes it. The AKS
issuer is read from the cluster through ARM (azure-mgmt-containerservice is not needed for one GET).
Credentials on one identity are written one after the other: Azure refuses concurrent writes of them.
"""

from __future__ import annotations

from typing import Any

from ..azure.scopes import API_VERSIONS
from ..spec_workloads import GITHUB_ISSUER, MAX_FEDERATED_CREDENTIALS, FederationSpec
from .base import ADOPT, CREATE, NOTHING, UPDATE, PlanItem, RunContext, Step, not_found_is_none
from .identity import read_identity

CLUSTER_TYPE = "microsoft.containerservice/managedclusters"


def cluster_id(ctx_or_sub: Any, fed: FederationSpec, default_group: str) -> str:
    sub = ctx_or_sub if isinstance(ctx_or_sub, str) else ctx_or_sub.subscription_id
    return (f"/subscriptions/{sub}/resourceGroups/{fed.cluster_resource_group or default_group}/providers/"
            f"Microsoft.ContainerService/managedClusters/{fed.cluster}")


def cluster_facts(cluster: Any) -> dict[str, Any]:
    """What workload identity needs from a cluster: its OIDC issuer and the workload identity webhook."""
    props = (cluster.properties or {}) if cluster is not None else {}
    oidc = props.get("oidcIssuerProfile") or {}
    workload = (props.get("securityProfile") or {}).get("workloadIdentity") or {}
    return {"issuer": oidc.get("issuerURL") or oidc.get("issuerUrl") or "", "oidc_enabled": bool(oidc.get("enabled")),
            "workload_identity": bool(workload.get("enabled"))}


def read_cluster(clients: Any, resource_id: str) -> Any:
    return not_found_is_none(lambda: clients.resources.resources.get_by_id(
        resource_id, api_version=API_VERSIONS[CLUSTER_TYPE]))


def same_credential(existing: Any, issuer: str, subject: str, audience: str) -> bool:
    return (existing.issuer == issuer and existing.subject == subject
            and list(existing.audiences or []) == [audience])


class FederationStep(Step):
    id = "federation"
    title = "Federated credentials"
    requires = ("identity",)

    def applies(self, spec: Any) -> bool:
        return bool(spec.federation)

    def refresh(self, ctx: RunContext) -> dict[str, Any]:
        spec = ctx.spec
        identity = None if ctx.plan_creates("identity") else read_identity(ctx)
        existing = list(ctx.clients.msi.federated_identity_credentials.list(spec.identity_group, spec.identity.name)
                        ) if identity is not None else []
        return {"identity": identity, "existing": existing,
                "wanted": [self.desired(ctx, n, fed) for n, fed in enumerate(spec.federation)]}

    def desired(self, ctx: RunContext, n: int, fed: FederationSpec) -> dict[str, Any]:
        want: dict[str, Any] = {"fed": fed, "label": f"federation[{n}]", "problems": [], "details": [],
                                "name": fed.credential_name, "subject": fed.subject, "audience": fed.audience}
        if fed.kind == "github":
            want["issuer"] = fed.issuer or GITHUB_ISSUER
            return want
        want["issuer"] = fed.issuer
        if not fed.cluster:
            want["details"].append(f"The issuer {fed.issuer} was typed: mi-wizard cannot check the cluster behind it.")
            return want
        rid = cluster_id(ctx, fed, ctx.spec.resource_group)
        want["cluster_id"] = rid
        cluster = ctx.read(f"cluster:{rid.lower()}", lambda: read_cluster(ctx.clients, rid))
        if cluster is None:
            want["problems"].append(f"{want['label']}.cluster: no AKS cluster {fed.cluster} in resource group "
                                    f"{fed.cluster_resource_group or ctx.spec.resource_group}. Fix the name or group, "
                                    "or type the cluster's issuer URL.")
            return want
        facts = cluster_facts(cluster)
        if not facts["issuer"] or not facts["oidc_enabled"]:
            want["problems"].append(f"{want['label']}: cluster {fed.cluster} has no OIDC issuer, so nothing can "
                                    f"federate with it. Enable it: az aks update -g {rid.split('/')[4]} -n "
                                    f"{fed.cluster} --enable-oidc-issuer --enable-workload-identity")
        elif fed.issuer and fed.issuer.rstrip("/") != facts["issuer"].rstrip("/"):
            want["problems"].append(f"{want['label']}.issuer: the typed issuer {fed.issuer} is not cluster "
                                    f"{fed.cluster}'s ({facts['issuer']}). Remove `issuer` to use the cluster's.")
        if not facts["workload_identity"]:
            want["details"].append(f"Warning: workload identity is not enabled on {fed.cluster}: pods get no token "
                                   f"until it is (az aks update -g {rid.split('/')[4]} -n {fed.cluster} "
                                   "--enable-workload-identity).")
        want["issuer"] = fed.issuer or facts["issuer"]
        return want

    def plan(self, ctx: RunContext, observed: dict[str, Any]) -> PlanItem:
        existing = {f.name.lower(): f for f in observed["existing"]}
        problems = [p for w in observed["wanted"] for p in w["problems"]]
        details, action = [], NOTHING
        creates = 0
        wanted = [dict(w) for w in observed["wanted"]]  # decided here, on copies: what was observed stays as read
        for want in wanted:
            details += want["details"]
            if want["problems"]:
                continue
            same_name = existing.get(want["name"].lower())
            twin = next((f for f in observed["existing"] if f.issuer == want["issuer"] and f.subject == want["subject"]
                         and f.name.lower() != want["name"].lower()), None)
            if same_name is not None and same_credential(same_name, want["issuer"], want["subject"], want["audience"]):
                want["do"] = NOTHING
                details.append(f"{want['name']}: exists ({want['subject']}).")
            elif twin is not None:
                # Azure allows one credential per issuer+subject: the one made by hand is the one to use.
                want["do"], want["name"] = ADOPT, twin.name
                details.append(f"{twin.name}: already federates {want['subject']}; it is used as is.")
            elif same_name is not None:
                want["do"] = UPDATE
                details.append(f"{want['name']}: changes from {same_name.subject} to {want['subject']}: workloads "
                               "that use the old subject can no longer sign in.")
            else:
                want["do"], creates = CREATE, creates + 1
                details.append(f"{want['name']}: trust {want['issuer']} for {want['subject']} (audience "
                               f"{want['audience']}).")
        if len(observed["existing"]) + creates > MAX_FEDERATED_CREDENTIALS:
            problems.append(f"federation: {ctx.spec.identity.name} has {len(observed['existing'])} federated "
                            f"credentials; {creates} more would pass Azure's limit of {MAX_FEDERATED_CREDENTIALS}.")
        todo = [w.get("do") for w in wanted]
        if CREATE in todo or UPDATE in todo:
            action = UPDATE if CREATE not in todo else CREATE
        elif ADOPT in todo or len(ctx.state.step(self.id).outputs.get("credentials", [])) != len(todo):
            action = ADOPT
        n = len(todo)
        reason = {CREATE: f"Let {n} outside workload{'s' if n > 1 else ''} sign in as {ctx.spec.identity.name} "
                          "with their own OIDC tokens (no stored secret).",
                  UPDATE: "Change federated credentials to the subjects the spec names.",
                  ADOPT: "The federated credentials exist already; they are used as they are.",
                  NOTHING: "Every federated credential is in place."}[action]
        return self.item(action, reason, details=details, problems=problems, data={"wanted": wanted})

    def apply(self, ctx: RunContext, item: PlanItem) -> dict[str, Any]:
        spec = ctx.spec
        fics = ctx.clients.msi.federated_identity_credentials
        out = []
        for want in item.data["wanted"]:
            fed = want["fed"]
            if want.get("do") in (CREATE, UPDATE):
                ctx.say(self.id, f"Federating {want['subject']} as {want['name']}")
                fics.create_or_update(spec.identity_group, spec.identity.name, want["name"], {"properties": {
                    "issuer": want["issuer"], "subject": want["subject"], "audiences": [want["audience"]]}})
            record = {"kind": fed.kind, "name": want["name"], "issuer": want["issuer"], "subject": want["subject"],
                      "audience": want["audience"]}
            if fed.kind == "aks":
                record.update(cluster_id=want.get("cluster_id", ""), namespace=fed.namespace,
                              service_account=fed.service_account)
            else:
                record.update(repository=fed.repository, entity=fed.entity)
            out.append(record)
        return {"credentials": out}
