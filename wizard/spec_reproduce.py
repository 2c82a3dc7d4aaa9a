"""The spec's `[reproduce]` table: links a captured setup had broken, rebuilt broken on the sandbox.

`mi-wizard capture` writes it from doctor's findings on a setup made elsewhere; `apply --sandbox` makes the
setup as usual and then breaks exactly these links (wizard/reproduce.py), so `doctor` on the replay reports what
it reported on the original. It is honoured only on the sandbox: anywhere else the spec is refused before any
write. Empty (the default) means nothing is broken, and the table is left out of saved specs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .spec import Spec

WRONG_CLIENT_ID = "00000000-0000-0000-0000-00000000c1d0"
"""What the containers set as AZURE_CLIENT_ID when the original's wrong value names nothing on the replay."""


@dataclass
class ReproduceSpec:
    grant_missing: bool = False
    """The identity holds no grant that reads the secret (the role assignment or access policy is removed)."""
    not_attached: bool = False
    """The container group or Batch pool does not carry the identity (the group re-deployed without it, the pool's
    identity map PATCHed without it)."""
    wrong_client_id: bool = False
    """The containers set AZURE_CLIENT_ID to something other than the identity's client id."""
    decoy_identity: str = ""
    """With wrong_client_id: a second identity (created in the setup's group) attached beside the identity, whose
    client id the containers set, as when a group carries two identities and picks the wrong one."""
    secret_disabled: bool = False
    """The secret exists but is disabled."""
    missing_credentials: list[str] = field(default_factory=list)
    """AKS / GitHub targets: the names of the target's federated credentials deleted from the identity after apply
    (doctor then finds no credential trusting their subjects)."""

    def any(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def broken(self) -> list[str]:
        """The links this table breaks, as doctor names them."""
        out = []
        if self.not_attached or (self.wrong_client_id and self.decoy_identity):
            out.append("attached")
        if self.grant_missing:
            out.append("grant")
        if self.secret_disabled:
            out.append("secret")
        out += [f"federation:{name}" for name in self.missing_credentials]
        return out


def reproduce_problems(spec: Spec) -> list[str]:
    """What cannot be rebuilt broken as the table says (known without Azure)."""
    from .azure import names
    r = spec.reproduce
    problems: list[str] = []
    if (r.grant_missing or r.secret_disabled) and not spec.uses_vault:
        problems.append("reproduce: grant_missing and secret_disabled need a vault and a secret ([vault] name).")
    if r.not_attached and spec.target.kind not in ("aci", "batch"):
        problems.append(f"reproduce: not_attached breaks a container group or a Batch pool; this setup's target is "
                        f"kind = \"{spec.target.kind}\". Remove it or use kind = \"aci\" or \"batch\".")
    if r.wrong_client_id and spec.target.kind != "aci":
        problems.append(f"reproduce: wrong_client_id breaks a container group; this setup's target is kind = "
                        f"\"{spec.target.kind}\". Remove it or use kind = \"aci\".")
    if r.not_attached and r.wrong_client_id:
        problems.append("reproduce: not_attached and wrong_client_id exclude each other (a group that does not "
                        "carry the identity has no client id to get wrong); keep one.")
    if r.missing_credentials:
        known = {n.lower() for n in credential_names(spec)}
        if not known:
            problems.append(f"reproduce.missing_credentials: deletes federated credentials of an AKS or GitHub target; "
                            f"this setup's target is kind = \"{spec.target.kind}\". Remove it.")
        else:
            for name in r.missing_credentials:
                if name.lower() not in known:
                    problems.append(f"reproduce.missing_credentials: '{name}' is not one of the target's credentials "
                                    f"({', '.join(sorted(credential_names(spec)))}).")
    if r.decoy_identity:
        if not r.wrong_client_id:
            problems.append("reproduce.decoy_identity: only with wrong_client_id = true.")
        message = names.validate_identity_name(r.decoy_identity)
        if message:
            problems.append(f"reproduce.decoy_identity: {message}")
        elif r.decoy_identity.lower() == spec.identity.name.lower():
            problems.append("reproduce.decoy_identity: must differ from the identity's name.")
    return problems


def credential_names(spec: Spec) -> list[str]:
    """The names of the federated credentials the spec's AKS or GitHub target makes (none for other kinds)."""
    from .targets.aks import AksTarget
    from .targets.github import GithubTarget
    if isinstance(spec.target, AksTarget):
        return [spec.target.name]
    if isinstance(spec.target, GithubTarget):
        return [c.credential_name(spec.target.repository) for c in spec.target.credentials]
    return []
