# mi-wizard export --format terraform: setup "platform-grants" (from platform-grants.toml).
# It makes:
#   - resource group rg-platform (northeurope)
#   - identity userflyterole (existing: only read)
#   - vault kv-flyte-secrets (Azure RBAC) and its secret db-password
#   - read grant: Key Vault Secrets User on the secret
#   - grant: Storage Blob Data Contributor on resourceGroups/rg-platform/providers/Microsoft.Storage/storageAccounts/stcontosodata/blobServices/default/containers/raw
#   - grant: AcrPull on resourceGroups/rg-platform/providers/Microsoft.ContainerRegistry/registries/acrcontoso
# API versions:
#   - Microsoft.Resources/resourceGroups@2025-04-01
#   - Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30
#   - Microsoft.KeyVault/vaults@2026-05-15
#   - Microsoft.KeyVault/vaults/secrets@2026-05-15
#   - Microsoft.Authorization/roleAssignments@2022-04-01
# Not covered:
#   - a vault name held by a soft-deleted vault (recover or purge it first)
#   - a secret name held by a soft-deleted secret (recover it first: `az keyvault secret recover --vault-name kv-flyte-secrets --name db-password`)
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
    "mi-wizard-setup" = "platform-grants"
  }
}

resource "azurerm_resource_group" "setup" {
  name = "rg-platform"
  location = var.location
  tags = local.tags
}

data "azurerm_user_assigned_identity" "workload" {
  name = "userflyterole"
  resource_group_name = "rg-platform"
}

resource "azurerm_key_vault" "vault" {
  name = "kv-flyte-secrets"
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
  principal_id = data.azurerm_user_assigned_identity.workload.principal_id
  principal_type = "ServicePrincipal"
  description = "mi-wizard setup platform-grants"
}

# Storage Blob Data Contributor: workflow inputs and outputs
resource "azurerm_role_assignment" "grant_1" {
  scope = "/subscriptions/${var.subscription_id}/resourceGroups/rg-platform/providers/Microsoft.Storage/storageAccounts/stcontosodata/blobServices/default/containers/raw"
  role_definition_id = "/subscriptions/${var.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe"
  principal_id = data.azurerm_user_assigned_identity.workload.principal_id
  principal_type = "ServicePrincipal"
  description = "mi-wizard setup platform-grants"
}

# AcrPull: task images
resource "azurerm_role_assignment" "grant_2" {
  scope = "/subscriptions/${var.subscription_id}/resourceGroups/rg-platform/providers/Microsoft.ContainerRegistry/registries/acrcontoso"
  role_definition_id = "/subscriptions/${var.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d"
  principal_id = data.azurerm_user_assigned_identity.workload.principal_id
  principal_type = "ServicePrincipal"
  description = "mi-wizard setup platform-grants"
}

output "identity_id" {
  value = data.azurerm_user_assigned_identity.workload.id
}
output "client_id" {
  value = data.azurerm_user_assigned_identity.workload.client_id
}
