# mi-wizard export --format terraform: setup "prefect-aci" (from prefect-aci.toml).
# It makes:
#   - resource group rg-prefect-flows (eastus)
#   - identity id-prefect-flows
#   - vault kv-prefect-flows (Azure RBAC) and its secret git-token
#   - read grant: Key Vault Secrets User on the secret
#   - container group cg-prefect-flow with the identity and AZURE_CLIENT_ID
# API versions:
#   - Microsoft.Resources/resourceGroups@2025-04-01
#   - Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30
#   - Microsoft.KeyVault/vaults@2026-05-15
#   - Microsoft.KeyVault/vaults/secrets@2026-05-15
#   - Microsoft.Authorization/roleAssignments@2022-04-01
#   - Microsoft.ContainerInstance/containerGroups@2023-05-01
# Not covered:
#   - the live probe (the target reading the secret with the identity): run `mi-wizard verify` or `mi-wizard doctor` after it
#   - a vault name held by a soft-deleted vault (recover or purge it first)
#   - a secret name held by a soft-deleted secret (recover it first: `az keyvault secret recover --vault-name kv-prefect-flows --name git-token`)
#   - adopting a vault that exists already: a deployment would restate its properties
#   - verification: run `mi-wizard doctor --identity ID ...` on what it made
# It holds no secret value: the secret is a secure parameter/variable.
# Terraform >= 1.11 (the secret goes through the write-only value_wo: never in the plan or the state).
# Resource groups that exist already: import them (terraform import) or remove their blocks.

variable "subscription_id" {
  type = string
  description = "The subscription (Contoso Dev) by id."
}

variable "location" {
  type = string
  default = "eastus"
}

variable "secret_value" {
  type = string
  description = "The value of the secret git-token: TF_VAR_secret_value."
  sensitive = true
  ephemeral = true
}

variable "secret_value_version" {
  type = number
  description = "Increase it to write a new version of the secret."
  default = 1
}
