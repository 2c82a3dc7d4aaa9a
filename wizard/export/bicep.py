"""The setup as Bicep: `main.bicep`, deployed into the setup's resource group, plus one module per grant on a
resource elsewhere (`grant-N.bicep`). The secret is a `@secure()` parameter; role assignments get `guid()` names
from their scope, the identity and the role, and `principalType`; types and API versions are the SDK clients'.
"""

from __future__ import annotations

from ..azure import scopes
from ..targets.aci import CLIENT_ID_ENV, AciTarget
from ..targets.batch import BatchTarget
from .common import (
    API_VERSIONS,
    ExportError,
    RoleGrant,
    Source,
    check_exportable,
    federations,
    header_lines,
    policy_permissions,
    relative,
    role_grants,
    tags,
    used_types,
)

ROLE_DEF = "subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '{guid}')"


def s(value: str) -> str:
    """A Bicep string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("${", "\\${") + "'"


def t(kind: str) -> str:
    return f"'{kind}@{API_VERSIONS[kind]}'"


def num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"json('{value:g}')"


def obj(data: dict[str, str], indent: str) -> str:
    return "{\n" + "".join(f"{indent}  {s(k)}: {s(v)}\n" for k, v in data.items()) + indent + "}"


def render(source: Source) -> dict[str, str]:
    spec = source.spec
    check_exportable(spec)
    files: dict[str, str] = {}
    out = [f"// {line}".rstrip() for line in header_lines(source, "bicep", used_types(spec))]
    out += [f"// Deploy: az deployment group create --resource-group {spec.resource_group} --template-file main.bicep"
            + (" (az prompts, masked, for secretValue;" if spec.uses_vault else ""),
            "//   or give a 0600 parameters file: --parameters @secret.parameters.json; never the value itself)."
            "\n// The resource group must exist first (az group create). Running it again writes a new version of "
            "the secret." if spec.uses_vault else "// The resource group must exist first (az group create).",
            "targetScope = 'resourceGroup'", "",
            "@description('Where new resources go.')", f"param location string = {s(spec.location)}"]
    if spec.uses_vault:
        out += ["", "@secure()", f"@description({s(f'The value of the secret {spec.secret.name}; never in a file.')})",
                "param secretValue string"]
    out += ["", f"var tags = {obj(tags(spec), '')}", f"var setup = {s(spec.name)}", ""]
    others = sorted({spec.identity_group, spec.vault_group if spec.uses_vault else spec.resource_group}
                    - {spec.resource_group})
    if others:
        group = others[0]
        raise ExportError(f"Bicep: the identity or vault is in resource group {group}, not the setup's "
                          f"({spec.resource_group}); one deployment covers one group. Use the az or Terraform "
                          "export.")
    kind = "Microsoft.ManagedIdentity/userAssignedIdentities"
    if spec.identity.existing:
        out += [f"resource identity {t(kind)} existing = {{", f"  name: {s(spec.identity.name)}", "}"]
    else:
        out += [f"resource identity {t(kind)} = {{", f"  name: {s(spec.identity.name)}", "  location: location",
                "  tags: tags", "}"]
    reads: list[str] = []
    if spec.uses_vault:
        reads = _vault(source, out)
    for n, grant in enumerate(g for g in role_grants(spec) if g.scope not in ("secret", "vault")):
        out += _extra_grant(source, grant, n + 1, files)
    target = spec.target
    if isinstance(target, AciTarget) and not target.existing:
        out += _aci(target, reads)
    if isinstance(target, BatchTarget) and not target.existing:
        out += _pool(target, spec.target_group, spec.resource_group)
    out += _federations(source)
    out += ["", "output identityId string = identity.id", "output clientId string = identity.properties.clientId",
            "output principalId string = identity.properties.principalId"]
    if spec.uses_vault:
        out.append(f"output secretUri string = '${{vault.properties.vaultUri}}secrets/{spec.secret.name}'")
    return {"main.bicep": "\n".join(out) + "\n", **files}


def _vault(source: Source, out: list[str]) -> list[str]:
    """The vault, the secret and the read grant; returns the names of the grant resources."""
    spec = source.spec
    rbac = spec.vault.access_model == "rbac"
    props = ["    tenantId: tenant().tenantId", f"    sku: {{ family: 'A', name: {s(spec.vault.sku)} }}",
             f"    enableRbacAuthorization: {'true' if rbac else 'false'}", "    accessPolicies: []"]
    if spec.vault.purge_protection:
        props.append("    enablePurgeProtection: true")
    out += ["", f"resource vault {t('Microsoft.KeyVault/vaults')} = {{", f"  name: {s(spec.vault.name)}",
            "  location: location", "  tags: tags", "  properties: {", *props, "  }", "}", "",
            "// Written through ARM, as mi-wizard does: Contributor is enough, no data-plane role.",
            f"resource secret {t('Microsoft.KeyVault/vaults/secrets')} = {{", "  parent: vault",
            f"  name: {s(spec.secret.name)}", "  tags: tags", "  properties: {", "    value: secretValue"]
    if spec.secret.content_type:
        out.append(f"    contentType: {s(spec.secret.content_type)}")
    out += ["  }", "}"]
    if not rbac:
        perms = ", ".join(s(p) for p in policy_permissions(spec))
        out += ["", "// Access policies apply to the whole vault.",
                f"resource secretRead {t('Microsoft.KeyVault/vaults/accessPolicies')} = {{", "  parent: vault",
                "  name: 'add'", "  properties: {", "    accessPolicies: [", "      {",
                "        tenantId: tenant().tenantId", "        objectId: identity.properties.principalId",
                f"        permissions: {{ secrets: [{perms}] }}", "      }", "    ]", "  }", "}"]
        return ["secretRead"]
    scope = "secret" if spec.grant.scope == "secret" else "vault"
    out += ["", f"// Key Vault Secrets User on the {scope} only: least privilege.",
            *_assignment("secretRead", RoleGrant("Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6",
                                                 scope), scope, "identity.id", "identity.properties.principalId")]
    return ["secretRead"]


def _assignment(name: str, grant: RoleGrant, scope: str, identity_id: str, principal: str) -> list[str]:
    role = ROLE_DEF.format(guid=grant.role_guid)
    scope_id = f"{scope}.id" if scope else "resourceGroup().id"
    return [f"resource {name} {t('Microsoft.Authorization/roleAssignments')} = {{",
            f"  name: guid({scope_id}, {identity_id}, {role})", *([f"  scope: {scope}"] if scope else []),
            "  properties: {", f"    roleDefinitionId: {role}", f"    principalId: {principal}",
            "    principalType: 'ServicePrincipal'", "    description: 'mi-wizard setup ${setup}'", "  }", "}"]


def _parts(scope: str) -> tuple[str, str, str, str]:
    """(subscription or "", resource group, Type/Sub/Type as written, name/name) of a grant's scope."""
    info = scopes.parse(scopes.resolve(scope, "00000000-0000-0000-0000-000000000000"))
    if not info.resource_group:
        raise ExportError(f"Bicep: the grant on {scope} is at subscription scope; this export deploys into a "
                          "resource group. Use the az or Terraform export.")
    segments = scope.strip("/").split("/")
    after = segments[segments.index("providers") + 1:] if "providers" in segments else []
    kind = "/".join([after[0], *after[1::2]]) if after else ""
    names = "/".join(after[2::2]) if after else ""
    return ("" if relative(scope) else info.subscription), info.resource_group, kind, names


