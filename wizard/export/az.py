"""The setup as a bash script of Azure CLI commands.

It shows before it creates (safe to run again), stays off Microsoft Graph (role assignments name the identity by
object id with its principal type), waits out the known propagation errors visibly, and never puts the secret's
value on a command line: it is read from an environment variable or a file into a 0600 temporary file that
`az rest --body @FILE` sends as an ARM PUT of the secret (no data-plane access, as mi-wizard does by default).
"""

from __future__ import annotations

import json
import shlex

from ..targets.aci import CLIENT_ID_ENV, AciTarget
from ..targets.batch import BatchTarget
from .common import (
    API_VERSIONS,
    SECRET_ENV,
    SECRET_FILE_ENV,
    Source,
    check_exportable,
    federations,
    header_lines,
    policy_permissions,
    relative,
    role_grants,
    tags,
    used_types,
)

_HELPERS = r"""
say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'mi-wizard export: %s\n' "$*" >&2; exit 1; }
ERR_FILE=$(mktemp)
BODY_FILE=""
trap 'rm -f "$ERR_FILE" ${BODY_FILE:+"$BODY_FILE"}' EXIT

# exists CMD...: 0 when the command succeeds (its output on stdout), 1 when Azure answers "not found"; any other
# failure stops the script with az's message.
exists() {
  if "$@" 2>"$ERR_FILE"; then return 0; fi
  if grep -qiE 'NotFound|not found|could not be found|no deleted [a-z ]+ was found' "$ERR_FILE"; then return 1; fi
  cat "$ERR_FILE" >&2
  die "failed: $*"
}

# retry CMD...: run it; while it fails with one of Azure's known propagation errors, wait (visibly) and try again.
#   PrincipalNotFound: a new identity is not yet replicated in the directory (right after it was created);
#   403 Forbidden: a new grant is not yet effective (right after it was made; up to 10 minutes on a vault).
retry() {
  local waited=0 reason
  while true; do
    if "$@" 2>"$ERR_FILE"; then return 0; fi
    if grep -qE 'PrincipalNotFound|does not exist in the directory' "$ERR_FILE"; then
      reason="the new identity to replicate in the directory (PrincipalNotFound)"
    elif grep -qE 'Forbidden|\(403\)|ForbiddenByRbac' "$ERR_FILE"; then
      reason="the new grant to take effect (403 Forbidden)"
    else
      cat "$ERR_FILE" >&2
      die "failed: $*"
    fi
    if (( waited >= WAIT_LIMIT_S )); then
      cat "$ERR_FILE" >&2
      die "still waiting for $reason after ${waited}s; run this script again later (it resumes)"
    fi
    say "waiting for $reason: ${waited}s of at most ${WAIT_LIMIT_S}s, next try in ${WAIT_STEP_S}s"
    sleep "$WAIT_STEP_S"
    waited=$(( waited + WAIT_STEP_S ))
  done
}

# The secret's value as a JSON string, from $SECRET_ENV or the file $SECRET_FILE_ENV, escaped with bash
# builtins only (no process ever sees it in its arguments).
secret_body() {
  local value
  if [[ -n "${SECRET_FILE_ENV:-}" ]]; then
    [[ -r "$SECRET_FILE_ENV" ]] || die "cannot read the secret file \$SECRET_FILE_ENV ($SECRET_FILE_ENV)"
    value=$(<"$SECRET_FILE_ENV")
  elif [[ -n "${SECRET_ENV+set}" ]]; then
    value=$SECRET_ENV
  else
    die "the secret must be written: export SECRET_ENV=... (or SECRET_FILE_ENV=PATH) and run again"
  fi
  [[ -n "$value" ]] || die "the secret's value is empty"
  value=${value//\\/\\\\}
  value=${value//\"/\\\"}
  value=${value//$'\n'/\\n}
  value=${value//$'\r'/\\r}
  value=${value//$'\t'/\\t}
  umask 077
  BODY_FILE=$(mktemp)
  printf '{"properties": {"value": "%s"CONTENT_TYPE}, "tags": TAGS}' "$value" >"$BODY_FILE"
  unset value
}
""".replace("SECRET_FILE_ENV", SECRET_FILE_ENV).replace("SECRET_ENV", SECRET_ENV)


def q(value: str) -> str:
    return shlex.quote(value)


