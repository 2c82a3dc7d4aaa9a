"""No compute target: the identity, vault, secret and grants only; the identity is attached later, by hand.
Nothing is attached and no probe runs here."""

from __future__ import annotations

from dataclasses import dataclass

from . import TargetKind, TargetSpec, register


@dataclass
class NoTarget(TargetSpec):
    kind: str = "none"


class NoTargetKind(TargetKind):
    kind = "none"
    label = ""
    title = "No compute target"
    spec_type = NoTarget
    choices = (("none", "No compute target (identity, vault and grants only)"),)
    choice_note = "No compute target: verification checks the identity, its grants and the secret (no live probe)."


register(NoTargetKind())
