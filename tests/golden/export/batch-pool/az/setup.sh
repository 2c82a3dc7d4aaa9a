#!/usr/bin/env bash
# mi-wizard export --format az: setup "batch-pool" (from batch-pool.toml).
# It makes:
#   - resource group rg-batch-jobs (westeurope)
#   - identity id-batch-etl
#   - vault kv-batch-etl (Azure RBAC) and its secret db-password
#   - read grant: Key Vault Secrets User on the secret
#   - grant: Storage Blob Data Contributor on resourceGroups/rg-platform/providers/Microsoft.Storage/storageAccounts/stcontosodata/blobServices/default/containers/raw
#   - Batch pool pool-etl in account contosobatch with the identity (existing: the identity is added)
# API versions:
#   - Microsoft.Resources/resourceGroups@2025-04-01
#   - Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30
#   - Microsoft.KeyVault/vaults@2026-05-15
#   - Microsoft.KeyVault/vaults/secrets@2026-05-15
#   - Microsoft.Authorization/roleAssignments@2022-04-01
#   - Microsoft.Batch/batchAccounts/pools@2025-06-01
# Not covered:
#   - the live probe (the target reading the secret with the identity): run `mi-wizard verify` or `mi-wizard doctor` after it
#   - the pool's scale to 0 and back so that running nodes get the identity (rescale_for_identity): nodes keep the identities they booted with; rescale the pool when it is idle
#   - a secret name held by a soft-deleted secret (recover it first: `az keyvault secret recover --vault-name kv-batch-etl --name db-password`)
#   - adopting a vault that exists already: it is used as it is
#   - verification: run `mi-wizard doctor --identity ID ...` on what it made
# It holds no secret value: the secret comes from $MI_WIZARD_SECRET or the file $MI_WIZARD_SECRET_FILE.
# Run it signed in with az (az login), as someone who may create these resources and assign roles.
# Safe to run again: every resource is read before it is created. Nothing here calls Microsoft Graph.
set -euo pipefail

SUBSCRIPTION=${SUBSCRIPTION:-'Contoso Dev'}
RESOURCE_GROUP=${RESOURCE_GROUP:-rg-batch-jobs}
LOCATION=${LOCATION:-westeurope}
IDENTITY=${IDENTITY:-id-batch-etl}
IDENTITY_GROUP=${IDENTITY_GROUP:-rg-batch-jobs}
VAULT=${VAULT:-kv-batch-etl}
VAULT_GROUP=${VAULT_GROUP:-rg-batch-jobs}
SECRET=${SECRET:-db-password}
WAIT_LIMIT_S=${MI_WIZARD_WAIT_LIMIT_S:-600}
WAIT_STEP_S=${MI_WIZARD_WAIT_STEP_S:-10}

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

