# mi-wizard export --format terraform: setup "github-oidc" (from github-oidc.toml).
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
# It holds no secret value.
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
    "mi-wizard-setup" = "github-oidc"
  }
}

resource "azurerm_resource_group" "setup" {
  name = "rg-gh-runner"
  location = var.location
  tags = local.tags
}

resource "azurerm_user_assigned_identity" "workload" {
  name = "id-gh-deploy"
  resource_group_name = azurerm_resource_group.setup.name
  location = var.location
  tags = local.tags
}

# Contributor: the GitHub Actions runner of contoso/infra
resource "azurerm_role_assignment" "grant_1" {
  scope = "/subscriptions/${var.subscription_id}/resourceGroups/rg-gh-runner"
  role_definition_id = "/subscriptions/${var.subscription_id}/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"
  principal_id = azurerm_user_assigned_identity.workload.principal_id
  principal_type = "ServicePrincipal"
  description = "mi-wizard setup github-oidc"
}

# repo:contoso/infra:ref:refs/heads/main
resource "azurerm_federated_identity_credential" "federation_0" {
  name = "github-contoso-infra-branch-main"
  user_assigned_identity_id = azurerm_user_assigned_identity.workload.id
  audience = ["api://AzureADTokenExchange"]
  issuer = "https://token.actions.githubusercontent.com"
  subject = "repo:contoso/infra:ref:refs/heads/main"
}

# repo:contoso/infra:environment:production
resource "azurerm_federated_identity_credential" "federation_1" {
  name = "github-contoso-infra-environment-production"
  user_assigned_identity_id = azurerm_user_assigned_identity.workload.id
  audience = ["api://AzureADTokenExchange"]
  issuer = "https://token.actions.githubusercontent.com"
  subject = "repo:contoso/infra:environment:production"
  depends_on = [azurerm_federated_identity_credential.federation_0]  # one at a time: Azure refuses parallel writes on one identity
}

output "identity_id" {
  value = azurerm_user_assigned_identity.workload.id
}
output "client_id" {
  value = azurerm_user_assigned_identity.workload.client_id
}
