"""Built-in roles mi-wizard grants, each with what it allows, so the least privilege is a visible choice.

The curated list is what a workload usually needs; each role says what it allows, which resources it is for,
the action that proves it is effective (verify), and a warning when it is broader than most workloads need.
Roles outside the list need `allow_any_role = true` in the spec: mi-wizard cannot tell what they allow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GET_SECRET = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
SET_SECRET = "Microsoft.KeyVault/vaults/secrets/setSecret/action"
ROLE_ASSIGNMENTS_WRITE = "Microsoft.Authorization/roleAssignments/write"

VAULT = "microsoft.keyvault/vaults"
SECRET = "microsoft.keyvault/vaults/secrets"
STORAGE = "microsoft.storage/storageaccounts"
CONTAINER = "microsoft.storage/storageaccounts/blobservices/containers"
REGISTRY = "microsoft.containerregistry/registries"
BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
BLOB_WRITE = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"


@dataclass(frozen=True)
class Role:
    name: str
    guid: str
    allows: str
    fits: tuple[str, ...] = ()
    """Resource types (lower-case) the role is meant for; empty: any scope."""
    warning: str = ""
    """Set when the role is broader than most workloads need: the plan shows it."""
    check: tuple[str, bool] = field(default=("", False))
    """(action, is a data action) the role must allow at the scope for the grant to count as effective."""
    curated: bool = True

    def definition_id(self, subscription_id: str) -> str:
        from azure.mgmt.core.tools import resource_id  # here: the role list is read before any SDK is needed
        return str(resource_id(subscription=subscription_id, namespace="Microsoft.Authorization",
                               type="roleDefinitions", name=self.guid))


SECRETS_USER = Role("Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6",
                    "Read secret values and their metadata. Nothing else: no writes, no keys, no certificates.",
                    fits=(VAULT, SECRET), check=(GET_SECRET, True))
SECRETS_OFFICER = Role("Key Vault Secrets Officer", "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
                       "Create, update, delete and read secrets (for the operator who writes the secret).",
                       fits=(VAULT, SECRET), check=(SET_SECRET, True),
                       warning="It also writes and deletes secrets: a workload that only reads needs Key Vault "
                               "Secrets User.")
KEY_VAULT_READER = Role("Key Vault Reader", "21090545-7ca7-4776-b22c-e363652d74d2",
                        "Read a vault's settings and its secrets' metadata (names, dates), never secret values.",
                        fits=(VAULT, SECRET), check=("Microsoft.KeyVault/vaults/secrets/readMetadata/action", True))
READER = Role("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7",
              "Read every resource's settings at the scope; no data (no blobs, no secret values).",
              check=("Microsoft.Resources/subscriptions/resourceGroups/read", False))
CONTRIBUTOR = Role("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c",
                   "Create, change and delete every resource at the scope (but not grant access).",
                   check=("Microsoft.Resources/deployments/write", False),
                   warning="Contributor manages every resource at its scope: far more than reading or pulling. "
                           "Use it only for a deployment pipeline, on a resource group made for what it deploys.")
STORAGE_BLOB_DATA_READER = Role("Storage Blob Data Reader", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
                                "Read blobs and list containers.", fits=(STORAGE, CONTAINER), check=(BLOB_READ, True))
STORAGE_BLOB_DATA_CONTRIBUTOR = Role("Storage Blob Data Contributor", "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
                                     "Read, write and delete blobs and containers.", fits=(STORAGE, CONTAINER),
                                     check=(BLOB_WRITE, True))
STORAGE_BLOB_DATA_OWNER = Role("Storage Blob Data Owner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
                               "Everything on blobs, including POSIX access control lists on a data lake.",
                               fits=(STORAGE, CONTAINER), check=(BLOB_WRITE, True),
                               warning="It also sets data-lake ACLs and ownership: reading and writing blobs needs "
                                       "only Storage Blob Data Contributor.")
ACR_PULL = Role("AcrPull", "7f951dda-4ed3-4680-a7ca-43fe172d538d", "Pull images from a container registry.",
                fits=(REGISTRY,), check=("Microsoft.ContainerRegistry/registries/pull/read", False))
ACR_PUSH = Role("AcrPush", "8311e382-0749-4cb8-b61a-304f252e45ec", "Push and pull images in a container registry.",
                fits=(REGISTRY,), check=("Microsoft.ContainerRegistry/registries/push/write", False),
                warning="It also pushes images: a workload that only runs images needs AcrPull.")

CURATED: tuple[Role, ...] = (SECRETS_USER, KEY_VAULT_READER, SECRETS_OFFICER, STORAGE_BLOB_DATA_READER,
                             STORAGE_BLOB_DATA_CONTRIBUTOR, STORAGE_BLOB_DATA_OWNER, ACR_PULL, ACR_PUSH, READER,
                             CONTRIBUTOR)


def find(name_or_guid: str) -> Role | None:
    """A curated role by name (any case) or by its GUID."""
    key = name_or_guid.strip().lower()
    return next((r for r in CURATED if key in (r.name.lower(), r.guid)), None)


def curated_names() -> str:
    return ", ".join(r.name for r in CURATED)


def for_resource(resource_type: str) -> list[Role]:
    """The curated roles meant for a resource type (lower-case ARM type), least privilege first."""
    kind = resource_type.lower()
    return [r for r in CURATED if kind in r.fits] + [r for r in CURATED if not r.fits]


def custom(name: str, guid: str) -> Role:
    """A role outside the list (allow_any_role): nothing is known of what it allows."""
    return Role(name, guid, "Outside mi-wizard's list: check its actions in the Azure portal.", curated=False,
                warning=f"{name} is not in mi-wizard's least-privilege list; make sure it allows only what the "
                        "workload needs.")
