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

variable "subscription_id" {
  type = string
  description = "The subscription (Contoso Dev) by id."
}

variable "location" {
  type = string
  default = "westus2"
}

variable "secret_value" {
  type = string
  description = "The value of the secret app-secret: TF_VAR_secret_value."
  sensitive = true
  ephemeral = true
}

variable "secret_value_version" {
  type = number
  description = "Increase it to write a new version of the secret."
  default = 1
}