def render(source: Source) -> dict[str, str]:
    spec = source.spec
    check_exportable(spec)
    types = used_types(spec)
    out = ["#!/usr/bin/env bash"]
    out += [f"# {line}".rstrip() for line in header_lines(source, "az", types)]
    out += ["# Run it signed in with az (az login), as someone who may create these resources and assign roles.",
            "# Safe to run again: every resource is read before it is created. Nothing here calls Microsoft Graph.",
            "set -euo pipefail", ""]
    settings = [("SUBSCRIPTION", spec.subscription), ("RESOURCE_GROUP", spec.resource_group),
                ("LOCATION", spec.location), ("IDENTITY", spec.identity.name),
                ("IDENTITY_GROUP", spec.identity_group)]
    if spec.uses_vault:
        settings += [("VAULT", spec.vault.name), ("VAULT_GROUP", spec.vault_group), ("SECRET", spec.secret.name)]
    out += [f"{name}=${{{name}:-{q(value)}}}" for name, value in settings]
    out += ['WAIT_LIMIT_S=${MI_WIZARD_WAIT_LIMIT_S:-600}', 'WAIT_STEP_S=${MI_WIZARD_WAIT_STEP_S:-10}']
    tag_args = " ".join(q(f"{k}={v}") for k, v in tags(spec).items())
    content = f', "contentType": {json.dumps(spec.secret.content_type)}' if spec.secret.content_type else ""
    out.append(_HELPERS.replace("CONTENT_TYPE", content).replace("TAGS", json.dumps(tags(spec))))
    out += ['az account set --subscription "$SUBSCRIPTION"',
            'SUBSCRIPTION_ID=$(az account show --query id -o tsv)', ""]
    groups = [(spec.resource_group, '"$RESOURCE_GROUP"'), (spec.identity_group, '"$IDENTITY_GROUP"')]
    if spec.uses_vault:
        groups.append((spec.vault_group, '"$VAULT_GROUP"'))
    if spec.target.kind in ("aci", "batch"):
        groups.append((spec.target_group, q(spec.target_group)))
    refs: dict[str, str] = {}
    for group, ref in groups:
        refs.setdefault(group.lower(), ref)
    for ref in refs.values():
        out += [f"if ! exists az group show --name {ref} -o none; then", f"  say 'creating resource group' {ref}",
                f'  az group create --name {ref} --location "$LOCATION" --tags {tag_args} -o none', "fi"]
    out += _identity(spec.identity.existing, tag_args)
    if spec.uses_vault:
        out += _vault(source, tag_args)
    out += _grants(source)
    if isinstance(spec.target, AciTarget) and not spec.target.existing:
        out += _aci(spec.target, spec.target_group)
    if isinstance(spec.target, BatchTarget):
        out += _batch(spec.target, spec.target_group)
    out += _federations(source)
    out += ["", "say \"done: identity $IDENTITY_ID (client id $CLIENT_ID)\""]
    if spec.uses_vault:
        out += ['say "the workload reads ${VAULT_URI%/}/secrets/$SECRET"']
    return {"setup.sh": "\n".join(out) + "\n"}


def _identity(existing: bool, tag_args: str) -> list[str]:
    show = 'exists az identity show --resource-group "$IDENTITY_GROUP" --name "$IDENTITY" -o none'
    lines = ["", "# The user-assigned identity."]
    if existing:
        lines += [f"{show} || die \"identity.existing: no identity $IDENTITY in $IDENTITY_GROUP (it is never created "
                  "here)\""]
    else:
        lines += [f"if ! {show}; then", "  say \"creating identity $IDENTITY\"",
                  '  az identity create --resource-group "$IDENTITY_GROUP" --name "$IDENTITY" --location "$LOCATION" '
                  f"--tags {tag_args} -o none", "fi"]
    lines += ['IFS=\'|\' read -r IDENTITY_ID PRINCIPAL_ID CLIENT_ID < <(az identity show --resource-group "$IDENTITY_GROUP" '
              '--name "$IDENTITY" --query "join(\'|\', [id, principalId, clientId])" -o tsv)']
    return lines


