"""The live probe's verdict, whatever ran it (an ACI probe group, a Batch task): the link it proves or breaks.

Each target runs the probe its own way (wizard/targets/aci_probe.py, wizard/targets/batch_verify.py): it runs
`wizard/probe.py` (stdlib only) with the workload's identity and prints one JSON verdict line, never the value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .verify import Link


def verdict_link(verdict: dict[str, Any], grant_ok: bool, identity: Any) -> Link:
    from .verify import Link
    if verdict.get("ok"):
        return Link("probe", True, f"The workload read the secret with its identity (version {verdict.get('version')}).")
    code = verdict.get("code") or "unknown"
    stage = verdict.get("stage")
    if verdict.get("transient"):
        return Link("probe", False, f"Could not check now: {code}: {verdict.get('message', '')} (a transient "
                                    "failure, not a broken link).", "Run `mi-wizard verify` again in a minute.",
                    pending=True)
    if stage == "imds":
        return Link("probe", False, f"The container could not get a token for {identity.name} ({code}: "
                                    f"{verdict.get('message', '')}): the identity is not attached or the client id is "
                                    "wrong.", f"Attach {identity.name} and set AZURE_CLIENT_ID={identity.client_id}.")
    if code in ("ForbiddenByRbac", "AccessDenied", "Forbidden"):
        if grant_ok:
            return Link("probe", False, "Key Vault refused the identity although a grant exists.",
                        "Wait for propagation and verify again.", pending=True)
        return Link("probe", False, f"Key Vault refused the identity ({code}): it has no grant, and waiting will "
                                    "not help.", "Grant Key Vault Secrets User on the secret.")
    if code == "SecretDisabled":
        return Link("probe", False, "The secret is disabled.", "Enable the secret.")
    if code == "SecretNotFound":
        return Link("probe", False, "The secret does not exist.", "Create the secret.")
    return Link("probe", False, f"The probe failed: {code}: {verdict.get('message', '')}",
                "Check the vault's network rules (public access, firewall) and the probe image.")
