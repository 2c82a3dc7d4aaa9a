"""Verify and doctor: check every link of the chain and name the broken one.

The chain, per workload (links in this order, each present when the setup has that part):
identity exists -> attached to the target (ACI group / Batch pool's identity map) -> federated credentials
(issuer, subject, audience; an AKS cluster's OIDC issuer and workload identity) -> grant effective for the
secret -> secret exists and enabled -> extra grants effective -> Batch nodes hold the identity -> live probe:
the target itself, with the identity's client id, reads the secret (never printing it).
A probe refused while a grant exists and is young is "not yet effective" (waited out); refused with no
grant is "never will" (fixed, not waited for).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from azure.core.exceptions import HttpResponseError
from azure.mgmt.core.tools import is_valid_resource_id, parse_resource_id

from .azure import roles
from .azure.access import grants_for
from .azure.errors import explain
from .progress import CheckResult, ProgressSink, null_sink
from .reads import ReadCache
from .steps.base import not_found_is_none
from .steps.grant import policy_allows, secret_scope
from .verify_unreadable import link_unless_refused, refused_read, unreadable_link
from .waits import WaitExpired, wait_for

PROPAGATION_LIMIT_S = 900.0
T = TypeVar("T")


@dataclass
class Link:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    pending: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"link": self.name, "ok": self.ok, "pending": self.pending, "detail": self.detail, "fix": self.fix}


@dataclass
class Report:
    links: list[Link] = field(default_factory=list)
    verdict: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return bool(self.links) and all(link.ok for link in self.links)

    @property
    def broken(self) -> Link | None:
        return next((link for link in self.links if not link.ok), None)

    def link(self, name: str) -> Link | None:
        return next((link for link in self.links if link.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "links": [link.to_dict() for link in self.links], "probe": self.verdict}


@dataclass
class Target:
    """What to verify: found by the engine from the state, or given to doctor by the user."""

    identity_id: str
    vault_name: str = ""
    """Empty: the setup has no vault (no grant, secret or probe links)."""
    secret_name: str = ""
    container_group_id: str = ""
    granted_at: float | None = None
    vault_id: str = ""
    """Known when verifying a setup mi-wizard made: saves a subscription-wide vault listing."""
    pool_id: str = ""
    """A Batch pool's ARM id."""
    pool_nodes_stale: bool = False
    """The state knows the pool's nodes booted before the identity was added (and were not replaced since)."""
    federations: list[dict[str, Any]] = field(default_factory=list)
    """Each {kind, issuer, subject, audience, name?, cluster_id?}; an AKS issuer is re-read from the cluster."""
    grants: list[dict[str, Any]] = field(default_factory=list)
    """Extra grants, each {role, scope, note?}."""


