// mi-wizard export --format bicep: setup "prefect-aci" (from prefect-aci.toml).
// It makes:
//   - resource group rg-prefect-flows (eastus)
//   - identity id-prefect-flows
//   - vault kv-prefect-flows (Azure RBAC) and its secret git-token
//   - read grant: Key Vault Secrets User on the secret
//   - container group cg-prefect-flow with the identity and AZURE_CLIENT_ID
// API versions:
//   - Microsoft.Resources/resourceGroups@2025-04-01
//   - Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30
//   - Microsoft.KeyVault/vaults@2026-05-15
//   - Microsoft.KeyVault/vaults/secrets@2026-05-15
//   - Microsoft.Authorization/roleAssignments@2022-04-01
//   - Microsoft.ContainerInstance/containerGroups@2023-05-01
// Not covered:
//   - the live probe (the target reading the secret with the identity): run `mi-wizard verify` or `mi-wizard doctor` after it
//   - a vault name held by a soft-deleted vault (recover or purge it first)
//   - a secret name held by a soft-deleted secret (recover it first: `az keyvault secret recover --vault-name kv-prefect-flows --name git-token`)
//   - adopting a vault that exists already: a deployment would restate its properties
//   - verification: run `mi-wizard doctor --identity ID ...` on what it made
// It holds no secret value: the secret is a secure parameter/variable.
// Deploy: az deployment group create --resource-group rg-prefect-flows --template-file main.bicep (az prompts, masked, for secretValue;
//   or give a 0600 parameters file: --parameters @secret.parameters.json; never the value itself).
// The resource group must exist first (az group create). Running it again writes a new version of the secret.
targetScope = 'resourceGroup'

@description('Where new resources go.')
param location string = 'eastus'

@secure()
@description('The value of the secret git-token; never in a file.')
param secretValue string

var tags = {
  'created-by': 'mi-wizard'
  'mi-wizard-setup': 'prefect-aci'
}
var setup = 'prefect-aci'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: 'id-prefect-flows'
  location: location
  tags: tags
}

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' = {
  name: 'kv-prefect-flows'
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
  name: 'git-token'
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

// The container group, with the identity and AZURE_CLIENT_ID (so the workload picks it).
resource containerGroup 'Microsoft.ContainerInstance/containerGroups@2023-05-01' = {
  name: 'cg-prefect-flow'
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    osType: 'Linux'
    restartPolicy: 'Always'
    containers: [
      {
        name: 'cg-prefect-flow'
        properties: {
          image: 'prefecthq/prefect:3-latest'
          command: ['prefect', 'worker', 'start', '--pool', 'aci-pool']
          environmentVariables: [
            { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
            { name: 'PREFECT_LOGGING_LEVEL', value: 'INFO' }
          ]
          resources: {
            requests: { cpu: 1, memoryInGB: 2 }
          }
        }
      }
    ]
  }
  dependsOn: [
    secretRead
  ]
}

output identityId string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
output secretUri string = '${vault.properties.vaultUri}secrets/git-token'
