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

terraform {
  required_version = ">= 1.11"
  required_providers {
    azurerm = { source = "hashicorp/azurerm", version = "~> 5.0" }
  }
}

provider "azurerm" {
  features {}
  subscription_id = var.subscription_id
}

data "azurerm_client_config" "current" {
}

locals {
  tags = {
    "created-by" = "mi-wizard"
    "mi-wizard-setup" = "batch-pool"
  }
}

resource "azurerm_resource_group" "setup" {
  name = "rg-batch-jobs"
  location = var.location
  tags = local.tags
}

resource "azurerm_user_assigned_identity" "workload" {
  name = "id-batch-etl"
  resource_group_name = azurerm_resource_group.setup.name
  location = var.location
  tags = local.tags
}

resource "azurerm_key_vault" "vault" {
  name = "kv-batch-etl"
  location = var.location
  resource_group_name = azurerm_resource_group.setup.name
  tenant_id = data.azurerm_client_config.current.tenant_id
  sku_name = "standard"
  rbac_authorization_enabled = true
  purge_protection_enabled = false
  tags = local.tags
}

# Written through ARM by the provider; the value is never stored in the state.
resource "azurerm_key_vault_secret" "secret" {
  name = "db-password"
  key_vault_id = azurerm_key_vault.vault.id
  value_wo = var.secret_value
  value_wo_version = var.secret_value_version
  tags = local.tags
}

# Key Vault Secrets User on the secret only: least privilege.
resource "azurerm_role_assignment" "secret_read" {
  scope = azurerm_key_vault_secret.secret.resource_versionless_id
  role_definition_id = "/subscriptions/${var.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"
  principal_id = azurerm_user_assigned_identity.workload.principal_id
  principal_type = "ServicePrincipal"
  description = "mi-wizard setup batch-pool"
}

# Storage Blob Data Contributor: ETL jobs write their output here
resource "azurerm_role_assignment" "grant_1" {
  scope = "/subscriptions/${var.subscription_id}/resourceGroups/rg-platform/providers/Microsoft.Storage/storageAccounts/stcontosodata/blobServices/default/containers/raw"
  role_definition_id = "/subscriptions/${var.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe"
  principal_id = azurerm_user_assigned_identity.workload.principal_id
  principal_type = "ServicePrincipal"
  description = "mi-wizard setup batch-pool"
}

output "identity_id" {
  value = azurerm_user_assigned_identity.workload.id
}
output "client_id" {
  value = azurerm_user_assigned_identity.workload.client_id
}
