#!/usr/bin/env bash
# mi-wizard export --format az: setup "github-oidc" (from github-oidc.toml).
# It makes:
#   - resource group rg-gh-runner (eastus)
#   - identity id-gh-deploy
#   - grant: Contributor on resourceGroups/rg-gh-runner
#   - federated credential github-contoso-infra-branch-main: repo:contoso/infra:ref:refs/heads/main
#   - federated credential github-contoso-infra-environment-production: repo:contoso/infra:environment:production
# API versions:
#   - Microsoft.Resources/resourceGroups@2025-04-01
#   - Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30
#   - Microsoft.Authorization/roleAssignments@2022-04-01
#   - Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2024-11-30
# Not covered:
#   - the GitHub workflow (permissions id-token: write, azure/login; `mi-wizard apply` prints it)
#   - verification: run `mi-wizard doctor --identity ID ...` on what it made
# It holds no secret value: the secret comes from $MI_WIZARD_SECRET or the file $MI_WIZARD_SECRET_FILE.
# Run it signed in with az (az login), as someone who may create these resources and assign roles.
# Safe to run again: every resource is read before it is created. Nothing here calls Microsoft Graph.
set -euo pipefail

SUBSCRIPTION=${SUBSCRIPTION:-'Contoso Dev'}
RESOURCE_GROUP=${RESOURCE_GROUP:-rg-gh-runner}
LOCATION=${LOCATION:-eastus}
IDENTITY=${IDENTITY:-id-gh-deploy}
IDENTITY_GROUP=${IDENTITY_GROUP:-rg-gh-runner}
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
  printf '{"properties": {"value": "%s"}, "tags": {"created-by": "mi-wizard", "mi-wizard-setup": "github-oidc"}}' "$value" >"$BODY_FILE"
  unset value
}

az account set --subscription "$SUBSCRIPTION"
SUBSCRIPTION_ID=$(az account show --query id -o tsv)

if ! exists az group show --name "$RESOURCE_GROUP" -o none; then
  say 'creating resource group' "$RESOURCE_GROUP"
  az group create --name "$RESOURCE_GROUP" --location "$LOCATION" --tags created-by=mi-wizard mi-wizard-setup=github-oidc -o none
fi

# The user-assigned identity.
if ! exists az identity show --resource-group "$IDENTITY_GROUP" --name "$IDENTITY" -o none; then
  say "creating identity $IDENTITY"
  az identity create --resource-group "$IDENTITY_GROUP" --name "$IDENTITY" --location "$LOCATION" --tags created-by=mi-wizard mi-wizard-setup=github-oidc -o none
fi
IFS='|' read -r IDENTITY_ID PRINCIPAL_ID CLIENT_ID < <(az identity show --resource-group "$IDENTITY_GROUP" --name "$IDENTITY" --query "join('|', [id, principalId, clientId])" -o tsv)

# Contributor: the GitHub Actions runner of contoso/infra.
SCOPE="/subscriptions/$SUBSCRIPTION_ID/resourceGroups/rg-gh-runner"
HELD=$(az role assignment list --scope "$SCOPE" --fill-principal-name false --fill-role-definition-name false --query "length([?principalId=='$PRINCIPAL_ID' && ends_with(roleDefinitionId, '/b24988ac-6180-42a0-ab88-20f7382dd24c')])" -o tsv)
if [[ "$HELD" == 0 ]]; then
  say 'granting Contributor on' "$SCOPE"
  retry az role assignment create --assignee-object-id "$PRINCIPAL_ID" --assignee-principal-type ServicePrincipal --role b24988ac-6180-42a0-ab88-20f7382dd24c --scope "$SCOPE" --description 'mi-wizard setup github-oidc' -o none
fi

# Federated credential github-contoso-infra-branch-main: repo:contoso/infra:ref:refs/heads/main.
if ! exists az identity federated-credential show --resource-group "$IDENTITY_GROUP" --identity-name "$IDENTITY" --name github-contoso-infra-branch-main -o none; then
  say 'federating repo:contoso/infra:ref:refs/heads/main'
  retry az identity federated-credential create --resource-group "$IDENTITY_GROUP" --identity-name "$IDENTITY" --name github-contoso-infra-branch-main --issuer https://token.actions.githubusercontent.com --subject repo:contoso/infra:ref:refs/heads/main --audiences api://AzureADTokenExchange -o none
fi

# Federated credential github-contoso-infra-environment-production: repo:contoso/infra:environment:production.
if ! exists az identity federated-credential show --resource-group "$IDENTITY_GROUP" --identity-name "$IDENTITY" --name github-contoso-infra-environment-production -o none; then
  say 'federating repo:contoso/infra:environment:production'
  retry az identity federated-credential create --resource-group "$IDENTITY_GROUP" --identity-name "$IDENTITY" --name github-contoso-infra-environment-production --issuer https://token.actions.githubusercontent.com --subject repo:contoso/infra:environment:production --audiences api://AzureADTokenExchange -o none
fi

say "done: identity $IDENTITY_ID (client id $CLIENT_ID)"
