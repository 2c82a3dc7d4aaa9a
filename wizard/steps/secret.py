"""Store the secret (value from a prompt, env var, file or stdin); keep an existing one unless asked.

The default write goes through ARM (`PUT …/vaults/{v}/secrets/{s}`, the path Bicep and ARM templates use):
it needs only `Microsoft.KeyVault/vaults/secrets/write`, which Owner and Contributor hold, works on RBAC and
access-policy vaults alike, and needs no data-plane role, so there is no grant to wait for. The data-plane
write (`vault.secret_write = "data_plane"`) uses a temporary grant that is removed once the secret is written.

Existence is read through the management plane (vaults/secrets), which never returns values. A name held by a
soft-deleted secret is recovered or purged first (`secret.if_soft_deleted`; see secret_deleted.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import HttpResponseError

from ..azure.errors import error_code
from ..waits import wait_for
from .base import ADOPT, CREATE, NOTHING, UPDATE, PlanItem, RunContext, Step, StepError, not_found_is_none
from .secret_deleted import (
    UNKNOWN,
    DeletedSecret,
    held_by_deleted,
    name_busy,
    plan_deleted,
    purge_deleted,
    read_deleted_secret,
    recover_deleted,
)
from .vault import VaultStep, read_vault, vault_id


def read_secret(ctx: RunContext) -> Any:
    spec = ctx.spec
    if ctx.plan_creates("vault") or read_vault(ctx) is None:
        return None
    return ctx.read(f"secret:{spec.vault.name.lower()}/{spec.secret.name.lower()}", lambda: not_found_is_none(
        lambda: ctx.clients.keyvault.secrets.get(spec.vault_group, spec.vault.name, spec.secret.name)))


def secret_needs_write(ctx: RunContext) -> bool:
    return read_secret(ctx) is None or ctx.spec.secret.new_version


def _version_of(secret_uri_with_version: str | None) -> str:
    return (secret_uri_with_version or "").rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class SecretSeen:
    secret: Any
    """The SDK's management-plane Secret (never a value), or None when there is none (or no vault yet)."""
    deleted: DeletedSecret | str | None = None
    """No secret: the soft-deleted one holding its name, None, or UNKNOWN (the data plane would not say)."""
    vault: Any = None


@dataclass(frozen=True)
class SecretOut:
    name: str
    version: str


