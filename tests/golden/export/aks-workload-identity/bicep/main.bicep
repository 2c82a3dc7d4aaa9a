// mi-wizard export --format bicep: setup "aks-workload-identity" (from aks-workload-identity.toml).
// It makes:
//   - resource group rg-aks-apps (westus2)
//   - identity id-aks-workload
//   - vault kv-aks-workload (Azure RBAC) and its secret app-secret
//   - read grant: Key Vault Secrets User on the secret
//   - grant: Storage Blob Data Contributor on resourceGroups/rg-platform/providers/Microsoft.Storage/storageAccounts/stcontosodata/blobServices/default/containers/raw
//   - federated credential aks-aks-apps-default-workload-sa: system:serviceaccount:default:workload-sa
// API versions:
//   - Microsoft.Resources/resourceGroups@2025-04-01
//   - Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30
//   - Microsoft.KeyVault/vaults@2026-05-15
//   - Microsoft.KeyVault/vaults/secrets@2026-05-15
//   - Microsoft.Authorization/roleAssignments@2022-04-01
//   - Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2024-11-30
//   - Microsoft.ContainerService/managedClusters@2024-09-01
// Not covered:
//   - the Kubernetes ServiceAccount and the pod label (`mi-wizard apply` prints them)
//   - a vault name held by a soft-deleted vault (recover or purge it first)
//   - a secret name held by a soft-deleted secret (recover it first: `az keyvault secret recover --vault-name kv-aks-workload --name app-secret`)
//   - adopting a vault that exists already: a deployment would restate its properties
//   - verification: run `mi-wizard doctor --identity ID ...` on what it made
// It holds no secret value: the secret is a secure parameter/variable.
// Deploy: az deployment group create --resource-group rg-aks-apps --template-file main.bicep (az prompts, masked, for secretValue;
//   or give a 0600 parameters file: --parameters @secret.parameters.json; never the value itself).
// The resource group must exist first (az group create). Running it again writes a new version of the secret.
targetScope = 'resourceGroup'

@description('Where new resources go.')
param location string = 'westus2'

@secure()
@description('The value of the secret app-secret; never in a file.')
param secretValue string

var tags = {
  'created-by': 'mi-wizard'
  'mi-wizard-setup': 'aks-workload-identity'
}
var setup = 'aks-workload-identity'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: 'id-aks-workload'
  location: location
  tags: tags
}

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' = {
  name: 'kv-aks-workload'
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
  name: 'app-secret'
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

// Storage Blob Data Contributor: the app's blob container (on resourceGroups/rg-platform/providers/Microsoft.Storage/storageAccounts/stcontosodata/blobServices/default/containers/raw).
module grant1 'grant-1.bicep' = {
  name: 'aks-workload-identity-grant-1'
  scope: resourceGroup('rg-platform')
  params: {
    principalId: identity.properties.principalId
    identityId: identity.id
    setup: setup
  }
}

resource cluster0 'Microsoft.ContainerService/managedClusters@2024-09-01' existing = {
  name: 'aks-apps'
  scope: resourceGroup('rg-aks-apps')
}

// system:serviceaccount:default:workload-sa
resource federation0 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2024-11-30' = {
  parent: identity
  name: 'aks-aks-apps-default-workload-sa'
  properties: {
    issuer: cluster0.properties.oidcIssuerProfile.issuerURL
    subject: 'system:serviceaccount:default:workload-sa'
    audiences: ['api://AzureADTokenExchange']
  }
}

output identityId string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
output secretUri string = '${vault.properties.vaultUri}secrets/app-secret'