class Checker:
    def __init__(self, clients: Any, target: Target, *, sink: ProgressSink = null_sink,
                 cancel: threading.Event | None = None, probe_image: str = "", wait_limit_s: float = PROPAGATION_LIMIT_S,
                 reads: Callable[[str, Callable[[], Any]], Any] | None = None, reuse: bool = False):
        self.clients, self.target, self.sink = clients, target, sink
        self.reads = reads or ReadCache().read
        """The engine's read-once cache when verifying right after apply (else one of its own): role definitions
        are not read twice."""
        self.reuse = reuse
        """The apply changed nothing: everything its plan read still holds, so nothing is read again."""
        self.cancel = cancel or threading.Event()
        self.probe_image = probe_image or clients.profile.probe_image
        self.wait_limit_s = wait_limit_s
        self.report = Report()

    def add(self, link: Link) -> Link:
        self.report.links.append(link)
        self.sink(CheckResult(step="verify", link=link.name, ok=link.ok, detail=link.detail, fix=link.fix,
                              pending=link.pending))
        return link

    def run(self, *, probe: bool = True, verdict: dict[str, Any] | None = None) -> Report:
        """Check every link; `verdict`: the live probe already ran (as a step of apply), judge its verdict."""
        from . import verify_links
        from .targets import kinds
        identity = self.guarded("identity", self.check_identity, None)
        if identity is None:
            return self.report
        attached = []  # (kind, what its attached check read, whether the link holds)
        for kind in kinds():
            before = len(self.report.links)
            found = self.guarded("attached", partial(kind.check_attached, self, identity), None)
            if len(self.report.links) > before:
                attached.append((kind, found, self.report.links[-1].ok))
        for fed in self.target.federations:
            self.guarded(f"federation:{fed.get('name') or fed['subject']}",
                         partial(verify_links.check_federation, self, identity, fed), None)
        vault = grant_ok = secret_ok = None
        if self.target.vault_name:
            vault = self.guarded("grant", self.find_vault, None)
            if vault is not None:
                grant_ok = self.guarded("grant", lambda: self.check_grant(identity, vault), False)
                secret_ok = self.guarded("secret", lambda: self.check_secret(vault), False)
        # Independent links, read side by side (bounded) and reported in order.
        from .steps.extra_grants import in_parallel
        checks: list[Callable[[], Link]] = [lambda g=g: link_unless_refused(  # type: ignore[misc]
            verify_links.extra_grant_label(g), lambda: verify_links.check_extra_grant(self, identity, g))
            for g in self.target.grants]
        for link in in_parallel(checks):
            self.add(link)
        for kind, found, ok in attached:
            if found is None:
                continue
            ready = vault is not None and bool(secret_ok) and ok  # a probe can prove something only then
            kind.check_probe(self, identity, found, vault, bool(grant_ok), runnable=probe and ready,
                             verdict=verdict if ready else None)
        return self.report

    def guarded(self, name: str, check: Callable[[], T], otherwise: T) -> T:
        """Run one link's check; when Azure refuses the signed-in account a read it needs, add the link as not
        checked (wizard/verify_unreadable.py) and go on with `otherwise`."""
        try:
            return check()
        except HttpResponseError as err:
            if not refused_read(err):
                raise
            self.add(unreadable_link(name, err))
            return otherwise

    def read(self, key: str, fetch: Callable[[], Any]) -> Any:
        """Through the run's read-once cache where it still holds (see `reuse`), else from Azure.

        Keys are the steps' own (wizard/steps/): right after an apply that changed nothing, what its plan read a
        moment ago is what Azure has, so verification reads nothing twice. Role definitions never change."""
        if self.reuse or key.startswith("roledef:"):
            return self.reads(key, fetch)
        return fetch()

    def read_by_id(self, resource_id: str, key: str, get: Callable[[Any, str, str], Any]) -> Any:
        """The resource at `resource_id` (None when the id is malformed or nothing is there), read through the
        cache under the steps' key `KEY:group/name`; `get(clients, group, name)` reads it."""
        if not is_valid_resource_id(resource_id):
            return None
        where = parse_resource_id(resource_id)
        group, name = str(where["resource_group"]), str(where["name"])
        clients = self.clients.for_subscription(str(where["subscription"]))
        return self.read(f"{key}:{group.lower()}/{name.lower()}",
                         lambda: not_found_is_none(lambda: get(clients, group, name)))

    # ---- links -----------------------------------------------------------------------------------------
    def check_identity(self) -> Any:
        identity = self.read_by_id(self.target.identity_id, "identity",
                                   lambda c, group, name: c.msi.user_assigned_identities.get(group, name))
        if identity is None:
            self.add(Link("identity", False, f"No identity at {self.target.identity_id}.",
                          "Create it again (resume the setup) or fix the id."))
            return None
        self.add(Link("identity", True, f"{identity.name}: client id {identity.client_id}, principal id "
                                        f"{identity.principal_id}."))
        return identity

    def find_vault(self) -> Any:
        found = self.read_by_id(self.target.vault_id, "vault", lambda c, group, name: c.keyvault.vaults.get(group, name))
        if found is not None:
            return found  # else moved or deleted (or no id recorded): find it by name
        sub = parse_resource_id(self.target.identity_id)["subscription"]
        matches = [v for v in self.clients.for_subscription(sub).keyvault.vaults.list_by_subscription()
                   if v.name.lower() == self.target.vault_name.lower()]
        if not matches:
            self.add(Link("grant", False, f"No vault named {self.target.vault_name} in this subscription.",
                          "Fix the vault name, or create the vault (resume the setup)."))
            return None
        return matches[0]

    def check_grant(self, identity: Any, vault: Any) -> bool:
        clients = self.clients.for_subscription(parse_resource_id(vault.id)["subscription"])
        if vault.properties.enable_rbac_authorization:
            scope = secret_scope(vault.id, self.target.secret_name)
            grants = grants_for(clients, identity.principal_id, roles.GET_SECRET, scope, data=True, reads=self.read)
            if not grants:
                self.add(Link("grant", False, f"{identity.name} holds no role that reads {self.target.secret_name} "
                                              f"(vault {vault.name} uses Azure RBAC; access policies are ignored).",
                              "Grant Key Vault Secrets User on the secret (or the vault) to the identity."))
                return False
            g = grants[0]
            if g.created_on is not None and not self.target.granted_at:
                self.target.granted_at = g.created_on.timestamp()
            self.add(Link("grant", True, f"{g.role_name} at {g.scope}."))
            return True
        if policy_allows(vault, identity.principal_id, ["get"]):
            self.add(Link("grant", True, f"Access policy for {identity.name} allows secrets get."))
            return True
        self.add(Link("grant", False, f"Vault {vault.name} uses access policies and none gives {identity.name} "
                                      "secrets get.", "Add an access policy with secret permission 'get'."))
        return False

    def check_secret(self, vault: Any) -> bool:
        where = parse_resource_id(vault.id)
        secrets = self.clients.for_subscription(where["subscription"]).keyvault.secrets
        name = self.target.secret_name
        secret = self.read(f"secret:{vault.name.lower()}/{name.lower()}", lambda: not_found_is_none(
            lambda: secrets.get(where["resource_group"], vault.name, name)))
        if secret is None:
            self.add(Link("secret", False, f"Vault {vault.name} has no secret {name}.",
                          "Create the secret (resume the setup) or fix the name."))
            return False
        attributes = secret.properties.attributes
        if attributes is not None and attributes.enabled is False:
            self.add(Link("secret", False, f"{name} is disabled: nobody can read it.",
                          "Enable the secret in the vault."))
            return False
        self.add(Link("secret", True, f"{name} exists and is enabled."))
        return True

    def probe_verdict(self, run: Callable[[], dict[str, Any]],
                      grant_ok: bool) -> tuple[dict[str, Any] | None, Link | None]:
        """Run the probe, waiting while a young grant is not yet effective: (verdict, None), or (None, the probe
        link saying why there is no verdict)."""
        young = self.target.granted_at is not None and time.time() - self.target.granted_at < self.wait_limit_s

        def attempt() -> dict[str, Any]:
            verdict = run()
            if grant_ok and young and verdict.get("code") in ("ForbiddenByRbac", "AccessDenied", "Forbidden"):
                raise _NotYet(verdict)
            return verdict

        try:
            verdict = wait_for(attempt, retry_if=lambda e: isinstance(e, _NotYet), step="verify",
                               reason="the grant to take effect in Key Vault (Azure: up to 10 minutes)",
                               sink=self.sink, cancel=self.cancel,
                               limit_s=max(1.0, self.wait_limit_s - (time.time() - (self.target.granted_at or 0))),
                               first_delay_s=1.0, max_delay_s=20.0)
        except WaitExpired as err:
            self.report.verdict = err.last_error.verdict if isinstance(err.last_error, _NotYet) else {}
            return None, Link("probe", False, "The grant exists but Key Vault still refuses it after waiting.",
                              "Azure can take longer than documented: run `mi-wizard verify` again later.",
                              pending=True)
        except Exception as exc:  # noqa: BLE001 - the probe itself could not run
            info = explain(exc)
            return None, Link("probe", False, f"The probe could not run: {info.code}: {info.explanation}", info.fix)
        self.report.verdict = verdict
        return verdict, None


