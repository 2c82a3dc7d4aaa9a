// mi-wizard export: setup "batch-pool": Storage Blob Data Contributor on resourceGroups/rg-platform/providers/Microsoft.Storage/storageAccounts/stcontosodata/blobServices/default/containers/raw.
// Module of main.bicep, deployed into resource group rg-platform.
targetScope = 'resourceGroup'

param principalId string
param identityId string
param setup string

resource target 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  name: 'stcontosodata/default/raw'
}

resource grant 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(target.id, identityId, subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'))
  scope: target
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'mi-wizard setup ${setup}'
  }
}
