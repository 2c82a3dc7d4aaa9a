"""What to do with a finished setup: the "next steps" text per workload, built from the state alone.

ACI (Prefect): the work pool's identity field and AZURE_CLIENT_ID; Batch: the job-code snippet; AKS: the
ServiceAccount manifest and the pod label; GitHub: the workflow snippet. Every snippet names the identity by
its client id: a workload that can see several identities must say which one (AZURE_FACTS B6).
No secret value is ever here: only names, ids and the secret's URI.
"""

from __future__ import annotations

from typing import Any

RULE = "-" * 72


def next_steps(spec: dict[str, Any], outputs: dict[str, dict[str, Any]]) -> str:
    """The next steps for a setup whose spec (as a dict) and step outputs (by step id) are given."""
    identity = outputs.get("identity") or {}
    if not identity.get("client_id"):
        return ""
    sections = [_identity(identity)]
    secret_uri = _secret_uri(spec, outputs)
    from .targets import target_kind
    target = target_kind((spec.get("target") or {}).get("kind") or "none").next_steps(spec, outputs, identity,
                                                                                        secret_uri)
    if target:
        sections.append(target)
    elif secret_uri:
        sections.append(_read_secret(identity, secret_uri, "Code that runs with this identity reads the secret so:"))
    grants = (outputs.get("grants") or {}).get("grants", [])
    if grants:
        sections.append(_grants(identity, grants, str(spec.get("cloud") or "public")))
    return f"\n{RULE}\n".join(s.rstrip() for s in sections if s) + "\n"


def next_steps_for_state(state: Any) -> str:
    return next_steps(state.spec, {step_id: record.outputs for step_id, record in state.steps.items()})


def _identity(identity: dict[str, Any]) -> str:
    return (f"Identity {identity.get('name')}\n"
            f"  client id:   {identity['client_id']}\n"
            f"  tenant id:   {identity.get('tenant_id', '')}\n"
            f"  resource id: {identity.get('id', '')}")


def _secret_uri(spec: dict[str, Any], outputs: dict[str, dict[str, Any]]) -> str:
    vault_uri = (outputs.get("vault") or {}).get("vault_uri", "")
    name = (spec.get("secret") or {}).get("name", "")
    if not vault_uri or not (spec.get("vault") or {}).get("name"):
        return ""
    return f"{vault_uri.rstrip('/')}/secrets/{name}"


def python_reader(client_id: str, secret_uri: str, client_id_expr: str | None = None) -> str:
    vault_url, _, name = secret_uri.partition("/secrets/")
    return (f"    from azure.identity import ManagedIdentityCredential\n"
            f"    from azure.keyvault.secrets import SecretClient\n\n"
            f"    credential = ManagedIdentityCredential(client_id={client_id_expr or repr(client_id)})\n"
            f"    value = SecretClient({vault_url + '/'!r}, credential).get_secret({name!r}).value")


def _read_secret(identity: dict[str, Any], secret_uri: str, intro: str) -> str:
    return f"{intro}\n\n{python_reader(identity['client_id'], secret_uri)}"


def _grants(identity: dict[str, Any], grants: list[dict[str, Any]], cloud: str = "public") -> str:
    lines = [f"Other access for {identity.get('name')}:"]
    for g in grants:
        lines.append(f"  - {g.get('role')} on {g.get('label') or g.get('scope')}"
                     + (f" ({g['note']})" if g.get("note") else ""))
        snippet = _grant_snippet(identity, g.get("scope", ""), cloud)
        if snippet:
            lines.append(f"      {snippet}")
    return "\n".join(lines)


def subscription_of(rid: str) -> str:
    # Imported here, as below: wizard.azure.scopes loads the Azure SDK, and target kinds (imported with the spec,
    # before the UI signs in) reach this module.
    from .azure import scopes
    try:
        return scopes.subscription_of(rid)
    except ValueError:
        return ""  # the snippet shows an empty subscription-id rather than failing the whole text


def _grant_snippet(identity: dict[str, Any], scope: str, cloud: str = "public") -> str:
    """How the workload uses a grant on this scope: its storage account, registry or vault (a container's,
    a secret's, are their top-level resource's)."""
    from .azure import scopes
    try:
        info = scopes.parse(scope)
    except ValueError:
        return ""
    top = info.top_type
    if top == "microsoft.storage/storageaccounts":
        from .azure.clouds import CLOUDS, PUBLIC
        suffix = CLOUDS.get(cloud, PUBLIC).storage_suffix  # each cloud's storage DNS suffix
        return f"BlobServiceClient('https://{info.names[0]}.blob.{suffix}', credential)"
    if top == "microsoft.containerregistry/registries":
        return f"az login --identity --client-id {identity['client_id']} && az acr login --name {info.names[0]}"
    if top == "microsoft.keyvault/vaults":
        return f"SecretClient(<vault {info.names[0]}'s URI>, credential).get_secret(NAME)"
    return ""
