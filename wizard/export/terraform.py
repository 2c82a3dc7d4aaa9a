"""The setup as Terraform (the azurerm provider, 5.x): `main.tf` and `variables.tf`.

The secret's value is a `sensitive`, `ephemeral` variable written through the write-only `value_wo` attribute,
so it is kept neither in the plan nor in the state. Role assignments set `principal_type`.
"""

from __future__ import annotations

import json

from ..targets.aci import CLIENT_ID_ENV, AciTarget
from ..targets.batch import BatchTarget
from .common import (
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

PROVIDER_VERSION = "~> 5.0"


def h(value: str) -> str:
    """An HCL string literal (no interpolation)."""
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def block(kind: str, labels: list[str], body: list[str], indent: str = "") -> list[str]:
    head = " ".join([kind, *(h(label) for label in labels)])
    return [f"{indent}{head} {{", *[f"{indent}  {line}" if line else "" for line in body], f"{indent}}}"]


def hmap(data: dict[str, str]) -> list[str]:
    return ["{", *[f"  {h(k)} = {v}" for k, v in data.items()], "}"]


def attr_map(name: str, data: dict[str, str]) -> list[str]:
    inner = hmap(data)
    return [f"{name} = {inner[0]}", *inner[1:]]


def render(source: Source) -> dict[str, str]:
    spec = source.spec
    check_exportable(spec)
    head = [f"# {line}".rstrip() for line in header_lines(source, "terraform", used_types(spec))]
    head += ["# Terraform >= 1.11 (the secret goes through the write-only value_wo: never in the plan or the state).",
             "# Resource groups that exist already: import them (terraform import) or remove their blocks."]
    main = [*head, ""]
    main += block("terraform", [], ["required_version = \">= 1.11\"", "required_providers {",
                                    f"  azurerm = {{ source = \"hashicorp/azurerm\", version = {h(PROVIDER_VERSION)} }}",
                                    "}"])
    main += [""] + block("provider", ["azurerm"], ["features {}", "subscription_id = var.subscription_id"])
    main += [""] + block("data", ["azurerm_client_config", "current"], [])
    main += [""] + block("locals", [], attr_map("tags", {k: h(v) for k, v in tags(spec).items()}))
    groups = [spec.resource_group]
    if not spec.identity.existing:
        groups.append(spec.identity_group)
    if spec.uses_vault:
        groups.append(spec.vault_group)
    if isinstance(spec.target, AciTarget) and not spec.target.existing:
        groups.append(spec.target_group)
    group_ref: dict[str, str] = {}
    for n, group in enumerate(dict.fromkeys(groups)):
        label = "setup" if n == 0 else f"group_{n}"
        group_ref[group] = f"azurerm_resource_group.{label}.name"
        main += [""] + block("resource", ["azurerm_resource_group", label],
                             [f"name = {h(group)}", "location = var.location", "tags = local.tags"])
    identity = "data.azurerm_user_assigned_identity.workload" if spec.identity.existing else \
        "azurerm_user_assigned_identity.workload"
    if spec.identity.existing:
        main += [""] + block("data", ["azurerm_user_assigned_identity", "workload"],
                             [f"name = {h(spec.identity.name)}", f"resource_group_name = {h(spec.identity_group)}"])
    else:
        main += [""] + block("resource", ["azurerm_user_assigned_identity", "workload"],
                             [f"name = {h(spec.identity.name)}", f"resource_group_name = {group_ref[spec.identity_group]}",
                              "location = var.location", "tags = local.tags"])
    reads: list[str] = []
    if spec.uses_vault:
        reads = _vault(source, main, identity, group_ref[spec.vault_group])
    for n, grant in enumerate(g for g in role_grants(spec) if g.scope not in ("secret", "vault")):
        scope = f"\"/subscriptions/${{var.subscription_id}}/{grant.scope.lstrip('/')}\"" if relative(grant.scope) \
            else h(grant.scope)
        main += ["", f"# {grant.role}" + (f": {grant.note}" if grant.note else "")]
        main += _assignment(f"grant_{n + 1}", scope, grant.role_guid, identity, spec.name)
    target = spec.target
    if isinstance(target, AciTarget) and not target.existing:
        main += _aci(target, identity, group_ref[spec.target_group], reads)
    if isinstance(target, BatchTarget) and not target.existing:
        main += _pool(target, spec.target_group, identity)
    main += _federations(source, identity)
    main += ["", *block("output", ["identity_id"], [f"value = {identity}.id"]),
             *block("output", ["client_id"], [f"value = {identity}.client_id"])]
    return {"main.tf": "\n".join(main) + "\n", "variables.tf": _variables(source, head)}


def _variables(source: Source, head: list[str]) -> str:
    spec = source.spec
    sub = source.subscription_id
    out = [*head, ""]
    out += block("variable", ["subscription_id"], [
        "type = string", f"description = {h(f'The subscription ({spec.subscription}) by id.')}",
        *([f"default = {h(sub)}"] if sub else [])])
    out += [""] + block("variable", ["location"], ["type = string", f"default = {h(spec.location)}"])
    if spec.uses_vault:
        out += [""] + block("variable", ["secret_value"], [
            "type = string", f"description = {h(f'The value of the secret {spec.secret.name}: TF_VAR_secret_value.')}",
            "sensitive = true", "ephemeral = true"])
        out += [""] + block("variable", ["secret_value_version"], [
            "type = number", "description = \"Increase it to write a new version of the secret.\"", "default = 1"])
    return "\n".join(out) + "\n"


def _assignment(label: str, scope: str, role_guid: str, identity: str, setup: str) -> list[str]:
    return block("resource", ["azurerm_role_assignment", label], [
        f"scope = {scope}",
        f"role_definition_id = \"/subscriptions/${{var.subscription_id}}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{role_guid}\"",
        f"principal_id = {identity}.principal_id", "principal_type = \"ServicePrincipal\"",
        f"description = {h(f'mi-wizard setup {setup}')}"])


def _vault(source: Source, main: list[str], identity: str, group: str) -> list[str]:
    spec = source.spec
    rbac = spec.vault.access_model == "rbac"
    body = [f"name = {h(spec.vault.name)}", "location = var.location", f"resource_group_name = {group}",
            "tenant_id = data.azurerm_client_config.current.tenant_id", f"sku_name = {h(spec.vault.sku)}",
            f"rbac_authorization_enabled = {'true' if rbac else 'false'}",
            f"purge_protection_enabled = {'true' if spec.vault.purge_protection else 'false'}", "tags = local.tags"]
    main += [""] + block("resource", ["azurerm_key_vault", "vault"], body)
    secret = [f"name = {h(spec.secret.name)}", "key_vault_id = azurerm_key_vault.vault.id",
              "value_wo = var.secret_value", "value_wo_version = var.secret_value_version", "tags = local.tags"]
    if spec.secret.content_type:
        secret.append(f"content_type = {h(spec.secret.content_type)}")
    main += ["", "# Written through ARM by the provider; the value is never stored in the state."]
    main += block("resource", ["azurerm_key_vault_secret", "secret"], secret)
    if not rbac:
        perms = ", ".join(h(p.capitalize()) for p in policy_permissions(spec))
        main += ["", "# Access policies apply to the whole vault."]
        main += block("resource", ["azurerm_key_vault_access_policy", "secret_read"], [
            "key_vault_id = azurerm_key_vault.vault.id", "tenant_id = data.azurerm_client_config.current.tenant_id",
            f"object_id = {identity}.principal_id", f"secret_permissions = [{perms}]"])
        return ["azurerm_key_vault_access_policy.secret_read"]
    scope = ("azurerm_key_vault_secret.secret.resource_versionless_id" if spec.grant.scope == "secret"
             else "azurerm_key_vault.vault.id")
    main += ["", f"# Key Vault Secrets User on the {spec.grant.scope} only: least privilege."]
    main += _assignment("secret_read", scope, "4633458b-17de-408a-b874-0445c86b69e6", identity, spec.name)
    return ["azurerm_role_assignment.secret_read"]


def _aci(target: AciTarget, identity: str, group: str, reads: list[str]) -> list[str]:
    env = {CLIENT_ID_ENV: f"{identity}.client_id", **{k: h(v) for k, v in target.environment.items()
                                                      if k != CLIENT_ID_ENV}}
    container = [f"name = {h(target.container_group)}", f"image = {h(target.image)}", f"cpu = {target.cpu:g}",
                 f"memory = {target.memory_gb:g}"]
    if target.command:
        container.append(f"commands = [{', '.join(h(c) for c in target.command)}]")
    container += attr_map("environment_variables", env)
    body = [f"name = {h(target.container_group)}", "location = var.location", f"resource_group_name = {group}",
            "os_type = \"Linux\"", f"restart_policy = {h(target.restart_policy)}", "ip_address_type = \"None\"",
            "tags = local.tags", *block("identity", [], ["type = \"UserAssigned\"", f"identity_ids = [{identity}.id]"]),
            *block("container", [], container)]
    if reads:
        body.append(f"depends_on = [{', '.join(reads)}]")
    return ["", "# The container group, with the identity and AZURE_CLIENT_ID (so the workload picks it)."] + block(
        "resource", ["azurerm_container_group", "target"], body)


def _pool(target: BatchTarget, group: str, identity: str) -> list[str]:
    publisher, offer, sku, version = target.node_image.split(":")
    body = [f"name = {h(target.pool)}", f"resource_group_name = {h(group)}", f"account_name = {h(target.account)}",
            f"vm_size = {h(target.vm_size)}", f"node_agent_sku_id = {h(target.node_agent_sku)}",
            *block("storage_image_reference", [], [f"publisher = {h(publisher)}", f"offer = {h(offer)}",
                                                   f"sku = {h(sku)}", f"version = {h(version)}"]),
            *block("fixed_scale", [], [f"target_dedicated_nodes = {target.dedicated_nodes}",
                                       f"target_low_priority_nodes = {target.low_priority_nodes}"]),
            *block("identity", [], ["type = \"UserAssigned\"", f"identity_ids = [{identity}.id]"])]
    return ["", "# The pool's nodes get the identity when they boot (the account exists; it is never created here)."
            ] + block("resource", ["azurerm_batch_pool", "target"], body)


def _federations(source: Source, identity: str) -> list[str]:
    lines: list[str] = []
    previous = ""
    for n, fed in enumerate(federations(source.spec)):
        issuer = h(fed.issuer)
        if fed.cluster:
            lines += [""] + block("data", ["azurerm_kubernetes_cluster", f"cluster_{n}"],
                                  [f"name = {h(fed.cluster)}", f"resource_group_name = {h(fed.cluster_group)}"])
            issuer = f"data.azurerm_kubernetes_cluster.cluster_{n}.oidc_issuer_url"
        body = [f"name = {h(fed.name)}", f"user_assigned_identity_id = {identity}.id",
                f"audience = [{h(fed.audience)}]", f"issuer = {issuer}", f"subject = {h(fed.subject)}"]
        if previous:
            body.append(f"depends_on = [{previous}]  # one at a time: Azure refuses parallel writes on one identity")
        lines += ["", f"# {fed.subject}"] + block("resource", ["azurerm_federated_identity_credential",
                                                               f"federation_{n}"], body)
        previous = f"azurerm_federated_identity_credential.federation_{n}"
    return lines
