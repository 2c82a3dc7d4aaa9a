"""What `mi-wizard destroy` would do, read from Azure before anything is written: from the state's provenance and
what Azure has now, each resource is deleted (created by the setup), reverted (changed by it on something adopted)
or kept (adopted, gone, or holding what is not the setup's), with the reason. Foreign things in what the setup made
(a resource in its group, another identity on its container group, a secret in its vault) are listed: the
teardown goes on only when they are confirmed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from azure.mgmt.core.tools import parse_resource_id

from .azure.clients import AzureClients
from .state import CREATED, State
from .steps.base import not_found_is_none
from .steps.extra_grants import in_parallel

DELETE, REVERT, KEEP = "delete", "revert", "keep"
WAVES = {"role_assignment": 0, "access_policy": 0, "federated_credential": 0, "probe": 0, "container_group": 0,
         "pool": 0, "secret": 0, "identity": 1, "vault": 1, "resource_group": 2}
"""Reverse dependency order: what hangs on the identity and the vault first, then they, then their groups."""


@dataclass
class Action:
    key: str
    kind: str
    id: str
    do: str
    """delete | revert | keep"""
    title: str
    reason: str
    foreign: list[str] = field(default_factory=list)
    """What it holds that is not the setup's: going on needs a confirmation."""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def wave(self) -> int:
        return WAVES.get(self.kind, 0)

    @property
    def writes(self) -> bool:
        return self.do in (DELETE, REVERT)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "id": self.id, "do": self.do, "title": self.title,
                "reason": self.reason, "foreign": self.foreign}


@dataclass
class TeardownPlan:
    setup: str
    actions: list[Action]
    purge: bool = False

    @property
    def writes(self) -> list[Action]:
        return [a for a in self.actions if a.writes]

    @property
    def kept(self) -> list[Action]:
        return [a for a in self.actions if not a.writes]

    @property
    def foreign(self) -> list[str]:
        return [f"{a.title}: {f}" for a in self.actions for f in a.foreign]

    def to_dict(self) -> dict[str, Any]:
        return {"setup": self.setup, "purge": self.purge, "goes": [a.to_dict() for a in self.writes],
                "stays": [a.to_dict() for a in self.kept], "foreign": self.foreign}

    def describe(self) -> str:
        if not self.actions:
            return f"Nothing to remove: {self.setup} holds no resource it made or changed."
        lines = [f"Tear down {self.setup}:"] + [f"  {a.do.upper():7} {a.title}: {a.reason}"
                                                for a in self.writes + self.kept]
        if self.foreign:
            lines.append("\nChanged outside this setup (confirm to go on):")
            lines += [f"  ! {f}" for f in self.foreign]
        return "\n".join(lines)


def _name(rid: str) -> str:
    return rid.rstrip("/").rsplit("/", 1)[-1]


def _ids(record: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in parse_resource_id(record["id"]).items()}


def build_plan(clients: AzureClients, state: State, *, purge: bool = False) -> TeardownPlan:
    """Read every resource the state's provenance names and decide its action (no write)."""
    records = {k: r for k, r in state.provenance.items() if not r.get("removed")}
    made = {r["id"].lower() for r in records.values() if r["origin"] == CREATED and r.get("id")}
    identity = records.get("identity", {}).get("id", "")
    vault_made = records.get("vault", {}).get("origin") == CREATED
    probes = [str(g) for g in state.steps["probe"].outputs.get("cleanup", [])] if "probe" in state.steps else []
    made |= {p.lower() for p in probes}
    judge = _Judge(clients, identity, made, vault_made, purge)
    calls: list[Callable[[], Action]] = [partial(judge.action, k, r) for k, r in records.items()]
    calls += [partial(judge.probe, p) for p in probes]
    return TeardownPlan(state.name, sorted(in_parallel(calls), key=lambda a: (a.wave, a.key)), purge)