def _extra_grant(source: Source, grant: RoleGrant, n: int, files: dict[str, str]) -> list[str]:
    sub, group, kind, names = _parts(grant.scope)
    module = f"grant-{n}.bicep"
    body = [f"// mi-wizard export: setup \"{source.spec.name}\": {grant.role} on {grant.scope}.",
            f"// Module of main.bicep, deployed into resource group {group}.", "targetScope = 'resourceGroup'", "",
            "param principalId string", "param identityId string", "param setup string", ""]
    scope = ""
    if kind:
        version = scopes.API_VERSIONS.get(kind.lower())
        if version is None:
            raise ExportError(f"Bicep: no known API version for {kind} (the grant on {grant.scope}); use the az "
                              "export.")
        body += [f"resource target '{kind}@{version}' existing = {{", f"  name: {s(names)}", "}", ""]
        scope = "target"
    body += _assignment("grant", grant, scope, "identityId", "principalId")
    files[module] = "\n".join(body) + "\n"
    where = f"resourceGroup({s(sub)}, {s(group)})" if sub else f"resourceGroup({s(group)})"
    return ["", f"// {grant.role}" + (f": {grant.note}" if grant.note else "") + f" (on {grant.scope}).",
            f"module grant{n} {s(module)} = {{", f"  name: {s(f'{source.spec.name}-grant-{n}')}",
            f"  scope: {where}", "  params: {", "    principalId: identity.properties.principalId",
            "    identityId: identity.id", "    setup: setup", "  }", "}"]


