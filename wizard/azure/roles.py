"""Built-in roles mi-wizard grants, each with what it allows, so the least privilege is a visible choice."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    name: str
    guid: str
    allows: str

    def definition_id(self, subscription_id: str) -> str:
        return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{self.guid}"


SECRETS_USER = Role("Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6",
                    "Read secret values and their metadata. Nothing else: no writes, no keys, no certificates.")
SECRETS_OFFICER = Role("Key Vault Secrets Officer", "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
                       "Create, update, delete and read secrets (for the operator who writes the secret).")
READER = Role("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7", "Read every resource's settings; no secret values.")
STORAGE_BLOB_DATA_CONTRIBUTOR = Role("Storage Blob Data Contributor", "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
                                     "Read, write and delete blobs and containers.")
STORAGE_BLOB_DATA_READER = Role("Storage Blob Data Reader", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
                                "Read blobs and list containers.")
ACR_PULL = Role("AcrPull", "7f951dda-4ed3-4680-a7ca-43fe172d538d", "Pull images from a container registry.")

GET_SECRET = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
SET_SECRET = "Microsoft.KeyVault/vaults/secrets/setSecret/action"
ROLE_ASSIGNMENTS_WRITE = "Microsoft.Authorization/roleAssignments/write"
