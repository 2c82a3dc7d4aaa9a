# mi-wizard export --format terraform: setup "aks-workload-identity" (from aks-workload-identity.toml).
# It makes:
#   - resource group rg-aks-apps (westus2)
#   - identity id-aks-workload
#   - vault kv-aks-workload (Azure RBAC) and its secret app-secret
#   - read grant: Key Vault Secrets User on the secret
#   - grant: Storage Blob Data Contributor on resourceGroups/rg-platform/providers/Microsoft.Storage/storageAccounts/stcontosodata/blobServices/default/containers/raw
#   - federated credential aks-aks-apps-default-workload-sa: system:serviceaccount:default:workload-sa
# API versions:
#   - Microsoft.Resources/resourceGroups@2025-04-01
#   - Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30
#   - Microsoft.KeyVault/vaults@2026-05-15
#   - Microsoft.KeyVault/vaults/secrets@2026-05-15
#   - Microsoft.Authorization/roleAssignments@2022-04-01
#   - Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2024-11-30
#   - Microsoft.ContainerService/managedClusters@2024-09-01
# Not covered:
#   - the Kubernetes ServiceAccount and the pod label (`mi-wizard apply` prints them)
#   - a vault name held by a soft-deleted vault (recover or purge it first)
#   - a secret name held by a soft-deleted secret (recover it first: `az keyvault secret recover --vault-name kv-aks-workload --name app-secret`)
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
    "mi-wizard-setup" = "aks-workload-identity"
  }
}

resource "azurerm_resource_group" "setup" {
  name = "rg-aks-apps"
  location = var.location
  tags = local.tags
}

resource "azurerm_user_assigned_identity" "workload" {
  name = "id-aks-workload"
  resource_group_name = azurerm_resource_group.setup.name
  location = var.location
  tags = local.tags
}

resource "azurerm_key_vault" "vault" {
  name = "kv-aks-workload"
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
  name = "app-secret"
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
  description = "mi-wizard setup aks-workload-identity"
}

# Storage Blob Data Contributor: the app's blob container
resource "azurerm_role_assignment" "grant_1" {
  scope = "/subscriptions/${var.subscription_id}/resourceGroups/rg-platform/providers/Microsoft.Storage/storageAccounts/stcontosodata/blobServices/default/containers/raw"
  role_definition_id = "/subscriptions/${var.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe"
  principal_id = azurerm_user_assigned_identity.workload.principal_id
  principal_type = "ServicePrincipal"
  description = "mi-wizard setup aks-workload-identity"
}

data "azurerm_kubernetes_cluster" "cluster_0" {
  name = "aks-apps"
  resource_group_name = "rg-aks-apps"
}

# system:serviceaccount:default:workload-sa
resource "azurerm_federated_identity_credential" "federation_0" {
  name = "aks-aks-apps-default-workload-sa"
  user_assigned_identity_id = azurerm_user_assigned_identity.workload.id
  audience = ["api://AzureADTokenExchange"]
  issuer = data.azurerm_kubernetes_cluster.cluster_0.oidc_issuer_url
  subject = "system:serviceaccount:default:workload-sa"
}

output "identity_id" {
  value = azurerm_user_assigned_identity.workload.id
}
output "client_id" {
  value = azurerm_user_assigned_identity.workload.client_id
}
