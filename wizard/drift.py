"""Drift: what a setup's state says it made that no longer holds in Azure.

Read by `mi-wizard status SETUP` (unless --offline), by the UI's setups list in the background, and shown when a
setup is resumed. The links are verify's (wizard/verify.py, wizard/verify_links.py), checked without the live
probe and only for steps the state records as done; a broken link is then told apart by one more read where
the link alone does not say which change it was (a vault soft-deleted or gone, a secret disabled or deleted, a
container group deleted or re-deployed without the identity). Reads only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .session import Session
    from .state import State
    from .verify import Checker, Link

TARGET_STEPS = ("aci", "batch", "aks", "github")


@dataclass
class DriftItem:
    step: str
    """The state's step whose result no longer holds."""
    what: str
    """Short: "identity deleted", "grant removed", "identity detached", "secret disabled", "secret deleted",
    "vault soft-deleted", "vault deleted", "container group deleted", "AZURE_CLIENT_ID changed", ..."""
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"step": self.step, "what": self.what, "detail": self.detail, "fix": self.fix}


@dataclass
class Drift:
    checked: bool = False
    """False: nothing was read (nothing applied yet, or Azure could not be read: see `error`)."""
    items: list[DriftItem] = field(default_factory=list)
    error: str = ""

    @property
    def drifted(self) -> bool:
        return bool(self.items)

    def for_step(self, step: str) -> list[DriftItem]:
        return [i for i in self.items if i.step == step]

    def summary(self) -> str:
        """One line: "grant removed, secret disabled" (or "" with no drift)."""
        return ", ".join(dict.fromkeys(i.what for i in self.items))

    def notice(self) -> str:
        """What changed since the last run, one line per change, for the resume notice."""
        return "\n".join(f"- {i.step}: {i.what}. {i.detail}" for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "drifted": self.drifted, "items": [i.to_dict() for i in self.items],
                "error": self.error}


def applied(state: State) -> bool:
    """The state records a made identity: there is something in Azure to compare with."""
    record = state.steps.get("identity")
    return record is not None and record.status == "done" and bool(record.outputs.get("id"))


def setup_drift(session: Session, state: State) -> Drift:
    """The drift of one setup, as `session` reads Azure; transient and sign-in failures land in `error`."""
    if not applied(state):
        return Drift()
    from .azure.errors import explain
    from .azure.scopes import subscription_of
    try:
        clients = session.for_subscription(subscription_of(state.step("identity").outputs["id"]))
        return Drift(True, read_drift(clients, state))
    except Exception as exc:  # noqa: BLE001 - said, never raised: the state itself is still shown
        info = explain(exc)
        return Drift(False, error=f"{info.code}: {info.explanation}")


def read_drift(clients: Any, state: State) -> list[DriftItem]:
    """What no longer holds, per done step (clients: the identity's subscription's)."""
    from .verify import Checker, target_from_state
    done = {step for step, record in state.steps.items() if record.status == "done"}
    target = target_from_state(state)
    items: list[DriftItem] = []
    vault_gone = False
    if target.vault_name and "vault" in done:
        vault_item = _vault_drift(clients, state)
        if vault_item is not None:
            items.append(vault_item)
            vault_gone = True
    checker = Checker(clients, target)
    for link in checker.run(probe=False).links:
        if link.ok or link.pending:
            continue
        item = _classify(checker, link, done, vault_gone)
        if item is not None:
            items.append(item)
    return items


def _vault_drift(clients: Any, state: State) -> DriftItem | None:
    from .steps.base import not_found_is_none
    out = state.step("vault").outputs
    if not out.get("id"):
        return None
    from .azure import scopes
    where = scopes.parse(out["id"])
    vaults = clients.for_subscription(where.subscription).keyvault.vaults
    if not_found_is_none(lambda: vaults.get(where.resource_group, where.name)) is not None:
        return None
    location = out.get("location") or state.spec.get("location", "")
    deleted = not_found_is_none(lambda: vaults.get_deleted(where.name, location)) if location else None
    if deleted is not None:
        return DriftItem("vault", "vault soft-deleted", f"Vault {where.name} was deleted; Azure keeps it (and its "
                                                        "secrets) soft-deleted, so nothing can read the secret.",
                         "Resume the setup: it recovers the vault (vault.if_soft_deleted = \"recover\").")
    return DriftItem("vault", "vault deleted", f"Vault {where.name} is gone (purged or never soft-deleted).",
                     "Resume the setup to create it again, then write the secret again.")


def _classify(checker: Checker, link: Link, done: set[str], vault_gone: bool) -> DriftItem | None:
    name = link.name
    if name == "identity":
        return _if(done, "identity", "identity deleted", link)
    if name == "attached":
        step = next((s for s in ("aci", "batch") if s in done), "")
        return _attached(checker, link, step) if step else None
    if name == "grant":
        return None if vault_gone else _if(done, "grant", "grant removed", link)
    if name == "secret":
        return None if vault_gone else _if(done, "secret", _secret_what(link), link)
    if name.startswith("grant_extra:"):
        return _if(done, "grants", "grant removed", link)
    if name.startswith(("federation:", "cluster:")):
        step = next((s for s in ("aks", "github") if s in done), "")
        return DriftItem(step, "federated credential changed" if name.startswith("federation:") else
                         "cluster changed", link.detail, link.fix) if step else None
    return None


def _if(done: set[str], step: str, what: str, link: Link) -> DriftItem | None:
    return DriftItem(step, what, link.detail, link.fix) if step in done else None


def _secret_what(link: Link) -> str:
    return "secret disabled" if " is disabled" in link.detail else "secret deleted"


def _attached(checker: Checker, link: Link, step: str) -> DriftItem:
    if step != "aci":
        return DriftItem(step, "pool changed", link.detail, link.fix)
    from .targets.aci import attached_ids
    group = checker.read_by_id(checker.target.container_group_id, "aci",
                               lambda c, rg, name: c.aci.container_groups.get(rg, name))
    if group is None:
        return DriftItem(step, "container group deleted", link.detail, link.fix)
    if checker.target.identity_id.lower() not in attached_ids(group):
        return DriftItem(step, "identity detached", link.detail, link.fix)
    return DriftItem(step, "AZURE_CLIENT_ID changed", link.detail, link.fix)