def _aci(target: AciTarget, reads: list[str]) -> list[str]:
    env = [("AZURE_CLIENT_ID", "identity.properties.clientId")] + [
        (k, s(v)) for k, v in target.environment.items() if k != CLIENT_ID_ENV]
    container = [f"          image: {s(target.image)}"]
    if target.command:
        container.append(f"          command: [{', '.join(s(c) for c in target.command)}]")
    container += ["          environmentVariables: ["]
    container += [f"            {{ name: {s(k)}, value: {v} }}" for k, v in env]
    container += ["          ]", "          resources: {",
                  f"            requests: {{ cpu: {num(target.cpu)}, memoryInGB: {num(target.memory_gb)} }}",
                  "          }"]
    return ["", "// The container group, with the identity and AZURE_CLIENT_ID (so the workload picks it).",
            f"resource containerGroup {t('Microsoft.ContainerInstance/containerGroups')} = {{",
            f"  name: {s(target.container_group)}", "  location: location", "  tags: tags",
            "  identity: {", "    type: 'UserAssigned'", "    userAssignedIdentities: {", "      '${identity.id}': {}",
            "    }", "  }", "  properties: {", "    osType: 'Linux'", f"    restartPolicy: {s(target.restart_policy)}",
            "    containers: [", "      {", f"        name: {s(target.container_group)}", "        properties: {",
            *container, "        }", "      }", "    ]", "  }",
            *(["  dependsOn: [", *[f"    {r}" for r in reads], "  ]"] if reads else []), "}"]


def _pool(target: BatchTarget, group: str, setup_group: str) -> list[str]:
    if group.lower() != setup_group.lower():
        raise ExportError(f"Bicep: the Batch account is in resource group {group}, not the setup's ({setup_group}); "
                          "deploy there, or use the az or Terraform export.")
    publisher, offer, sku, version = target.node_image.split(":")
    return ["", f"resource account {t('Microsoft.Batch/batchAccounts')} existing = {{", f"  name: {s(target.account)}",
            "}", "", "// The pool's nodes get the identity when they boot.",
            f"resource pool {t('Microsoft.Batch/batchAccounts/pools')} = {{", "  parent: account",
            f"  name: {s(target.pool)}", "  identity: {", "    type: 'UserAssigned'",
            "    userAssignedIdentities: {", "      '${identity.id}': {}", "    }", "  }", "  properties: {",
            f"    vmSize: {s(target.vm_size)}", "    deploymentConfiguration: {", "      virtualMachineConfiguration: {",
            "        imageReference: {", f"          publisher: {s(publisher)}", f"          offer: {s(offer)}",
            f"          sku: {s(sku)}", f"          version: {s(version)}", "        }",
            f"        nodeAgentSkuId: {s(target.node_agent_sku)}", "      }", "    }", "    scaleSettings: {",
            "      fixedScale: {", f"        targetDedicatedNodes: {target.dedicated_nodes}",
            f"        targetLowPriorityNodes: {target.low_priority_nodes}", "      }", "    }", "  }", "}"]


def _federations(source: Source) -> list[str]:
    lines: list[str] = []
    previous = ""
    kind = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"
    for n, fed in enumerate(federations(source.spec)):
        issuer = s(fed.issuer)
        if fed.cluster:
            lines += ["", f"resource cluster{n} {t('Microsoft.ContainerService/managedClusters')} existing = {{",
                      f"  name: {s(fed.cluster)}", f"  scope: resourceGroup({s(fed.cluster_group)})", "}"]
            issuer = f"cluster{n}.properties.oidcIssuerProfile.issuerURL"
        lines += ["", f"// {fed.subject}" + (" (one at a time: Azure refuses parallel writes on one identity)"
                                             if previous else ""),
                  f"resource federation{n} {t(kind)} = {{", "  parent: identity", f"  name: {s(fed.name)}",
                  "  properties: {", f"    issuer: {issuer}", f"    subject: {s(fed.subject)}",
                  f"    audiences: [{s(fed.audience)}]", "  }",
                  *(["  dependsOn: [", f"    {previous}", "  ]"] if previous else []), "}"]
        previous = f"federation{n}"
    return lines
