"""A setup's floor: the longest path through its data-dependency graph, each node at its profile median.

The graph is data written down from what Azure needs before it can do each thing (not from the order any tool
runs its steps), so the floor does not move when the engine does. Each node costs the sum of its profile
operations' medians (ARM call latency, long-running-operation duration or a wait Azure imposes), times the
scale `--latency azure-typical:SCALE` applies to every call, LRO and propagation window alike.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Node:
    name: str
    costs: tuple[str, ...]
    """Latency-profile operations whose medians add up to this node's cost ("a|b": a, or b if the profile has no a)."""
    after: tuple[str, ...] = ()
    """The nodes whose results this one needs."""
    what: str = ""


@dataclass(frozen=True)
class Timed:
    node: Node
    cost: float
    start: float
    finish: float


def verified_aci_graph(grant_at_secret_scope: bool) -> list[Node]:
    """A verified ACI setup (examples/prefect-aci.toml): identity, RBAC vault, secret, grant, workload, live probe."""
    return [
        Node("group", ("resource_group_create",), (), "resource group PUT"),
        Node("identity", ("managed_identity_create",), ("group",), "user-assigned identity PUT"),
        Node("vault", ("keyvault_create_until_succeeded",), ("group",), "vault PUT until Succeeded"),
        # ARM PUT of Microsoft.KeyVault/vaults/secrets: no data-plane grant, no propagation wait. The sandbox calls it
        # keyvault_secret_arm_put; a profile without that entry gets the data-plane write's median instead.
        Node("secret", ("keyvault_secret_arm_put|keyvault_secret_set",), ("vault",), "secret PUT through ARM"),
        # A grant at secret scope needs the secret to exist (its scope); at vault scope only the vault.
        Node("grant", ("role_assignment_create",), ("identity", "vault") + (("secret",) if grant_at_secret_scope
                                                                             else ()),
             "role assignment PUT (identity: Key Vault Secrets User)"),
        Node("workload", ("aci_create_until_running",), ("identity", "grant"),
             "workload container group until running (does not wait for propagation)"),
        Node("probe_running", ("aci_create_until_running",), ("grant", "secret"),
             "probe container group until running (created at once)"),
        Node("rbac_effective", ("keyvault_rbac_propagation",), ("grant",),
             "Key Vault RBAC propagation since the grant"),
        Node("verdict", ("keyvault_secret_get",), ("probe_running", "rbac_effective"),
             "the probe's read that succeeds (its group's delete is not awaited)"),
    ]


def schedule(graph: list[Node], profile: dict[str, tuple[float, float]], scale: float) -> dict[str, Timed]:
    """Earliest start and finish of every node (each starts when all it needs have finished)."""
    by_name = {n.name: n for n in graph}
    timed: dict[str, Timed] = {}

    def visit(name: str, trail: tuple[str, ...] = ()) -> Timed:
        if name in trail:
            raise ValueError(f"the graph has a cycle: {' -> '.join(trail + (name,))}")
        if name not in timed:
            node = by_name[name]
            start = max((visit(a, trail + (name,)).finish for a in node.after), default=0.0)
            cost = sum(profile[operation(c, profile)][0] for c in node.costs) * scale
            timed[name] = Timed(node, cost, start, start + cost)
        return timed[name]

    for node in graph:
        visit(node.name)
    return timed


def operation(cost: str, profile: dict[str, tuple[float, float]]) -> str:
    """The profile entry a node's cost names: the first of "a|b|..." that the profile has."""
    choices = cost.split("|")
    return next((c for c in choices if c in profile), choices[-1])


def critical_path(timed: dict[str, Timed]) -> list[str]:
    """The longest path, first node first (ties go to the predecessor listed first)."""
    last = max(timed.values(), key=lambda t: t.finish)
    path = [last.node.name]
    while timed[path[-1]].node.after:
        here = timed[path[-1]]
        path.append(max(here.node.after, key=lambda a: timed[a].finish))
    return path[::-1]


def floor(timed: dict[str, Timed]) -> float:
    return max(t.finish for t in timed.values())


def describe(timed: dict[str, Timed], profile: dict[str, tuple[float, float]], scale: float) -> list[str]:
    """The graph as a table: node, what it needs, cost, start and finish (seconds at this scale)."""
    path = set(critical_path(timed))
    lines = [f"  {'node':15} {'needs':34} {'cost':>7} {'start':>7} {'finish':>7}  (s at scale {scale:g}; * critical)"]
    for t in sorted(timed.values(), key=lambda t: (t.start, t.finish)):
        costs = " + ".join(operation(c, profile) for c in t.node.costs)
        lines.append(f"{'*' if t.node.name in path else ' '} {t.node.name:15} {', '.join(t.node.after) or '-':34} "
                     f"{t.cost:7.2f} {t.start:7.2f} {t.finish:7.2f}  {t.node.what} [{costs}]")
    return lines