class _Judge:
    """One decision per resource; each reads what it needs (in parallel with the others)."""

    def __init__(self, clients: AzureClients, identity: str, made: set[str], vault_made: bool, purge: bool):
        self.clients, self.identity, self.made, self.vault_made, self.purge = clients, identity, made, vault_made, purge

    def action(self, key: str, record: dict[str, Any]) -> Action:
        kind, origin, rid = record["kind"], record["origin"], record.get("id", "")
        method = getattr(self, f"_{kind}", None)
        if method is None:
            return Action(key, kind, rid, KEEP, f"{kind} {_name(rid)}", "mi-wizard does not remove this kind.")
        found: Action = method(key, record, origin == CREATED)
        return found

    def _adopted(self, key: str, kind: str, rid: str, what: str, why: str = "adopted: it was there before this "
                 "setup.") -> Action:
        return Action(key, kind, rid, KEEP, f"{what} {_name(rid)}", why)

    def _gone(self, key: str, kind: str, rid: str, what: str) -> Action:
        return self._adopted(key, kind, rid, what, "already gone.")

    def probe(self, rid: str) -> Action:
        p = {k: str(v) for k, v in parse_resource_id(rid).items()}
        found = not_found_is_none(lambda: self.clients.for_subscription(p["subscription"]).aci.container_groups.get(
            p["resource_group"], p["name"]))
        if found is None:
            return self._gone(f"probe:{rid.lower()}", "probe", rid, "probe container group")
        return Action(f"probe:{rid.lower()}", "probe", rid, DELETE, f"probe container group {p['name']}",
                      "left by the live probe (its delete was not awaited).")

    def _role_assignment(self, key: str, record: dict[str, Any], created: bool) -> Action:
        rid = record["id"]
        what = f"role {record.get('data', {}).get('role', '')} ({_name(rid)[:8]}…) at {rid.split('/providers/Microsoft.Authorization')[0]}"
        if not created:
            return Action(key, "role_assignment", rid, KEEP, what, "adopted: the grant was there before this setup.")
        found = not_found_is_none(lambda: self.clients.authorization.role_assignments.get_by_id(rid))
        if found is None:
            return Action(key, "role_assignment", rid, KEEP, what, "already gone.")
        return Action(key, "role_assignment", rid, DELETE, what, "granted by this setup.")

    def _access_policy(self, key: str, record: dict[str, Any], created: bool) -> Action:
        rid, data = record["id"], record.get("data", {})
        what = f"access policy for {data.get('object_id', '')} on vault {_name(rid)}"
        if not created:
            return Action(key, "access_policy", rid, KEEP, what, "adopted: it was there before this setup.")
        if self.vault_made and rid.lower() in self.made:
            return Action(key, "access_policy", rid, KEEP, what, "goes with the vault this setup made.")
        p = _ids(record)
        vault = not_found_is_none(lambda: self.clients.keyvault.vaults.get(p["resource_group"], p["name"]))
        if vault is None or not data.get("permissions"):
            return Action(key, "access_policy", rid, KEEP, what, "already gone." if vault is None else
                          "it added no permission the identity did not have.")
        return Action(key, "access_policy", rid, REVERT, what, f"remove secrets: {', '.join(data['permissions'])}, "
                      "added by this setup (the vault was adopted: it stays).", data=dict(data))

    def _federated_credential(self, key: str, record: dict[str, Any], created: bool) -> Action:
        rid = record["id"]
        p = _ids(record)
        what = f"federated credential {_name(rid)}"
        previous: dict[str, str] = next((c["previous"] for c in record.get("changes", []) if c.get("previous")), {})
        if not created and not previous:
            return self._adopted(key, "federated_credential", rid, "federated credential")
        found = not_found_is_none(lambda: self.clients.msi.federated_identity_credentials.get(
            p["resource_group"], p["name"], p["child_name_1"]))
        if found is None:
            return Action(key, "federated_credential", rid, KEEP, what, "already gone.")
        if created:
            return Action(key, "federated_credential", rid, DELETE, what, "made by this setup.")
        return Action(key, "federated_credential", rid, REVERT, what,
                      f"put its subject back to {previous['subject']} (changed by this setup).", data=dict(previous))

    def _container_group(self, key: str, record: dict[str, Any], created: bool) -> Action:
        from .targets.aci import attached_ids
        rid = record["id"]
        p = _ids(record)
        what = f"container group {p['name']}"
        added = [c for c in record.get("changes", []) if c.get("identity_added")]
        if not created and not added:
            return self._adopted(key, "container_group", rid, "container group")
        group = not_found_is_none(lambda: self.clients.aci.container_groups.get(p["resource_group"], p["name"]))
        if group is None:
            return Action(key, "container_group", rid, KEEP, what, "already gone.")
        ours = {self.identity.lower()} | {c["identity_added"].lower() for c in added}
        others = [i for i in attached_ids(group) if i.lower() not in ours]
        if created:
            return Action(key, "container_group", rid, DELETE, what, "made by this setup.",
                          foreign=[f"also carries identity {_name(i)}, added outside this setup" for i in others])
        if not any(c["identity_added"].lower() in attached_ids(group) for c in added):
            return Action(key, "container_group", rid, KEEP, what, "adopted; the identity it added is no longer on it.")
        secure = [v.name for c in group.containers for v in (c.environment_variables or [])
                  if v.secure_value is None and v.value is None]
        if secure:
            return Action(key, "container_group", rid, KEEP, what, f"adopted; removing the identity re-deploys it and "
                          f"would erase its secure variables ({', '.join(secure)}): remove it yourself.")
        return Action(key, "container_group", rid, REVERT, what, "adopted: remove the identity this setup added "
                      "(and the AZURE_CLIENT_ID it set); the group is re-deployed and restarts.",
                      data={"identities": [c["identity_added"] for c in added],
                            "env_added": sorted({n for c in added for n in c.get("env_added", [])})})

    def _pool(self, key: str, record: dict[str, Any], created: bool) -> Action:
        from .targets.batch_steps import get_pool, pool_identity_ids
        rid = record["id"]
        p = _ids(record)
        what = f"Batch pool {p['child_name_1']}"
        added = [c["identity_added"] for c in record.get("changes", []) if c.get("identity_added")]
        if not created and not added:
            return self._adopted(key, "pool", rid, "Batch pool")
        pool, _ = get_pool(self.clients, p["resource_group"], p["name"], p["child_name_1"])
        if pool is None:
            return Action(key, "pool", rid, KEEP, what, "already gone.")
        have = {i.lower() for i in pool_identity_ids(pool)}
        if created:
            ours = {self.identity.lower()}
            return Action(key, "pool", rid, DELETE, what, "made by this setup.",
                          foreign=[f"also carries identity {_name(i)}, added outside this setup"
                                   for i in sorted(have - ours)])
        if not any(a.lower() in have for a in added):
            return Action(key, "pool", rid, KEEP, what, "adopted; the identity it added is no longer on it.")
        return Action(key, "pool", rid, REVERT, what, "adopted: remove the identity this setup added (nodes that "
                      "booted with it keep it until they are replaced).", data={"identities": added})

    def _secret(self, key: str, record: dict[str, Any], created: bool) -> Action:
        rid = record["id"]
        what = f"secret {_name(rid)}"
        if created and self.vault_made:
            return Action(key, "secret", rid, KEEP, what, "goes with the vault this setup made.")
        if created:
            p = _ids(record)
            return Action(key, "secret", rid, KEEP, what, "made by this setup in an adopted vault; Azure Resource "
                          "Manager cannot delete a secret: delete it with `az keyvault secret delete --vault-name "
                          f"{p['name']} --name {p['child_name_1']}` if it is not needed.")
        if record.get("changes"):
            return Action(key, "secret", rid, KEEP, what, "adopted; the version this setup wrote stays (versions "
                          "cannot be removed one by one).")
        return self._adopted(key, "secret", rid, "secret")

    def _identity(self, key: str, record: dict[str, Any], created: bool) -> Action:
        rid = record["id"]
        p = _ids(record)
        if not created:
            return self._adopted(key, "identity", rid, "identity")
        found = not_found_is_none(lambda: self.clients.msi.user_assigned_identities.get(p["resource_group"], p["name"]))
        if found is None:
            return self._gone(key, "identity", rid, "identity")
        return Action(key, "identity", rid, DELETE, f"identity {p['name']}", "made by this setup.")

    def _vault(self, key: str, record: dict[str, Any], created: bool) -> Action:
        rid = record["id"]
        p = _ids(record)
        what = f"vault {p['name']}"
        if not created:
            return self._adopted(key, "vault", rid, "vault")
        vaults = self.clients.keyvault.vaults
        vault = not_found_is_none(lambda: vaults.get(p["resource_group"], p["name"]))
        if vault is None:
            deleted = next((d for d in vaults.list_deleted() if (d.properties.vault_id or "").lower() == rid.lower()),
                           None) if self.purge else None
            if deleted is None or deleted.properties.purge_protection_enabled:
                return self._gone(key, "vault", rid, "vault")
            return Action(key, "vault", rid, DELETE, what, "made by this setup and soft-deleted: purged now.",
                          data={"location": deleted.properties.location, "purge": True})
        protected = bool(vault.properties.enable_purge_protection)
        secrets = [s.name for s in self.clients.keyvault.secrets.list(p["resource_group"], p["name"])]
        mine = {_name(r).lower() for r in self.made if "/secrets/" in r and r.startswith(rid.lower())}
        foreign = [f"holds secret {s}, not written by this setup" for s in secrets if s.lower() not in mine]
        if self.purge and protected:
            reason = ("made by this setup: soft-deleted. It is NOT purged: purge protection is on, so Azure keeps it "
                      "(and its name) until its retention ends.")
        elif self.purge:
            reason = "made by this setup: deleted and purged (its name is free again; its secrets are gone for good)."
        else:
            reason = ("made by this setup: soft-deleted (recoverable for its retention period; --purge to free the "
                      "name now).")
        return Action(key, "vault", rid, DELETE, what, reason, foreign=foreign,
                      data={"location": vault.location, "purge": self.purge and not protected})

    def _resource_group(self, key: str, record: dict[str, Any], created: bool) -> Action:
        rid = record["id"]
        name = _name(rid)
        if not created:
            return self._adopted(key, "resource_group", rid, "resource group")
        group = not_found_is_none(lambda: self.clients.resources.resource_groups.get(name))
        if group is None:
            return self._gone(key, "resource_group", rid, "resource group")
        held = list(self.clients.resources.resources.list_by_resource_group(name))
        others = [r for r in held if r.id.lower() not in self.made]
        if others:
            listed = ", ".join(f"{r.name} ({r.type})" for r in others[:5]) + (" …" if len(others) > 5 else "")
            return Action(key, "resource_group", rid, KEEP, f"resource group {name}",
                          f"made by this setup, but it now holds what this setup did not make: {listed}. It is kept.",
                          foreign=[f"holds {r.name} ({r.type}), not made by this setup" for r in others])
        return Action(key, "resource_group", rid, DELETE, f"resource group {name}",
                      "made by this setup, and it holds nothing else.")
