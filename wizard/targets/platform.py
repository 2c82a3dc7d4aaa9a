"""A platform's identity as a target: the workload runs on a platform (Union.ai, Databricks, a CI system) that
signs in as the identity itself, usually one the platform made (`identity.existing = true`). mi-wizard attaches
nothing: it gives the identity the secret and the `[[grant_extra]]` roles the platform's tasks need, and proves
each grant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import TargetKind, TargetSpec, register

if TYPE_CHECKING:
    from ..spec import Spec


@dataclass
class PlatformTarget(TargetSpec):
    kind: str = "platform"
    platform: str = ""
    """What runs the workload, for the next steps (e.g. "Union.ai"); optional."""


class PlatformKind(TargetKind):
    kind = "platform"
    label = "Platform"
    title = "A platform's identity (grants only)"
    spec_type = PlatformTarget
    example = "platform-grants"
    choices = (("platform", "A platform's own identity: grants only (the platform signs in as it)"),)
    choice_note = ("The platform signs in as the identity itself: mi-wizard gives it the secret and the other "
                   "access you choose next, and proves each grant (no live probe).")

    def problems(self, spec: Spec) -> list[str]:
        if not spec.uses_vault and not spec.grant_extra:
            return ["target: a platform's identity needs something to read: a vault and secret, or at least one "
                    "[[grant_extra]]."]
        return []

    def describe(self, target: dict[str, Any]) -> str:
        return f"{self.label} {target.get('platform', '')}".strip()

    def next_steps(self, spec: dict[str, Any], outputs: dict[str, dict[str, Any]], identity: dict[str, Any],
                   secret_uri: str) -> str:
        from ..outputs import python_reader
        platform = (spec.get("target") or {}).get("platform") or "The platform"
        text = (f"{platform} signs in as {identity.get('name')} (client id {identity['client_id']}).\n"
                "  Its tasks name the identity by that client id (AZURE_CLIENT_ID) when the platform's nodes carry "
                "several.")
        if secret_uri:
            text += "\n\n  Task code reads the secret:\n\n" + python_reader(identity["client_id"], secret_uri)
        return text


register(PlatformKind())
