"""Validation of the spec's extra grants: each problem says what is wrong and how to fix it. Only what can be
known without Azure; the plan checks the rest (scopes exist, etc.)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .spec import Spec


def grant_problems(spec: Spec) -> list[str]:
    from .azure import roles
    problems: list[str] = []
    for n, grant in enumerate(spec.grant_extra):
        label = f"grant_extra[{n}]"
        if not grant.role:
            problems.append(f"{label}.role: choose a role, e.g. \"Storage Blob Data Reader\" ({roles.curated_names()}).")
        elif roles.find(grant.role) is None and not grant.allow_any_role:
            problems.append(f"{label}.role: '{grant.role}' is not in mi-wizard's least-privilege list "
                            f"({roles.curated_names()}). Pick one of those, or set allow_any_role = true once you "
                            "have checked what the role allows.")
        if not grant.scope:
            problems.append(f"{label}.scope: give the resource id (/subscriptions/.../providers/... or "
                            "resourceGroups/RG/providers/...).")
        elif not (grant.scope.startswith("/subscriptions/") or grant.scope.lower().lstrip("/").startswith(
                "resourcegroups/")):
            problems.append(f"{label}.scope: '{grant.scope}' is neither a full resource id (/subscriptions/...) nor "
                            "relative to the setup's subscription (resourceGroups/...).")
    return problems
