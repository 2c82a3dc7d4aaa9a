"""Federated identity credentials, the part the AKS and GitHub targets share: an outside workload signs in as
the identity with its own OIDC token, so no secret is stored anywhere.

Each federated kind says which credentials it wants (`FederatedCredentialsStep.wanted`); this module observes
what the identity has, decides create / update / adopt per credential, and writes them. Entra ID compares
issuer, subject and audience verbatim, so the subject is built exactly as AKS or GitHub writes it.
Credentials on one identity are written one after the other: Azure refuses concurrent writes of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..azure.scopes import API_VERSIONS
from ..spec_workloads import MAX_FEDERATED_CREDENTIALS, TOKEN_EXCHANGE_AUDIENCE, token_exchange_audience
from .base import ADOPT, CREATE, NOTHING, UPDATE, PlanItem, RunContext, Step, not_found_is_none
from .identity import IdentityStep, read_identity

CLUSTER_TYPE = "microsoft.containerservice/managedclusters"


def cluster_facts(cluster: Any) -> dict[str, Any]:
    """What workload identity needs from a cluster: its OIDC issuer and the workload identity webhook."""
    props = (cluster.properties or {}) if cluster is not None else {}
    oidc = props.get("oidcIssuerProfile") or {}
    workload = (props.get("securityProfile") or {}).get("workloadIdentity") or {}
    return {"issuer": oidc.get("issuerURL") or oidc.get("issuerUrl") or "", "oidc_enabled": bool(oidc.get("enabled")),
            "workload_identity": bool(workload.get("enabled"))}


def read_cluster(clients: Any, resource_id: str) -> Any:
    # azure-mgmt-containerservice is not needed for one GET: the generic resources client reads it.
    return not_found_is_none(lambda: clients.resources.resources.get_by_id(
        resource_id, api_version=API_VERSIONS[CLUSTER_TYPE]))


def same_credential(existing: Any, issuer: str, subject: str, audience: str) -> bool:
    return (existing.issuer == issuer and existing.subject == subject
            and list(existing.audiences or []) == [audience])


@dataclass(frozen=True)
class WantedCredential:
    """One credential as a federated target wants it (plain data: a plan item may hold it)."""

    label: str
    """Where it comes from in the spec, for messages: "target" or "target.credentials[1]"."""
    name: str
    issuer: str
    subject: str
    audience: str = TOKEN_EXCHANGE_AUDIENCE
    problems: tuple[str, ...] = ()
    details: tuple[str, ...] = ()
    record: tuple[tuple[str, str], ...] = ()
    """What the state keeps beside name/issuer/subject/audience (cluster_id, namespace, repository, ...)."""
    do: str = ""
    """Decided by plan: create, update, adopt or nothing."""
    previous: tuple[tuple[str, str], ...] = ()
    """For an update: the credential's issuer, subject and audience before (a teardown puts them back)."""


@dataclass(frozen=True)
class CredentialsOut:
    """What a federated target's step records: each credential as {kind, name, issuer, subject, audience, ...}."""

    credentials: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class CredentialsSeen:
    identity: Any
    existing: list[Any]
    """The identity's federated credentials (SDK objects) as Azure has them."""
    wanted: list[WantedCredential]


class FederatedCredentialsStep(Step):
    """A federated target's step (AKS, GitHub): subclasses set id/title and say which credentials they want."""

    kind: str = ""
    Outputs = CredentialsOut
    requires = ("identity",)

    def applies(self, spec: Any) -> bool:
        return bool(spec.target.kind == self.kind)

    def wanted(self, ctx: RunContext) -> list[WantedCredential]:
        raise NotImplementedError

    def refresh(self, ctx: RunContext) -> CredentialsSeen:
        spec = ctx.spec
        identity = None if ctx.plan_creates("identity") else read_identity(ctx)
        existing = list(ctx.clients.msi.federated_identity_credentials.list(spec.identity_group, spec.identity.name)
                        ) if identity is not None else []
        # The spec's default audience is the public cloud's: each cloud's Entra ID has its own (spec_workloads).
        wanted = [replace(w, audience=token_exchange_audience(spec.cloud, w.audience)) for w in self.wanted(ctx)]
        return CredentialsSeen(identity, existing, wanted)

    def plan(self, ctx: RunContext, observed: CredentialsSeen) -> PlanItem:
        existing = {f.name.lower(): f for f in observed.existing}
        problems = [p for w in observed.wanted for p in w.problems]
        details: list[str] = []
        decided: list[WantedCredential] = []  # new values: what was observed stays as read
        for want in observed.wanted:
            details += want.details
            if want.problems:
                continue
            same_name = existing.get(want.name.lower())
            twin = next((f for f in observed.existing if f.issuer == want.issuer and f.subject == want.subject
                         and f.name.lower() != want.name.lower()), None)
            if same_name is not None and same_credential(same_name, want.issuer, want.subject, want.audience):
                decided.append(replace(want, do=NOTHING))
                details.append(f"{want.name}: exists ({want.subject}).")
            elif twin is not None:
                # Azure allows one credential per issuer+subject: the one made by hand is the one to use.
                decided.append(replace(want, do=ADOPT, name=twin.name))
                details.append(f"{twin.name}: already federates {want.subject}; it is used as is.")
            elif same_name is not None:
                decided.append(replace(want, do=UPDATE, previous=(
                    ("issuer", same_name.issuer), ("subject", same_name.subject),
                    ("audience", (list(same_name.audiences or []) or [want.audience])[0]))))
                details.append(f"{want.name}: changes from {same_name.subject} to {want.subject}: workloads "
                               "that use the old subject can no longer sign in.")
            else:
                decided.append(replace(want, do=CREATE))
                details.append(f"{want.name}: trust {want.issuer} for {want.subject} (audience {want.audience}).")
        todo = [w.do for w in decided]
        creates = todo.count(CREATE)
        if len(observed.existing) + creates > MAX_FEDERATED_CREDENTIALS:
            problems.append(f"target: {ctx.spec.identity.name} has {len(observed.existing)} federated "
                            f"credentials; {creates} more would pass Azure's limit of {MAX_FEDERATED_CREDENTIALS}.")
        action = NOTHING
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
        return self.item(action, reason, details=details, problems=problems,
                         data={"wanted": decided})

    def apply(self, ctx: RunContext, item: PlanItem) -> CredentialsOut:
        spec = ctx.spec
        fics = ctx.clients.msi.federated_identity_credentials
        identity_id = ctx.output(IdentityStep).id
        out = []
        for want in item.data["wanted"]:
            fic_id = f"{identity_id}/federatedIdentityCredentials/{want.name}"
            ctx.claim(f"federated:{want.name.lower()}", kind="federated_credential", id=fic_id,
                      origin="created" if want.do == CREATE else "adopted", step=self.id,
                      change={"previous": dict(want.previous)} if want.do == UPDATE else None)
            if want.do in (CREATE, UPDATE):
                ctx.say(self.id, f"Federating {want.subject} as {want.name}")
                fics.create_or_update(spec.identity_group, spec.identity.name, want.name, {"properties": {
                    "issuer": want.issuer, "subject": want.subject, "audiences": [want.audience]}})
            out.append({"kind": self.kind, "name": want.name, "issuer": want.issuer, "subject": want.subject,
                        "audience": want.audience, **dict(want.record)})
        return CredentialsOut(credentials=out)
