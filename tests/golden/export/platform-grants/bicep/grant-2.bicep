// mi-wizard export: setup "platform-grants": AcrPull on resourceGroups/rg-platform/providers/Microsoft.ContainerRegistry/registries/acrcontoso.
// Module of main.bicep, deployed into resource group rg-platform.
targetScope = 'resourceGroup'

param principalId string
param identityId string
param setup string

resource target 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: 'acrcontoso'
}

resource grant 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(target.id, identityId, subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '7f951dda-4ed3-4680-a7ca-43fe172d538d'))
  scope: target
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '7f951dda-4ed3-4680-a7ca-43fe172d538d')
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'mi-wizard setup ${setup}'
  }
}