class SecretStep(Step):
    id = "secret"
    title = "Secret"
    Outputs = SecretOut
    requires = ("vault", "operator_access")
    """operator_access exists only for the data-plane write; with the ARM write the edge is not there."""

    def refresh(self, ctx: RunContext) -> SecretSeen:
        secret = read_secret(ctx)
        vault = None if secret is not None or ctx.plan_creates("vault") else read_vault(ctx)
        if vault is None:
            return SecretSeen(secret)
        return SecretSeen(secret, read_deleted_secret(ctx, vault), vault)

    def plan(self, ctx: RunContext, observed: SecretSeen) -> PlanItem:
        secret, name = observed.secret, ctx.spec.secret.name
        source = ctx.secret_source.describe() if ctx.secret_source else None
        if secret is not None and not ctx.spec.secret.new_version:
            recorded = bool(ctx.state.step(self.id).outputs.get("version"))
            details = []
            if secret.properties.attributes is not None and secret.properties.attributes.enabled is False:
                details.append(f"{name} is DISABLED: nobody can read it until it is enabled.")
            return self.item(NOTHING if recorded else ADOPT, f"{name} exists; it is kept as it is.", details=details,
                             data={"version": _version_of(secret.properties.secret_uri_with_version)})
        problems = [] if source else [
            "secret: the secret must be written but no value source was given. Use --secret-from env:NAME, "
            "file:PATH or stdin (or run the wizard, which asks for it masked)."]
        how = ("through Azure Resource Manager (no data-plane access needed)"
               if ctx.spec.vault.secret_write == "arm" else "through the vault's data plane")
        if secret is None and isinstance(observed.deleted, DeletedSecret):
            return plan_deleted(ctx, observed.vault, observed.deleted, how)
        action, what = (UPDATE, "A new version of") if secret is not None else (CREATE, "Store")
        # Deleted secrets are listed by the data plane only: without a read there, say what was not checked.
        unseen = [f"Not checked: whether a soft-deleted secret holds the name {name} (you have no data-plane read "
                  "on the vault). If one does, Azure refuses the write and apply stops, naming the fix."] \
            if secret is None and observed.deleted == UNKNOWN else []
        return self.item(action, f"{what} {name} from {source or '(no source)'} {how}; only its version id is "
                                 "recorded.", problems=problems, details=unseen)

    def apply(self, ctx: RunContext, item: PlanItem) -> SecretOut:
        spec = ctx.spec
        secret_id = f"{vault_id(ctx)}/secrets/{spec.secret.name}"
        if not item.writes:
            ctx.claim(self.id, kind="secret", id=secret_id, origin="adopted", step=self.id)
            return SecretOut(name=spec.secret.name, version=item.data["version"])
        # A new version of a secret that was there is a change to it, not a creation.
        ctx.claim(self.id, kind="secret", id=secret_id, origin="adopted" if item.action == UPDATE else "created",
                  step=self.id, change={"new_version": True} if item.action == UPDATE else None)
        deleted = item.data.get("deleted")
        if deleted == "recover":
            version = recover_deleted(ctx, ctx.output(VaultStep).vault_uri)
            if ctx.secret_source is None:  # nothing to write: the recovered secret is the secret
                if spec.vault.secret_write == "data_plane":
                    from .operator_access import remove_temporary_access
                    remove_temporary_access(ctx)
                return SecretOut(name=spec.secret.name, version=version)
        elif deleted == "purge":
            purge_deleted(ctx, ctx.output(VaultStep).vault_uri)
        assert ctx.secret_source is not None  # the plan refused a write with no source (a problem)
        value = ctx.secret_source.read()
        try:
            if spec.vault.secret_write == "arm":
                ctx.say(self.id, f"Writing {spec.secret.name} through Azure Resource Manager")
                version = self._write_arm(ctx, value)
            else:
                version = self._write_data_plane(ctx, value)
        except HttpResponseError as err:
            stop = held_by_deleted(err, spec.vault.name, spec.secret.name)
            if stop is not None:
                raise stop from None
            raise
        finally:
            del value  # drop this step's reference to the value as soon as it is written
        return SecretOut(name=spec.secret.name, version=version)

    def _write_arm(self, ctx: RunContext, value: str) -> str:
        spec = ctx.spec
        body: dict[str, Any] = {"properties": {"value": value}, "tags": ctx.tags}
        if spec.secret.content_type:
            body["properties"]["contentType"] = spec.secret.content_type
        secrets = ctx.clients.keyvault.secrets
        # Right after a purge (or recovery) of the name Key Vault still refuses it for a few seconds.
        written = wait_for(lambda: secrets.create_or_update(spec.vault_group, spec.vault.name, spec.secret.name, body),
                           retry_if=name_busy, step=self.id, reason=f"Key Vault to release the name {spec.secret.name}",
                           sink=ctx.sink, cancel=ctx.cancel, limit_s=spec.verify.wait_limit_s)
        ctx.reads.put(f"secret:{spec.vault.name.lower()}/{spec.secret.name.lower()}", written)
        return _version_of(written.properties.secret_uri_with_version)

    def _write_data_plane(self, ctx: RunContext, value: str) -> str:
        from .operator_access import remove_temporary_access
        spec = ctx.spec
        client = ctx.clients.secrets(ctx.output(VaultStep).vault_uri)
        just_granted = ctx.state.step("operator_access").action in ("create", "update")
        try:
            # A grant made moments ago reaches the data plane later (Azure: up to 10 minutes).
            written = wait_for(lambda: client.set_secret(spec.secret.name, value,
                                                         content_type=spec.secret.content_type or None),
                               retry_if=lambda e: (just_granted and _forbidden(e)) or name_busy(e), step=self.id,
                               reason="your temporary Key Vault access to take effect", sink=ctx.sink,
                               cancel=ctx.cancel, limit_s=spec.verify.wait_limit_s)
        except HttpResponseError as err:
            if _forbidden(err):
                raise StepError(error_code(err), "You cannot write secrets in this vault through its data plane.",
                                "Use the default vault.secret_write = \"arm\" (needs only Contributor), or ask the "
                                "vault's owner for Key Vault Secrets Officer on the secret.", str(err)) from None
            raise
        remove_temporary_access(ctx)
        ctx.forget(f"secret:{spec.vault.name.lower()}/{spec.secret.name.lower()}")  # the data plane's answer differs
        return str(written.properties.version)


def _forbidden(exc: BaseException) -> bool:
    return isinstance(exc, HttpResponseError) and exc.status_code == 403
