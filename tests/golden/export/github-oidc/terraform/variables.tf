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

variable "subscription_id" {
  type = string
  description = "The subscription (Contoso Dev) by id."
}

variable "location" {
  type = string
  default = "eastus"
}
