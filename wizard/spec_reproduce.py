"""The spec's `[reproduce]` table: links a captured setup had broken, rebuilt broken on the sandbox.

`mi-wizard capture` writes it from doctor's findings on a setup made elsewhere; `apply --sandbox` makes the
setup as usual and then breaks exactly these links (wizard/reproduce.py), so `doctor` on the replay reports what
it reported on the original. It is honoured only on the sandbox: anywhere else the spec is refused before any
write. Empty (the default) means nothing is broken, and the table is left out of saved specs.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
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
    """The container group does not carry the identity (re-deployed without it)."""
    wrong_client_id: bool = False
    """The containers set AZURE_CLIENT_ID to something other than the identity's client id."""
    decoy_identity: str = ""
    """With wrong_client_id: a second identity (created in the setup's group) attached beside the identity, whose
    client id the containers set, as when a group carries two identities and picks the wrong one."""
    secret_disabled: bool = False
    """The secret exists but is disabled."""

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
        return out


def reproduce_problems(spec: Spec) -> list[str]:
    """What cannot be rebuilt broken as the table says (known without Azure)."""
    from .azure import names
    r = spec.reproduce
    problems: list[str] = []
    if (r.grant_missing or r.secret_disabled) and not spec.uses_vault:
        problems.append("reproduce: grant_missing and secret_disabled need a vault and a secret ([vault] name).")
    if (r.not_attached or r.wrong_client_id) and spec.target.kind != "aci":
        problems.append(f"reproduce: not_attached and wrong_client_id break a container group; this setup's target "
                        f"is kind = \"{spec.target.kind}\". Remove them or use kind = \"aci\".")
    if r.not_attached and r.wrong_client_id:
        problems.append("reproduce: not_attached and wrong_client_id exclude each other (a group that does not "
                        "carry the identity has no client id to get wrong); keep one.")
    if r.decoy_identity:
        if not r.wrong_client_id:
            problems.append("reproduce.decoy_identity: only with wrong_client_id = true.")
        message = names.validate_identity_name(r.decoy_identity)
        if message:
            problems.append(f"reproduce.decoy_identity: {message}")
        elif r.decoy_identity.lower() == spec.identity.name.lower():
            problems.append("reproduce.decoy_identity: must differ from the identity's name.")
    return problems
