// mi-wizard export --format bicep: setup "platform-grants" (from platform-grants.toml).
// It makes:
//   - resource group rg-platform (northeurope)
//   - identity userflyterole (existing: only read)
//   - vault kv-flyte-secrets (Azure RBAC) and its secret db-password
//   - read grant: Key Vault Secrets User on the secret
//   - grant: Storage Blob Data Contributor on resourceGroups/rg-platform/providers/Microsoft.Storage/storageAccounts/stcontosodata/blobServices/default/containers/raw
//   - grant: AcrPull on resourceGroups/rg-platform/providers/Microsoft.ContainerRegistry/registries/acrcontoso
// API versions:
//   - Microsoft.Resources/resourceGroups@2025-04-01
//   - Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30
//   - Microsoft.KeyVault/vaults@2026-05-15
//   - Microsoft.KeyVault/vaults/secrets@2026-05-15
//   - Microsoft.Authorization/roleAssignments@2022-04-01
// Not covered:
//   - a vault name held by a soft-deleted vault (recover or purge it first)
//   - a secret name held by a soft-deleted secret (recover it first: `az keyvault secret recover --vault-name kv-flyte-secrets --name db-password`)
//   - adopting a vault that exists already: a deployment would restate its properties
//   - verification: run `mi-wizard doctor --identity ID ...` on what it made
// It holds no secret value: the secret is a secure parameter/variable.
// Deploy: az deployment group create --resource-group rg-platform --template-file main.bicep (az prompts, masked, for secretValue;
//   or give a 0600 parameters file: --parameters @secret.parameters.json; never the value itself).
// The resource group must exist first (az group create). Running it again writes a new version of the secret.
targetScope = 'resourceGroup'

@description('Where new resources go.')
param location string = 'northeurope'

@secure()
@description('The value of the secret db-password; never in a file.')
param secretValue string

var tags = {
  'created-by': 'mi-wizard'
  'mi-wizard-setup': 'platform-grants'
}
var setup = 'platform-grants'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: 'userflyterole'
}

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' = {
  name: 'kv-flyte-secrets'
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    accessPolicies: []
  }
}

// Written through ARM, as mi-wizard does: Contributor is enough, no data-plane role.
resource secret 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = {
  parent: vault
  name: 'db-password'
  tags: tags
  properties: {
    value: secretValue
  }
}

// Key Vault Secrets User on the secret only: least privilege.
resource secretRead 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(secret.id, identity.id, subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6'))
  scope: secret
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'mi-wizard setup ${setup}'
  }
}

// Storage Blob Data Contributor: workflow inputs and outputs (on resourceGroups/rg-platform/providers/Microsoft.Storage/storageAccounts/stcontosodata/blobServices/default/containers/raw).
module grant1 'grant-1.bicep' = {
  name: 'platform-grants-grant-1'
  scope: resourceGroup('rg-platform')
  params: {
    principalId: identity.properties.principalId
    identityId: identity.id
    setup: setup
  }
}

// AcrPull: task images (on resourceGroups/rg-platform/providers/Microsoft.ContainerRegistry/registries/acrcontoso).
module grant2 'grant-2.bicep' = {
  name: 'platform-grants-grant-2'
  scope: resourceGroup('rg-platform')
  params: {
    principalId: identity.properties.principalId
    identityId: identity.id
    setup: setup
  }
}

output identityId string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
output secretUri string = '${vault.properties.vaultUri}secrets/db-password'
