"""A state file belongs to one setup. Applying another setup's spec to it would adopt, change or (with destroy)
remove resources the spec never named, so it is refused before anything is read: a spec whose name is another
setup's file, or a spec with a setup's name that describes different resources (another subscription, group,
identity or kind of target) once that setup has made something."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .spec import Spec
    from .state import State

IDENTIFYING = (("subscription", "subscription"), ("resource_group", "resource group"))


def binding_problem(state: State, spec: Spec, path: str) -> str | None:
    """Why `spec` may not be applied with this state file, with the fix; None when it may."""
    if state.name != spec.name:
        return (f"The state file {path} belongs to setup '{state.name}', not to '{spec.name}' (the spec's name). "
                f"Leave out --state (each setup has its own file), or use setup '{state.name}''s own spec.")
    if not any(record.status == "done" for record in state.steps.values()):
        return None  # nothing made yet: the spec may still change freely
    recorded = state.spec
    changes = [f"{label} {recorded.get(key)!r} -> {getattr(spec, key)!r}" for key, label in IDENTIFYING
               if recorded.get(key) and str(recorded.get(key)).lower() != str(getattr(spec, key)).lower()]
    identity = recorded.get("identity") or {}
    if identity.get("name") and identity["name"].lower() != spec.identity.name.lower():
        changes.append(f"identity {identity['name']!r} -> {spec.identity.name!r}")
    kind = (recorded.get("target") or {}).get("kind")
    if kind and kind != spec.target.kind:
        changes.append(f"target kind {kind!r} -> {spec.target.kind!r}")
    if not changes:
        return None
    return (f"A setup named '{spec.name}' already exists ({path}) and made resources this spec does not describe: "
            f"{'; '.join(changes)}. This is a different setup: give the spec another name, or remove the old one "
            f"first (mi-wizard destroy {spec.name}).")
