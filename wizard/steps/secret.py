"""Store the secret (value from a prompt, env var, file or stdin); keep an existing one unless asked.

Existence is read through the management plane (vaults/secrets), which never returns values and needs only
control-plane read: an Owner on an RBAC vault has no data access until granted.
"""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import HttpResponseError

from ..azure.errors import error_code
from .base import ADOPT, CREATE, NOTHING, UPDATE, PlanItem, RunContext, Step, StepError, not_found_is_none
from .vault import read_vault
from ..waits import wait_for


def read_secret(ctx: RunContext) -> Any:
    spec = ctx.spec
    if read_vault(ctx) is None:
        return None
    return ctx.read(f"secret:{spec.vault.name.lower()}/{spec.secret.name.lower()}", lambda: not_found_is_none(
        lambda: ctx.clients.keyvault.secrets.get(spec.vault_group, spec.vault.name, spec.secret.name)))


def secret_needs_write(ctx: RunContext) -> bool:
    existing = read_secret(ctx)
    return existing is None or ctx.spec.secret.new_version


def _version_of(secret_uri_with_version: str | None) -> str:
    return (secret_uri_with_version or "").rstrip("/").rsplit("/", 1)[-1]


class SecretStep(Step):
    id = "secret"
    title = "Secret"
    requires = ("vault", "operator_access")

    def refresh(self, ctx: RunContext) -> dict[str, Any]:
        return {"secret": read_secret(ctx)}

    def plan(self, ctx: RunContext, observed: dict[str, Any]) -> PlanItem:
        secret, name = observed["secret"], ctx.spec.secret.name
        source = ctx.secret_source.describe() if ctx.secret_source else None
        if secret is not None and not ctx.spec.secret.new_version:
            recorded = bool(ctx.state.step(self.id).outputs.get("version"))
            details = []
            if secret.properties.attributes is not None and secret.properties.attributes.enabled is False:
                details.append(f"{name} is DISABLED: nobody can read it until it is enabled.")
            return self.item(NOTHING if recorded else ADOPT, f"{name} exists; it is kept as it is.", details=details,
                             data={"secret": secret})
        problems = [] if source else [
            "secret: the secret must be written but no value source was given. Use --secret-from env:NAME, "
            "file:PATH or stdin (or run the wizard, which asks for it masked)."]
        action, what = (UPDATE, "A new version of") if secret is not None else (CREATE, "Store")
        return self.item(action, f"{what} {name} from {source or '(no source)'}; only its version id is recorded.",
                         problems=problems)

    def apply(self, ctx: RunContext, item: PlanItem) -> dict[str, Any]:
        spec = ctx.spec
        if item.data.get("secret") is not None:
            secret = item.data["secret"]
            return {"name": spec.secret.name, "version": _version_of(secret.properties.secret_uri_with_version)}
        vault_uri = ctx.outputs("vault")["vault_uri"]
        client = ctx.clients.secrets(vault_uri)
        value = ctx.secret_source.read()
        just_granted = ctx.state.step("operator_access").action in ("create", "update")

        def write() -> Any:
            return client.set_secret(spec.secret.name, value, content_type=spec.secret.content_type or None)

        try:
            # A grant made moments ago reaches the data plane later (Azure: up to 10 minutes).
            written = wait_for(write, retry_if=lambda e: just_granted and _forbidden(e), step=self.id,
                               reason="your new Key Vault access to take effect", sink=ctx.sink, cancel=ctx.cancel,
                               limit_s=spec.verify.wait_limit_s)
        except HttpResponseError as err:
            if _forbidden(err):
                raise StepError(error_code(err), "You cannot write secrets in this vault.",
                                "Grant yourself Key Vault Secrets Officer on the vault (mi-wizard does this when it "
                                "plans operator access), or ask the vault's owner to.") from None
            raise
        finally:
            value = None  # drop our reference to the value as soon as it is written
        ctx.forget(f"secret:{spec.vault.name.lower()}/{spec.secret.name.lower()}")
        return {"name": spec.secret.name, "version": written.properties.version}


def _forbidden(exc: BaseException) -> bool:
    return isinstance(exc, HttpResponseError) and exc.status_code == 403