# The secret's value as a JSON string, from $MI_WIZARD_SECRET or the file $MI_WIZARD_SECRET_FILE, escaped with bash
# builtins only (no process ever sees it in its arguments).
secret_body() {
  local value
  if [[ -n "${MI_WIZARD_SECRET_FILE:-}" ]]; then
    [[ -r "$MI_WIZARD_SECRET_FILE" ]] || die "cannot read the secret file \$MI_WIZARD_SECRET_FILE ($MI_WIZARD_SECRET_FILE)"
    value=$(<"$MI_WIZARD_SECRET_FILE")
  elif [[ -n "${MI_WIZARD_SECRET+set}" ]]; then
    value=$MI_WIZARD_SECRET
  else
    die "the secret must be written: export MI_WIZARD_SECRET=... (or MI_WIZARD_SECRET_FILE=PATH) and run again"
  fi
  [[ -n "$value" ]] || die "the secret's value is empty"
  value=${value//\\/\\\\}
  value=${value//\"/\\\"}
  value=${value//$'\n'/\\n}
  value=${value//$'\r'/\\r}
  value=${value//$'\t'/\\t}
  umask 077
  BODY_FILE=$(mktemp)
  printf '{"properties": {"value": "%s"}, "tags": {"created-by": "mi-wizard", "mi-wizard-setup": "batch-pool"}}' "$value" >"$BODY_FILE"
  unset value
}

az account set --subscription "$SUBSCRIPTION"
SUBSCRIPTION_ID=$(az account show --query id -o tsv)

if ! exists az group show --name "$RESOURCE_GROUP" -o none; then
  say 'creating resource group' "$RESOURCE_GROUP"
  az group create --name "$RESOURCE_GROUP" --location "$LOCATION" --tags created-by=mi-wizard mi-wizard-setup=batch-pool -o none
fi

# The user-assigned identity.
if ! exists az identity show --resource-group "$IDENTITY_GROUP" --name "$IDENTITY" -o none; then
  say "creating identity $IDENTITY"
  az identity create --resource-group "$IDENTITY_GROUP" --name "$IDENTITY" --location "$LOCATION" --tags created-by=mi-wizard mi-wizard-setup=batch-pool -o none
fi
IFS='|' read -r IDENTITY_ID PRINCIPAL_ID CLIENT_ID < <(az identity show --resource-group "$IDENTITY_GROUP" --name "$IDENTITY" --query "join('|', [id, principalId, clientId])" -o tsv)

# The vault (soft delete is always on).
if ! exists az keyvault show --resource-group "$VAULT_GROUP" --name "$VAULT" -o none; then
  if exists az keyvault show-deleted --name "$VAULT" -o none; then
    say "recovering the soft-deleted vault $VAULT"
    az keyvault recover --name "$VAULT" -o none
  else
    say "creating vault $VAULT"
    az keyvault create --resource-group "$VAULT_GROUP" --name "$VAULT" --location "$LOCATION" --sku standard --enable-rbac-authorization true --tags created-by=mi-wizard mi-wizard-setup=batch-pool -o none
  fi
fi
IFS='|' read -r VAULT_ID VAULT_URI < <(az keyvault show --resource-group "$VAULT_GROUP" --name "$VAULT" --query "join('|', [id, properties.vaultUri])" -o tsv)
SECRET_ID="$VAULT_ID/secrets/$SECRET"

# The secret, written through ARM (Contributor is enough; no data-plane role, no propagation wait).
if exists az rest --method get --url "$SECRET_ID?api-version=2026-05-15" -o none; then
  say "secret $SECRET exists; it is kept as it is"
else
  secret_body
  say "writing secret $SECRET through Azure Resource Manager"
  retry az rest --method put --url "$SECRET_ID?api-version=2026-05-15" --body "@$BODY_FILE" --headers Content-Type=application/json -o none
  rm -f "$BODY_FILE"
fi

# Key Vault Secrets User: read the setup's secret.
SCOPE="$SECRET_ID"
HELD=$(az role assignment list --scope "$SCOPE" --fill-principal-name false --fill-role-definition-name false --query "length([?principalId=='$PRINCIPAL_ID' && ends_with(roleDefinitionId, '/4633458b-17de-408a-b874-0445c86b69e6')])" -o tsv)
if [[ "$HELD" == 0 ]]; then
  say 'granting Key Vault Secrets User on' "$SCOPE"
  retry az role assignment create --assignee-object-id "$PRINCIPAL_ID" --assignee-principal-type ServicePrincipal --role 4633458b-17de-408a-b874-0445c86b69e6 --scope "$SCOPE" --description 'mi-wizard setup batch-pool' -o none
fi

# Storage Blob Data Contributor: ETL jobs write their output here.
SCOPE="/subscriptions/$SUBSCRIPTION_ID/resourceGroups/rg-platform/providers/Microsoft.Storage/storageAccounts/stcontosodata/blobServices/default/containers/raw"
HELD=$(az role assignment list --scope "$SCOPE" --fill-principal-name false --fill-role-definition-name false --query "length([?principalId=='$PRINCIPAL_ID' && ends_with(roleDefinitionId, '/ba92f5b4-2d11-453d-a403-e96b0029c9fe')])" -o tsv)
if [[ "$HELD" == 0 ]]; then
  say 'granting Storage Blob Data Contributor on' "$SCOPE"
  retry az role assignment create --assignee-object-id "$PRINCIPAL_ID" --assignee-principal-type ServicePrincipal --role ba92f5b4-2d11-453d-a403-e96b0029c9fe --scope "$SCOPE" --description 'mi-wizard setup batch-pool' -o none
fi

# The Batch pool pool-etl (account contosobatch, never created here).
IDS=$(az rest --method get --url "/subscriptions/$SUBSCRIPTION_ID/resourceGroups/rg-batch-jobs/providers/Microsoft.Batch/batchAccounts/contosobatch/pools/pool-etl?api-version=2025-06-01" --query 'keys(identity.userAssignedIdentities || `{}`)' -o tsv)
if ! grep -qixF "$IDENTITY_ID" <<<"$IDS"; then
  say 'adding the identity to pool pool-etl (its nodes get it when they boot)'
  MAP="\"$IDENTITY_ID\": {}"
  while read -r id; do [[ -n "$id" ]] && MAP="$MAP, \"$id\": {}"; done <<<"$IDS"
  az rest --method patch --url "/subscriptions/$SUBSCRIPTION_ID/resourceGroups/rg-batch-jobs/providers/Microsoft.Batch/batchAccounts/contosobatch/pools/pool-etl?api-version=2025-06-01" --body "{\"identity\": {\"type\": \"UserAssigned\", \"userAssignedIdentities\": {$MAP}}}" -o none
fi

say "done: identity $IDENTITY_ID (client id $CLIENT_ID)"
say "the workload reads ${VAULT_URI%/}/secrets/$SECRET"
