"""No compute target: the identity, vault, secret and grants only (AKS pods and GitHub Actions sign in through
federated credentials; a platform's identity only needs grants). Nothing is attached and no probe runs here."""

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


register(NoTargetKind())
