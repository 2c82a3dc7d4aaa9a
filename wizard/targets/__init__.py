"""Workload targets as units: where the workload runs with the identity (ACI, Batch, AKS, GitHub, a platform,
none).

Each target kind owns its spec table (`[target]` with `kind = "..."`, parsed into the kind's own dataclass: no
union of fields), its steps, its verification links, its next steps, its example and what its screens offer. The
engine, the spec, the draft, verify and the CLI know targets only through this registry.

A new target kind adds (and registers in BUILTIN below):
- `wizard/targets/<kind>.py`: its spec dataclass and its `TargetKind` (validation, groups, verify, next steps);
- `wizard/targets/<kind>_steps.py`: its steps (refresh -> plan -> apply), with their own step ids;
- `screens/target_<kind>.py`: its fields on the target screen, or a screen of its own, named in screens/order.py
  (the UI's side: wizard/ never names a screen);
- optionally `wizard/targets/<kind>_verify.py` when its links outgrow the kind's module;
plus `examples/<name>.toml`, its sandbox provider (`wizard/sandbox/providers/`) and its tests. Federated kinds
(AKS, GitHub) share `wizard/steps/federation.py`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ..spec import Spec
    from ..spec_workloads import ExtraGrantSpec
    from ..state import State
    from ..steps.base import Step
    from ..verify import Checker, Target

BUILTIN = ("wizard.targets.aci", "wizard.targets.batch", "wizard.targets.aks", "wizard.targets.github",
           "wizard.targets.platform", "wizard.targets.no_target")
"""Modules that register a target kind when imported (in the order the wizard offers them)."""


@dataclass
class TargetSpec:
    """What every target table has; a kind's dataclass adds its own fields."""

    kind: str = "none"
    resource_group: str = ""
    """Defaults to the setup's resource group."""


class TargetKind:
    """One kind of target. Subclasses set the class attributes and override what applies to them."""

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    """Short, for lists: "ACI"."""
    title: ClassVar[str] = ""
    """Long: "Azure Container Instances"."""
    spec_type: ClassVar[type[TargetSpec]] = TargetSpec
    example: ClassVar[str] = ""
    """The example spec's name in examples/ (without .toml), or "" for none."""
    choices: ClassVar[tuple[tuple[str, str], ...]] = ()
    """What the target screen offers for this kind: (choice, label), e.g. ("aci_new", "A new ACI container group")."""
    choice_note: ClassVar[str] = ""
    """Shown on the target screen when one of its choices is picked and it has no fields of its own."""
    grants_screen: ClassVar[bool] = True
    """Show the "other access" screen: False for a kind whose own fields ask whether it is wanted."""

    def steps(self) -> tuple[type[Step], ...]:
        return ()

    def groups(self, spec: Spec) -> list[str]:
        """Resource groups it lives in that the setup creates when missing."""
        return []

    def problems(self, spec: Spec) -> list[str]:
        """Every problem of its spec table that can be known without Azure, "label: what; how to fix"."""
        return []

    def choice_of(self, target: TargetSpec) -> str:
        """The target screen's choice that stands for this table (a kind's first, unless it says otherwise)."""
        return self.choices[0][0] if self.choices else ""

    def implied_grants(self, spec: Spec) -> list[ExtraGrantSpec]:
        """Grants the kind's own settings ask for (GitHub: the runner's role), made beside `[[grant_extra]]`."""
        return []

    def describe(self, target: dict[str, Any]) -> str:
        """A short description of the target from its spec table, e.g. "ACI cg-prefect"."""
        return ""

    def fill_verify_target(self, state: State, target: Target) -> None:
        """What verify needs to know from the state (the attached resource's id, ...)."""

    def check_attached(self, checker: Checker, identity: Any) -> Any:
        """Its "attached" link, when the verify target names its resource: returns what the probe needs (the
        resource read), or None when there is nothing of this kind to check or it does not exist."""
        return None

    def check_probe(self, checker: Checker, identity: Any, attached: Any, vault: Any, grant_ok: bool, *,
                    runnable: bool, verdict: dict[str, Any] | None) -> None:
        """Its live probe link(s): `verdict` when the probe already ran during apply; `runnable`: run it now."""

    def next_steps(self, spec: dict[str, Any], outputs: dict[str, dict[str, Any]], identity: dict[str, Any],
                   secret_uri: str) -> str:
        return ""


_KINDS: dict[str, TargetKind] = {}
_loaded: list[bool] = []


def register(kind: TargetKind) -> TargetKind:
    if kind.kind in _KINDS and type(_KINDS[kind.kind]) is not type(kind):
        raise ValueError(f"target kind {kind.kind!r} is registered twice")
    _KINDS[kind.kind] = kind
    return kind


def _load() -> dict[str, TargetKind]:
    if not _loaded:
        for module in BUILTIN:
            importlib.import_module(module)
        # In BUILTIN's order (the order the wizard offers them), whichever module was imported first.
        order = {module.rsplit(".", 1)[1]: n for n, module in enumerate(BUILTIN)}
        ranked = sorted(_KINDS.items(), key=lambda item: order.get(type(item[1]).__module__.rsplit(".", 1)[1],
                                                                    len(order)))
        _KINDS.clear()
        _KINDS.update(ranked)
        _loaded.append(True)
    return _KINDS


def kinds() -> list[TargetKind]:
    return list(_load().values())


def target_kind(kind: str) -> TargetKind:
    """The registered kind; ValueError naming the known ones for anything else."""
    found = _load().get(kind)
    if found is None:
        raise ValueError(f"'{kind}' is not a target kind; use one of {', '.join(_load())}.")
    return found


def choice_kind(choice: str) -> TargetKind:
    """The kind that offers a target-screen choice ("aci_new" -> ACI)."""
    for kind in kinds():
        if choice in (key for key, _ in kind.choices):
            return kind
    raise ValueError(f"'{choice}' is no target kind's choice")


def step_classes() -> list[type[Step]]:
    """Every target's steps, in registration order."""
    return [step for kind in kinds() for step in kind.steps()]
