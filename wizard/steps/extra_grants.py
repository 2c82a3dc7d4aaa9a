"""Roles for the identity on other resources: a storage container, a registry, another vault's secret, the
GitHub runner's resource group. For a new identity or one that exists already (a platform's own identity).

Each scope is read first (a grant on nothing fails late and obscurely); roles come from the curated list
unless the spec knowingly allows any role; a role or scope broader than needed is named in the plan.
Assignments get deterministic names (a resume re-uses them) and PrincipalNotFound is waited out.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..azure import roles, scopes
from ..azure.access import Grant, assignments_covering, grants_for
from ..spec_workloads import ExtraGrantSpec
from .base import ADOPT, CREATE, NOTHING, PlanItem, RunContext, Step
from .grant import assign_role
from .identity import IdentityOut, IdentityStep, read_identity

T = TypeVar("T")


def find_role(ctx: RunContext, name: str, scope: str, allow_any: bool) -> roles.Role | None:
    role = roles.find(name)
    if role is not None or not allow_any:
        return role
    found = ctx.read(f"roledef-name:{name.lower()}", lambda: list(
        ctx.clients.authorization.role_definitions.list(scope, filter=f"roleName eq '{name}'")))
    return roles.custom(found[0].role_name, found[0].name) if found else None


def effective(ctx: RunContext, principal_id: str, role: roles.Role, scope: str) -> list[Any]:
    """Assignments that already give the principal what `role` is for at `scope` (the role or a broader one)."""
    action, data = role.check
    if action:
        return grants_for(ctx.clients, principal_id, action, scope, data=data, reads=ctx.read)
    return [Grant(ra.id, ra.name, role.name, role.guid, ra.scope, getattr(ra, "created_on", None))
            for ra in assignments_covering(ctx.clients, principal_id, scope, ctx.read)
            if scopes.name_of(ra.role_definition_id).lower() == role.guid.lower()]


@dataclass
class ExtraGrantSeen:
    """One extra grant as observed (built by `observe`, then only read)."""

    spec: ExtraGrantSpec
    label: str
    problems: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    info: scopes.ScopeInfo | None = None
    role: roles.Role | None = None
    existing: list[Grant] = field(default_factory=list)
    """Assignments that already give the identity what the role is for there."""


@dataclass(frozen=True)
class ExtraGrantsSeen:
    identity: Any
    grants: list[ExtraGrantSeen]


@dataclass(frozen=True)
class ExtraGrantsOut:
    grants: list[dict[str, Any]] = field(default_factory=list)
    """Each {role, scope, label, note, assignment_id, assignment_name, held_as, principal_id, granted_at}."""


class ExtraGrantsStep(Step):
    id = "grants"
    title = "Access to other resources"
    requires = ("identity", "resource_group")
    Outputs = ExtraGrantsOut

    def applies(self, spec: Any) -> bool:
        return bool(spec.extra_grants())

    def refresh(self, ctx: RunContext) -> ExtraGrantsSeen:
        identity = None if ctx.plan_creates("identity") else read_identity(ctx)
        grants = ctx.spec.extra_grants()
        reads: list[Callable[[], ExtraGrantSeen]] = [
            lambda n=n, g=g: self.observe(ctx, n, g, identity)  # type: ignore[misc]
            for n, g in enumerate(grants)]
        return ExtraGrantsSeen(identity, in_parallel(reads))

    def observe(self, ctx: RunContext, n: int, grant: ExtraGrantSpec, identity: Any) -> ExtraGrantSeen:
        label = f"grant_extra[{n}]" if n < len(ctx.spec.grant_extra) else "target.runner_role"
        seen = ExtraGrantSeen(spec=grant, label=label)
        try:
            info = scopes.parse(scopes.resolve(grant.scope, ctx.subscription_id))
        except ValueError as err:
            seen.problems.append(f"{label}.scope: {err}")
            return seen
        seen.info = info
        own_group = (info.kind == "resource_group" and info.resource_group.lower() == ctx.spec.resource_group.lower()
                     and info.subscription.lower() == ctx.subscription_id.lower())
        if own_group and ctx.group_created(info.resource_group):
            resource = "created by this setup"
        else:
            resource = ctx.read(f"scope:{info.id.lower()}", lambda: scopes.read(ctx.clients, info))
        if resource is None:
            seen.problems.append(f"{label}.scope: nothing exists at {info.id}. Check the name, resource group and "
                                    "subscription (a container id ends .../blobServices/default/containers/NAME).")
            return seen
        role = find_role(ctx, grant.role, info.id, grant.allow_any_role)
        if role is None:
            seen.problems.append(f"{label}.role: no role named '{grant.role}' in this subscription.")
            return seen
        seen.role = role
        self.judge(ctx, seen, info, role)
        if identity is not None:
            seen.existing = effective(ctx, identity.principal_id, role, info.id)
        if not seen.existing:
            can = grants_for(ctx.clients, ctx.operator.object_id, roles.ROLE_ASSIGNMENTS_WRITE,
                             info.id if resource != "created by this setup" else scopes.subscription_scope(
                                 info.subscription),
                             data=False, reads=ctx.read)
            if not can:
                seen.problems.append(
                    f"{label}: you ({ctx.operator.display}) may not assign roles on {info.label} (missing "
                    f"{roles.ROLE_ASSIGNMENTS_WRITE}). Ask its Owner or User Access Administrator to run mi-wizard, "
                    "or to make this assignment.")
        return seen

    def judge(self, ctx: RunContext, seen: ExtraGrantSeen, info: scopes.ScopeInfo, role: roles.Role) -> None:
        """Problems (the grant would do nothing) and warnings (it does more than needed)."""
        label = seen.label
        if role.fits and info.kind == "resource" and info.type not in role.fits:
            seen.problems.append(f"{label}: {role.name} does nothing on a {info.label.split(' ')[0]}; it is for "
                                    f"{', '.join(sorted({t.rsplit('/', 1)[-1] for t in role.fits}))}. Suggested: "
                                    f"{', '.join(r.name for r in roles.for_resource(info.type)[:2])}.")
        vault = scopes.vault_of(info)
        if vault is not None and role.fits and set(role.fits) & {roles.VAULT, roles.SECRET}:
            model = ctx.read(f"vault-model:{vault[2].lower()}", lambda: self.vault_rbac(ctx, vault))
            if model is False:
                seen.problems.append(
                    f"{label}: vault {vault[2]} uses access policies, so Azure ignores roles on it or its secrets. "
                    "Give the identity an access policy with secret permission 'get' (a setup with this vault as "
                    "its [vault] does that), or move the vault to Azure RBAC.")
        if role.warning:
            seen.details.append(f"Warning: {role.warning}")
        if info.kind != "resource" and role.fits:
            seen.details.append(f"Warning: the scope is the whole {info.label}: {role.name} applies to every "
                                   "resource in it. A single resource is usually enough.")

    @staticmethod
    def vault_rbac(ctx: RunContext, vault: tuple[str, str, str]) -> bool:
        found = ctx.clients.for_subscription(vault[0]).keyvault.vaults.get(vault[1], vault[2])
        return bool(found.properties.enable_rbac_authorization)

    def plan(self, ctx: RunContext, observed: ExtraGrantsSeen) -> PlanItem:
        problems = [p for g in observed.grants for p in g.problems]
        lines, missing = [], 0
        for g in observed.grants:
            if g.role is None or g.info is None:
                continue
            role, info = g.role, g.info
            have = g.existing
            if have:
                lines.append(f"{role.name} on {info.label}: already effective ({have[0].role_name} at {have[0].scope}).")
            else:
                missing += 1
                lines.append(f"{role.name} on {info.label}: {role.allows}" + (f" ({g.spec.note})" if g.spec.note
                                                                               else ""))
            lines += g.details
        who = ctx.spec.identity.name
        if missing:
            return self.item(CREATE, f"Grant {who} {missing} role{'s' if missing > 1 else ''} on other resources.",
                             details=lines, problems=problems, data={"grants": observed.grants})
        recorded = len(ctx.state.step(self.id).outputs.get("grants", [])) == len(observed.grants)
        return self.item(NOTHING if recorded else ADOPT, f"{who} already holds every extra role.", details=lines,
                         problems=problems, data={"grants": observed.grants})

    def apply(self, ctx: RunContext, item: PlanItem) -> ExtraGrantsOut:
        identity: IdentityOut = ctx.output(IdentityStep)
        previous = {(g["scope"].lower(), g["role"]): g for g in ctx.state.step(self.id).outputs.get("grants", [])}

        def one(g: ExtraGrantSeen) -> dict[str, Any]:
            role, info, spec = g.role, g.info, g.spec
            assert role is not None and info is not None  # a grant without them is a plan problem: no apply
            have = g.existing
            key = grant_key(info.id, role.name)
            if have:
                ctx.claim(key, kind="role_assignment", id=have[0].assignment_id, origin="adopted", step=self.id,
                          data={"role": have[0].role_name, "principal_id": identity.principal_id})
                return {"role": role.name, "scope": info.id, "label": info.label, "note": spec.note,
                        "assignment_id": have[0].assignment_id, "assignment_name": have[0].assignment_name,
                        "held_as": have[0].role_name, "principal_id": identity.principal_id,
                        "granted_at": (previous.get((info.id.lower(), role.name)) or {}).get("granted_at")}
            ctx.say(self.id, f"Granting {role.name} on {info.label}")
            made = assign_role(ctx, self.id, scope=info.id, role=role, principal_id=identity.principal_id,
                               principal_type="ServicePrincipal", key=key)
            return {"role": role.name, "scope": info.id, "label": info.label, "note": spec.note,
                    "assignment_id": made.assignment_id, "assignment_name": made.assignment_name,
                    "held_as": role.name, "principal_id": identity.principal_id, "granted_at": made.granted_at}

        # Independent assignments: made side by side (bounded), so 20 grants cost about what one does.
        writes: list[Callable[[], dict[str, Any]]] = [lambda g=g: one(g)  # type: ignore[misc]
                                                      for g in item.data["grants"]]
        return ExtraGrantsOut(grants=in_parallel(writes))


def grant_key(scope: str, role: str) -> str:
    """The provenance key of one extra grant."""
    return f"grants:{scope.lower()}|{role}"


PARALLEL_GRANTS = 20
"""At most this many in flight at once: well under ARM's write throttling (1,200 writes an hour per principal)
and enough that a typical setup's grants all go at once."""


def in_parallel(calls: list[Callable[[], T]]) -> list[T]:
    """Run independent calls side by side (bounded), results in order; the first error is raised."""
    if len(calls) <= 1:
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=min(PARALLEL_GRANTS, len(calls)), thread_name_prefix="grant") as pool:
        futures = [pool.submit(call) for call in calls]
        return [f.result() for f in futures]