def _vault(source: Source, tag_args: str) -> list[str]:
    spec = source.spec
    version = API_VERSIONS["Microsoft.KeyVault/vaults/secrets"]
    rbac = "true" if spec.vault.access_model == "rbac" else "false"
    create = (f'az keyvault create --resource-group "$VAULT_GROUP" --name "$VAULT" --location "$LOCATION" --sku '
              f"{q(spec.vault.sku)} --enable-rbac-authorization {rbac}"
              + (" --enable-purge-protection true" if spec.vault.purge_protection else "")
              + ("" if rbac == "true" else " --no-self-perms") + f" --tags {tag_args} -o none")
    lines = ["", "# The vault (soft delete is always on).",
             'if ! exists az keyvault show --resource-group "$VAULT_GROUP" --name "$VAULT" -o none; then']
    if spec.vault.if_soft_deleted == "recover":
        lines += ['  if exists az keyvault show-deleted --name "$VAULT" -o none; then',
                  '    say "recovering the soft-deleted vault $VAULT"',
                  '    az keyvault recover --name "$VAULT" -o none', "  else",
                  '    say "creating vault $VAULT"', f"    {create}", "  fi"]
    else:
        lines += ['  say "creating vault $VAULT"', f"  {create}"]
    lines += ["fi",
              'IFS=\'|\' read -r VAULT_ID VAULT_URI < <(az keyvault show --resource-group "$VAULT_GROUP" --name "$VAULT" '
              '--query "join(\'|\', [id, properties.vaultUri])" -o tsv)',
              'SECRET_ID="$VAULT_ID/secrets/$SECRET"', "",
              "# The secret, written through ARM (Contributor is enough; no data-plane role, no propagation wait)."]
    keep = "" if spec.secret.new_version else (f'if exists az rest --method get --url "$SECRET_ID?api-version={version}"'
                                                " -o none; then\n  say \"secret $SECRET exists; it is kept as it is\"\n"
                                                "else\n")
    lines += [keep + '  secret_body',
              '  say "writing secret $SECRET through Azure Resource Manager"',
              f'  retry az rest --method put --url "$SECRET_ID?api-version={version}" --body "@$BODY_FILE" '
              "--headers Content-Type=application/json -o none",
              '  rm -f "$BODY_FILE"' + ("\nfi" if keep else "")]
    return lines


def _scope(scope: str) -> str:
    if scope == "secret":
        return '"$SECRET_ID"'
    if scope == "vault":
        return '"$VAULT_ID"'
    return f'"/subscriptions/$SUBSCRIPTION_ID/{scope.lstrip("/")}"' if relative(scope) else q(scope)


def _grants(source: Source) -> list[str]:
    spec = source.spec
    lines: list[str] = []
    if spec.uses_vault and spec.vault.access_model != "rbac":
        perms = " ".join(policy_permissions(spec))
        lines += ["", "# Read access: an access policy (it covers every secret in the vault).",
                  f'retry az keyvault set-policy --resource-group "$VAULT_GROUP" --name "$VAULT" --object-id '
                  f'"$PRINCIPAL_ID" --secret-permissions {perms} -o none']
    for grant in role_grants(spec):
        scope = _scope(grant.scope)
        lines += ["", f"# {grant.role}" + (f": {grant.note}" if grant.note else "") + ".",
                  f"SCOPE={scope}",
                  'HELD=$(az role assignment list --scope "$SCOPE" --fill-principal-name false '
                  '--fill-role-definition-name false --query "length([?principalId==\'$PRINCIPAL_ID\' && '
                  f"ends_with(roleDefinitionId, '/{grant.role_guid}')])\" -o tsv)",
                  'if [[ "$HELD" == 0 ]]; then',
                  f"  say {q(f'granting {grant.role} on')} \"$SCOPE\"",
                  '  retry az role assignment create --assignee-object-id "$PRINCIPAL_ID" --assignee-principal-type '
                  f'ServicePrincipal --role {grant.role_guid} --scope "$SCOPE" --description '
                  f"{q(f'mi-wizard setup {spec.name}')} -o none", "fi"]
    return lines