class _NotYet(Exception):
    def __init__(self, verdict: dict[str, Any]):
        super().__init__(verdict.get("code", ""))
        self.verdict = verdict


def target_from_state(state: Any) -> Target:
    from .targets import target_kind
    spec = state.spec
    has_vault = bool(spec.get("vault", {}).get("name"))
    target_spec = spec.get("target") or {}
    grants = state.step("grants").outputs.get("grants", []) if spec.get("grant_extra") or (
        target_spec.get("runner_role")) else []
    target = Target(identity_id=state.step("identity").outputs["id"],
                    vault_name=spec["vault"]["name"] if has_vault else "",
                    secret_name=spec["secret"]["name"] if has_vault else "",
                    granted_at=state.step("grant").outputs.get("granted_at") if has_vault else None,
                    vault_id=state.step("vault").outputs.get("id", "") if has_vault else "",
                    grants=[{"role": g["role"], "scope": g["scope"], "note": g.get("note", "")} for g in grants])
    target_kind(target_spec.get("kind", "none")).fill_verify_target(state, target)
    return target


def probe_name(group_name: str) -> str:
    """A fresh name per probe run: a group left by an interrupted run (deleted later) never blocks the next."""
    return f"{group_name[:44].rstrip('-')}-probe-{uuid.uuid4().hex[:8]}"
