"""Use a running `mi-wizard sandbox serve` with nothing but the Azure SDK (no mi-wizard code).

    mi-wizard sandbox serve --seed empty --descriptor sandbox.json     # in one terminal
    python examples/sandbox_sdk_only.py sandbox.json                   # in another

Creates a resource group, a user-assigned identity and a Key Vault, lets the signed-in operator write secrets,
stores a secret and reads it back. Prints a JSON summary (ids, never the secret's value). Running it again
finds everything in place and changes nothing but the secret's version.
"""

from __future__ import annotations

import base64
import json
import secrets
import sys
import time
import uuid

from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.resource.resources import ResourceManagementClient

ARM_SCOPE = "https://management.azure.com/.default"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"  # built-in role "Key Vault Secrets Officer"
GROUP, IDENTITY, VAULT, SECRET, LOCATION = "rg-sdk-only", "id-sdk-only", "kv-sdk-only", "app-secret", "eastus"


def signed_in_object_id(credential: ClientSecretCredential) -> str:
    """The operator's object id, from its token's `oid` claim (the same on real Azure)."""
    payload = credential.get_token(ARM_SCOPE).token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["oid"]


def main(descriptor_path: str) -> int:
    with open(descriptor_path) as f:
        sandbox = json.load(f)
    ca = sandbox["ca_bundle"]  # the sandbox's own CA: TLS stays verified
    credential = ClientSecretCredential(sandbox["tenant_id"], sandbox["client_id"], sandbox["client_secret"],
                                        authority=sandbox["authority_url"], disable_instance_discovery=True,
                                        connection_verify=ca)
    subscription = sandbox["subscription_ids"][0]
    # base_url points a client at the sandbox; the token scope stays Azure's (the sandbox checks it).
    arm = dict(base_url=sandbox["arm_url"], credential_scopes=[ARM_SCOPE], connection_verify=ca, polling_interval=1)

    ResourceManagementClient(credential, subscription, **arm).resource_groups.create_or_update(
        GROUP, {"location": LOCATION})
    identity = ManagedServiceIdentityClient(credential, subscription, **arm).user_assigned_identities.create_or_update(
        GROUP, IDENTITY, {"location": LOCATION})
    vault = KeyVaultManagementClient(credential, subscription, **arm).vaults.begin_create_or_update(
        GROUP, VAULT, {"location": LOCATION, "properties": {
            "tenantId": sandbox["tenant_id"], "sku": {"family": "A", "name": "standard"}}}).result()

    # The vault uses Azure RBAC (the default since API 2026-02-01), where even an Owner has no data access: the
    # operator grants itself "Key Vault Secrets Officer" on the vault. That is one call more than an access policy,
    # but it is how a new vault works on Azure today. The name is derived from the grant, so a rerun finds it.
    me = signed_in_object_id(credential)
    authorization = AuthorizationManagementClient(credential, subscription, **arm)
    try:
        authorization.role_assignments.create(vault.id, str(uuid.uuid5(uuid.NAMESPACE_URL, f"{vault.id}|{me}")), {
            "properties": {"principalId": me, "principalType": "ServicePrincipal",
                           "roleDefinitionId": f"/subscriptions/{subscription}/providers/Microsoft.Authorization/"
                                               f"roleDefinitions/{SECRETS_OFFICER}"}})
    except HttpResponseError as err:
        if err.status_code != 409:  # 409 RoleAssignmentExists: granted by an earlier run
            raise

    client = SecretClient(vault.properties.vault_uri, credential, verify_challenge_resource=False,
                          connection_verify=ca)
    value = secrets.token_urlsafe(24)
    deadline = time.monotonic() + 600  # a new grant can take minutes to reach the data plane (Azure: up to 10)
    while True:
        try:
            stored = client.set_secret(SECRET, value)
            break
        except HttpResponseError as err:
            if err.status_code != 403 or time.monotonic() > deadline:
                raise
            print("waiting for the role assignment to propagate...", file=sys.stderr)
            time.sleep(5)
    read_back = client.get_secret(SECRET)
    print(json.dumps({"identity_id": identity.id, "identity_principal_id": identity.principal_id,
                      "identity_client_id": identity.client_id, "vault_uri": vault.properties.vault_uri,
                      "secret_id": read_back.id, "secret_version": stored.properties.version,
                      "secret_matches": read_back.value == value}))
    return 0 if read_back.value == value else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} DESCRIPTOR_JSON (the line `mi-wizard sandbox serve` prints)")
    sys.exit(main(sys.argv[1]))
