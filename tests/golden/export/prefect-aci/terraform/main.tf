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
    "mi-wizard-setup" = "prefect-aci"
  }
}

resource "azurerm_resource_group" "setup" {
  name = "rg-prefect-flows"
  location = var.location
  tags = local.tags
}

resource "azurerm_user_assigned_identity" "workload" {
  name = "id-prefect-flows"
  resource_group_name = azurerm_resource_group.setup.name
  location = var.location
  tags = local.tags
}

resource "azurerm_key_vault" "vault" {
  name = "kv-prefect-flows"
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
  name = "git-token"
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
  description = "mi-wizard setup prefect-aci"
}

# The container group, with the identity and AZURE_CLIENT_ID (so the workload picks it).
resource "azurerm_container_group" "target" {
  name = "cg-prefect-flow"
  location = var.location
  resource_group_name = azurerm_resource_group.setup.name
  os_type = "Linux"
  restart_policy = "Always"
  ip_address_type = "None"
  tags = local.tags
  identity {
    type = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.workload.id]
  }
  container {
    name = "cg-prefect-flow"
    image = "prefecthq/prefect:3-latest"
    cpu = 1
    memory = 2
    commands = ["prefect", "worker", "start", "--pool", "aci-pool"]
    environment_variables = {
      "AZURE_CLIENT_ID" = azurerm_user_assigned_identity.workload.client_id
      "PREFECT_LOGGING_LEVEL" = "INFO"
    }
  }
  depends_on = [azurerm_role_assignment.secret_read]
}

output "identity_id" {
  value = azurerm_user_assigned_identity.workload.id
}
output "client_id" {
  value = azurerm_user_assigned_identity.workload.client_id
}
