"""An Azure Batch pool as a target: an existing pool gains the identity (PATCH with the full identity map), or a
new pool is created with it; its nodes get it only when they boot (the confirmed scale-to-0-and-restore); a
probe task on the pool proves it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import TargetKind, TargetSpec, register

if TYPE_CHECKING:
    from ..spec import Spec
    from ..state import State
    from ..steps.base import Step
    from ..verify import Checker, Target


@dataclass
class BatchTarget(TargetSpec):
    kind: str = "batch"
    account: str = ""
    """The Batch account (in `resource_group`, default the setup's); mi-wizard never creates accounts."""
    pool: str = ""
    existing: bool = False
    """True: add the identity to this existing pool; False: create the pool with the identity."""
    vm_size: str = "STANDARD_D2S_V3"
    """A new pool only: its VM size."""
    node_image: str = "canonical:ubuntu-24_04-lts:server:latest"
    """A new pool only: publisher:offer:sku:version of its Virtual Machine Configuration image."""
    node_agent_sku: str = "batch.node.ubuntu 24.04"
    dedicated_nodes: int = 1
    """A new pool only: its fixed dedicated node count (the probe task needs at least one node)."""
    low_priority_nodes: int = 0
    rescale_for_identity: bool = False
    """Batch nodes keep the identities they booted with. True: scale the pool to 0 and back to its current
    counts so its nodes get the identity (running tasks finish first; the pool has no nodes meanwhile)."""


def batch_target(spec: Spec) -> BatchTarget:
    """The spec's target as the Batch table it is (the Batch steps run only for kind "batch")."""
    assert isinstance(spec.target, BatchTarget), f"not a Batch target: {spec.target.kind}"
    return spec.target


def batch_problems(target: BatchTarget) -> list[str]:
    from ..azure import names
    problems = []
    for label, message in (("target.account", names.validate_batch_account_name(target.account)),
                           ("target.pool", names.validate_pool_name(target.pool))):
        if message:
            problems.append(f"{label}: {message}")
    for label, count in (("target.dedicated_nodes", target.dedicated_nodes),
                         ("target.low_priority_nodes", target.low_priority_nodes)):
        if count < 0:
            problems.append(f"{label}: {count} is not a node count; use 0 or more (a new pool needs at least one "
                            "node to run the probe, e.g. dedicated_nodes = 1).")
    if not target.existing:
        if len(target.node_image.split(":")) != 4:
            problems.append(f"target.node_image: '{target.node_image}' is not publisher:offer:sku:version, e.g. "
                            "\"canonical:ubuntu-24_04-lts:server:latest\".")
        if not target.vm_size or not target.node_agent_sku:
            problems.append("target.vm_size / node_agent_sku: a new pool needs both (defaults fit Ubuntu 24.04).")
    return problems


class BatchKind(TargetKind):
    kind = "batch"
    label = "Batch"
    title = "Azure Batch pool"
    spec_type = BatchTarget
    example = "batch-pool"
    choices = (("batch_existing", "An existing Azure Batch pool (the identity is added to it)"),
               ("batch_new", "A new Azure Batch pool, created with the identity"))

    def choice_of(self, target: TargetSpec) -> str:
        return "batch_existing" if getattr(target, "existing", False) else "batch_new"

    def steps(self) -> tuple[type[Step], ...]:
        from .batch_rescale import RescaleStep
        from .batch_steps import BatchStep
        return (BatchStep, RescaleStep)

    def problems(self, spec: Spec) -> list[str]:
        assert isinstance(spec.target, BatchTarget)
        return batch_problems(spec.target)

    def describe(self, target: dict[str, Any]) -> str:
        return f"{self.label} {target.get('pool', '')}".strip()

    def fill_verify_target(self, state: State, target: Target) -> None:
        from .batch_rescale import stale_nodes_recorded
        target.pool_id = state.step("batch").outputs.get("id", "")
        target.pool_nodes_stale = stale_nodes_recorded(state, include_verify=False)

    def check_attached(self, checker: Checker, identity: Any) -> Any:
        from .batch_verify import check_pool
        return check_pool(checker, identity) if checker.target.pool_id else None

    def check_probe(self, checker: Checker, identity: Any, pool: Any, vault: Any, grant_ok: bool, *,
                    runnable: bool, verdict: dict[str, Any] | None) -> None:
        from .batch_verify import check_nodes_and_probe
        check_nodes_and_probe(checker, identity, pool, vault, grant_ok, probe=runnable)

    def next_steps(self, spec: dict[str, Any], outputs: dict[str, dict[str, Any]], identity: dict[str, Any],
                   secret_uri: str) -> str:
        from ..outputs import python_reader
        target = outputs.get("batch") or {}
        pool = target.get("name") or (spec.get("target") or {}).get("pool", "")
        text = (f"Azure Batch pool {pool} (account {target.get('account', '')})\n"
                "  Job code on the pool's nodes gets tokens from the node's IMDS. Name the identity by its client id\n"
                "  (a pool can carry several identities), e.g. in the job's environment settings:\n"
                f"      AZURE_CLIENT_ID={identity['client_id']}")
        if secret_uri:
            text += "\n\n  Job code:\n\n" + python_reader(identity["client_id"], secret_uri)
        rescale = outputs.get("rescale") or {}
        if target.get("nodes_without_identity") and rescale.get("phase") != "done":
            text += ("\n\n  NOTE: the pool's nodes booted before the identity was added and do not have it. Scale "
                     "the\n  pool to 0 and back (set target.rescale_for_identity = true and apply again) before "
                     "running jobs.")
        return text


register(BatchKind())
