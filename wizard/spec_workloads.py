"""The spec's workload parts beyond the target: grants on other resources, and the federation constants the AKS
and GitHub targets share.

Kept apart from spec.py (which re-exports them) so each module stays small; validation is in spec_rules.py.
"""

from __future__ import annotations

from dataclasses import dataclass

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
"""The public cloud's token-exchange audience: a spec's default. Each cloud has its own (wizard/azure/clouds.py,
which cites Microsoft's list): `token_exchange_audience` turns the default into the setup's cloud's."""
MAX_FEDERATED_CREDENTIALS = 20
"""Azure's limit per user-assigned identity."""


def token_exchange_audience(cloud: str, audience: str = TOKEN_EXCHANGE_AUDIENCE) -> str:
    """The audience a federated credential of a setup in `cloud` is written with: the spec's own, except that the
    default (the public cloud's) becomes the cloud's own, which is what its Entra ID and azure/login expect."""
    from .azure.clouds import CLOUDS
    if audience == TOKEN_EXCHANGE_AUDIENCE and cloud in CLOUDS:
        return CLOUDS[cloud].token_exchange_audience
    return audience


@dataclass
class ExtraGrantSpec:
    """A role for the identity on another resource (a storage container, a registry, another vault's secret)."""

    role: str = ""
    """A role from mi-wizard's curated least-privilege list (see `mi-wizard roles`), by name."""
    scope: str = ""
    """The resource's id: /subscriptions/... or relative to the setup's subscription (resourceGroups/...)."""
    note: str = ""
    """Why the grant exists (kept in the state and shown by verify)."""
    allow_any_role: bool = False
    """True: accept a role outside the curated list (you have checked what it allows)."""
