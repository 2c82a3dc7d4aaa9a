// mi-wizard export --format bicep: setup "github-oidc" (from github-oidc.toml).
// It makes:
//   - resource group rg-gh-runner (eastus)
//   - identity id-gh-deploy
//   - grant: Contributor on resourceGroups/rg-gh-runner
//   - federated credential github-contoso-infra-branch-main: repo:contoso/infra:ref:refs/heads/main
//   - federated credential github-contoso-infra-environment-production: repo:contoso/infra:environment:production
// API versions:
//   - Microsoft.Resources/resourceGroups@2025-04-01
//   - Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30
//   - Microsoft.Authorization/roleAssignments@2022-04-01
//   - Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2024-11-30
// Not covered:
//   - the GitHub workflow (permissions id-token: write, azure/login; `mi-wizard apply` prints it)
//   - verification: run `mi-wizard doctor --identity ID ...` on what it made
// It holds no secret value.
// Deploy: az deployment group create --resource-group rg-gh-runner --template-file main.bicep
// The resource group must exist first (az group create).
targetScope = 'resourceGroup'

@description('Where new resources go.')
param location string = 'eastus'

var tags = {
  'created-by': 'mi-wizard'
  'mi-wizard-setup': 'github-oidc'
}
var setup = 'github-oidc'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: 'id-gh-deploy'
  location: location
  tags: tags
}

// Contributor: the GitHub Actions runner of contoso/infra (on resourceGroups/rg-gh-runner).
module grant1 'grant-1.bicep' = {
  name: 'github-oidc-grant-1'
  scope: resourceGroup('rg-gh-runner')
  params: {
    principalId: identity.properties.principalId
    identityId: identity.id
    setup: setup
  }
}

// repo:contoso/infra:ref:refs/heads/main
resource federation0 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2024-11-30' = {
  parent: identity
  name: 'github-contoso-infra-branch-main'
  properties: {
    issuer: 'https://token.actions.githubusercontent.com'
    subject: 'repo:contoso/infra:ref:refs/heads/main'
    audiences: ['api://AzureADTokenExchange']
  }
}

// repo:contoso/infra:environment:production (one at a time: Azure refuses parallel writes on one identity)
resource federation1 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2024-11-30' = {
  parent: identity
  name: 'github-contoso-infra-environment-production'
  properties: {
    issuer: 'https://token.actions.githubusercontent.com'
    subject: 'repo:contoso/infra:environment:production'
    audiences: ['api://AzureADTokenExchange']
  }
  dependsOn: [
    federation0
  ]
}

output identityId string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