def _aci(target: AciTarget, group: str) -> list[str]:
    env = " ".join(q(f"{k}={v}") for k, v in target.environment.items() if k != CLIENT_ID_ENV)
    command = f" --command-line {q(shlex.join(target.command))}" if target.command else ""
    return ["", "# The container group, with the identity and AZURE_CLIENT_ID (so the workload picks it).",
            f"if ! exists az container show --resource-group {q(group)} --name {q(target.container_group)} -o none; "
            "then",
            f"  say 'creating container group {target.container_group}'",
            f"  az container create --resource-group {q(group)} --name {q(target.container_group)} --location "
            f'"$LOCATION" --image {q(target.image)} --os-type Linux --cpu {target.cpu:g} --memory '
            f"{target.memory_gb:g} --restart-policy {q(target.restart_policy)} --assign-identity \"$IDENTITY_ID\" "
            f'--environment-variables {CLIENT_ID_ENV}="$CLIENT_ID"' + (f" {env}" if env else "") + command + " -o none", "fi"]


def _batch(target: BatchTarget, group: str) -> list[str]:
    version = API_VERSIONS["Microsoft.Batch/batchAccounts/pools"]
    url = (f'"/subscriptions/$SUBSCRIPTION_ID/resourceGroups/{group}/providers/Microsoft.Batch/batchAccounts/'
           f'{target.account}/pools/{target.pool}?api-version={version}"')
    lines = ["", f"# The Batch pool {target.pool} (account {target.account}, never created here)."]
    if target.existing:
        return lines + [
            f"IDS=$(az rest --method get --url {url} --query 'keys(identity.userAssignedIdentities || `{{}}`)' "
            "-o tsv)",
            'if ! grep -qixF "$IDENTITY_ID" <<<"$IDS"; then',
            f"  say 'adding the identity to pool {target.pool} (its nodes get it when they boot)'",
            '  MAP="\\"$IDENTITY_ID\\": {}"',
            '  while read -r id; do [[ -n "$id" ]] && MAP="$MAP, \\"$id\\": {}"; done <<<"$IDS"',
            f'  az rest --method patch --url {url} --body "{{\\"identity\\": {{\\"type\\": \\"UserAssigned\\", '
            '\\"userAssignedIdentities\\": {$MAP}}}" -o none', "fi"]
    publisher, offer, sku, version_ = target.node_image.split(":")
    props = {"vmSize": target.vm_size, "deploymentConfiguration": {"virtualMachineConfiguration": {
        "imageReference": {"publisher": publisher, "offer": offer, "sku": sku, "version": version_},
        "nodeAgentSkuId": target.node_agent_sku}}, "scaleSettings": {"fixedScale": {
            "targetDedicatedNodes": target.dedicated_nodes, "targetLowPriorityNodes": target.low_priority_nodes}}}
    body = json.dumps({"identity": {"type": "UserAssigned", "userAssignedIdentities": {"IDENTITY_ID": {}}},
                       "properties": props})
    body = q(body).replace("IDENTITY_ID", "'\"$IDENTITY_ID\"'")
    return lines + [f"if ! exists az rest --method get --url {url} -o none; then",
                    f"  say 'creating pool {target.pool} with the identity'",
                    f"  az rest --method put --url {url} --body {body} -o none", "fi"]


def _federations(source: Source) -> list[str]:
    lines: list[str] = []
    for fed in federations(source.spec):
        issuer = q(fed.issuer)
        lines.append("")
        if fed.cluster:
            lines += [f"ISSUER=$(az aks show --resource-group {q(fed.cluster_group)} --name {q(fed.cluster)} --query "
                      "oidcIssuerProfile.issuerUrl -o tsv)",
                      f'[[ -n "$ISSUER" ]] || die "cluster {fed.cluster} has no OIDC issuer: az aks update '
                      f'--resource-group {fed.cluster_group} --name {fed.cluster} --enable-oidc-issuer '
                      '--enable-workload-identity"']
            issuer = '"$ISSUER"'
        lines += [f"# Federated credential {fed.name}: {fed.subject}.",
                  'if ! exists az identity federated-credential show --resource-group "$IDENTITY_GROUP" '
                  f'--identity-name "$IDENTITY" --name {q(fed.name)} -o none; then',
                  f"  say {q(f'federating {fed.subject}')}",
                  '  retry az identity federated-credential create --resource-group "$IDENTITY_GROUP" '
                  f'--identity-name "$IDENTITY" --name {q(fed.name)} --issuer {issuer} --subject {q(fed.subject)} '
                  f"--audiences {q(fed.audience)} -o none", "fi"]
    return lines
