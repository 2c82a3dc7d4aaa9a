# mi-wizard export --format terraform: setup "batch-pool" (from batch-pool.toml).
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
#   - adding the identity to the existing pool pool-etl (a PATCH of its identity map, which a template would have to restate in full): use the az export or `mi-wizard apply`
#   - the pool's scale to 0 and back so that running nodes get the identity (rescale_for_identity): nodes keep the identities they booted with; rescale the pool when it is idle
#   - a vault name held by a soft-deleted vault (recover or purge it first)
#   - a secret name held by a soft-deleted secret (recover it first: `az keyvault secret recover --vault-name kv-batch-etl --name db-password`)
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
  default = "westeurope"
}

variable "secret_value" {
  type = string
  description = "The value of the secret db-password: TF_VAR_secret_value."
  sensitive = true
  ephemeral = true
}

variable "secret_value_version" {
  type = number
  description = "Increase it to write a new version of the secret."
  default = 1
}
