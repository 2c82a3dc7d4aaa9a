"""A secret name held by a soft-deleted secret: find it, plan recover (default) or purge, and carry it out.

Every vault has soft delete, so a deleted secret keeps its name for its retention period (90 days by default) and
any write of that name is refused with 409 `ObjectIsDeletedButRecoverable` until the secret is recovered or
purged. Azure Resource Manager has no view of deleted secrets: finding one takes the data plane
(`GET {vault}/deletedsecrets/{name}`, readMetadata), and recovering or purging it the data actions
`secrets/recover/action` / `secrets/purge/action` (Key Vault Secrets Officer or Administrator; on an access-policy
vault the `recover` / `purge` permissions). An operator with no data access cannot look; the plan then goes on as
for a free name and, should the write meet the deleted secret, apply says so and how to fix it.

Both operations are asynchronous on Azure: a recovered secret answers 404 for a few seconds, and a purged name
refuses writes ("Secret is currently being deleted.") for a few seconds after it stopped being listed as deleted
(azure-sdk-for-net#26027). Each is waited out on its condition, stoppable, with the wizard's countdown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from ..azure.access import grants_for
from ..waits import wait_for
from .base import CREATE, RECOVER, PlanItem, RunContext, StepError
from .grant import policy_allows, secret_scope

SECRET_ACTIONS = "Microsoft.KeyVault/vaults/secrets/"
UNKNOWN = "unknown"
"""The data plane refused to say (403): there may be a deleted secret with the name, or not."""


@dataclass(frozen=True)
class DeletedSecret:
    name: str
    deleted_on: datetime | None
    purge_after: datetime | None
    purge_protected: bool
    """Its vault has purge protection: it can be recovered, never purged before `purge_after`."""

    @property
    def when(self) -> str:
        day = "%Y-%m-%d"
        return (f"deleted on {self.deleted_on.strftime(day) if self.deleted_on else 'an unknown date'}, kept until "
                f"{self.purge_after.strftime(day) if self.purge_after else 'its retention ends'}")


def find_deleted_secret(clients: Any, vault: Any, name: str) -> DeletedSecret | str | None:
    """The soft-deleted secret `name` of `vault` (a management-plane Vault), None, or UNKNOWN when not allowed."""
    try:
        found = clients.secrets(vault.properties.vault_uri).get_deleted_secret(name)
    except ResourceNotFoundError:
        return None
    except HttpResponseError as err:
        if err.status_code == 403:
            return UNKNOWN
        raise
    level = getattr(found.properties, "recovery_level", None)
    level = str(getattr(level, "value", level) or "")  # an enum: "Recoverable" alone means purge-protected
    protected = bool(vault.properties.enable_purge_protection) or (bool(level) and "Purgeable" not in level)
    return DeletedSecret(found.name or name, found.deleted_date, found.scheduled_purge_date, protected)


def read_deleted_secret(ctx: RunContext, vault: Any) -> DeletedSecret | str | None:
    spec = ctx.spec
    return ctx.read(f"deleted-secret:{spec.vault.name.lower()}/{spec.secret.name.lower()}",  # type: ignore[no-any-return]
                    lambda: find_deleted_secret(ctx.clients, vault, spec.secret.name))


def _may(ctx: RunContext, vault: Any, operation: str) -> bool:
    """May the operator recover or purge this secret (now, or once the run's temporary grant is in place)?"""
    spec = ctx.spec
    if not vault.properties.enable_rbac_authorization:
        return policy_allows(vault, ctx.operator.object_id, [operation])
    temporary = ctx.planned.get("operator_access")
    if temporary is not None and temporary.writes and temporary.data.get("model") == "rbac":
        return True  # Key Vault Secrets Officer (secrets/*) on the secret, granted just before
    return bool(grants_for(ctx.clients, ctx.operator.object_id, f"{SECRET_ACTIONS}{operation}/action",
                           secret_scope(vault.id, spec.secret.name), data=True, reads=ctx.read))


def plan_deleted(ctx: RunContext, vault: Any, deleted: DeletedSecret, write: str) -> PlanItem:
    """The secret step's item for a name held by `deleted`; `write` says how a value would be stored."""
    from .secret import SecretStep
    step, spec = SecretStep(), ctx.spec
    name, choice = spec.secret.name, spec.secret.if_soft_deleted
    source = ctx.secret_source.describe() if ctx.secret_source else None
    if choice not in ("recover", "purge"):
        return step.item(CREATE, "", problems=[
            f"secret.name: {name} is held by a soft-deleted secret ({deleted.when}). Choose: recover it "
            "(secret.if_soft_deleted = \"recover\"), purge it (\"purge\": its old versions are destroyed), or use "
            "another secret name."])
    if choice == "purge" and deleted.purge_protected:
        return step.item(CREATE, "", problems=[
            f"secret.if_soft_deleted: vault {spec.vault.name} has purge protection, so the deleted secret {name} "
            f"cannot be purged ({deleted.when}). Recover it (secret.if_soft_deleted = \"recover\") or choose "
            "another secret name."])
    problems = []
    if not _may(ctx, vault, choice):
        role = "Key Vault Secrets Officer" if vault.properties.enable_rbac_authorization else \
            f"an access policy with secret permission '{choice}'"
        problems.append(
            f"secret.if_soft_deleted: to {choice} the deleted secret {name} you ({ctx.operator.display}) need "
            f"{SECRET_ACTIONS}{choice}/action on the vault's data plane, which you do not hold. Ask for {role} on "
            f"the vault, or {choice} it yourself (`az keyvault secret {choice} --vault-name {spec.vault.name} "
            f"--name {name}`), then plan again.")
    data = {"deleted": choice}
    if choice == "recover":
        then = (f" then a new version from {source} is stored {write}" if source else
                " as it was (no value given: its last version is kept)")
        return step.item(RECOVER, f"{name} was {deleted.when}; it will be recovered,{then}; only its version id "
                                  "is recorded.", problems=problems, data=data)
    if not source:
        problems.append("secret: the secret must be written after the purge but no value source was given. Use "
                        "--secret-from env:NAME, file:PATH or stdin (or run the wizard, which asks for it masked).")
    return step.item(CREATE, f"{name} was {deleted.when}; it will be PURGED (its old versions are destroyed for "
                             f"good) and stored again from {source or '(no source)'} {write}; only its version id is "
                             "recorded.", problems=problems, data=data)


def _wait(ctx: RunContext, attempt: Any, retry_if: Any, reason: str) -> Any:
    return wait_for(attempt, retry_if=retry_if, step="secret", reason=reason, sink=ctx.sink, cancel=ctx.cancel,
                    limit_s=ctx.spec.verify.wait_limit_s)


def _forbidden_while_granting(ctx: RunContext) -> Any:
    """A temporary grant made moments ago reaches the data plane later: its 403 means "not yet"."""
    just_granted = ctx.state.step("operator_access").action in ("create", "update")
    return lambda e: just_granted and isinstance(e, HttpResponseError) and e.status_code == 403


def recover_deleted(ctx: RunContext, vault_uri: str) -> str:
    """Recover the deleted secret and wait until it is back; returns its (recovered) version."""
    spec, name = ctx.spec, ctx.spec.secret.name
    client = ctx.clients.secrets(vault_uri)
    ctx.say("secret", f"Recovering the deleted secret {name}")
    try:
        # The SDK's poller would sleep 2 s between uninterruptible polls of a getSecret the operator may not hold;
        # the recovery is waited out below instead, on the management plane's view of the secret.
        _wait(ctx, lambda: client.begin_recover_deleted_secret(name), _forbidden_while_granting(ctx),
              "your temporary Key Vault access to take effect")
    except ResourceNotFoundError:
        pass  # already recovered (a resumed run): the wait below finds it
    except HttpResponseError as err:
        raise _refused(err, "recover", spec.vault.name, name) from None
    secrets = ctx.clients.keyvault.secrets
    back = _wait(ctx, lambda: secrets.get(spec.vault_group, spec.vault.name, name),
                 lambda e: isinstance(e, ResourceNotFoundError), f"Key Vault to finish recovering {name}")
    ctx.reads.put(f"secret:{spec.vault.name.lower()}/{name.lower()}", back)
    uri = back.properties.secret_uri_with_version or ""
    return str(uri.rstrip("/").rsplit("/", 1)[-1])


def purge_deleted(ctx: RunContext, vault_uri: str) -> None:
    """Purge the deleted secret and wait until Azure no longer lists it (the write after it retries the rest)."""
    spec, name = ctx.spec, ctx.spec.secret.name
    client = ctx.clients.secrets(vault_uri)
    ctx.say("secret", f"Purging the deleted secret {name}")
    try:
        _wait(ctx, lambda: client.purge_deleted_secret(name), _forbidden_while_granting(ctx),
              "your temporary Key Vault access to take effect")
    except ResourceNotFoundError:
        pass  # already purged (a resumed run)
    except HttpResponseError as err:
        raise _refused(err, "purge", spec.vault.name, name) from None

    def gone() -> None:
        try:
            client.get_deleted_secret(name)
        except ResourceNotFoundError:
            return
        except HttpResponseError as err:
            if err.status_code == 403:
                return  # not allowed to look: the write's retry of "being deleted" covers the rest
            raise
        raise _StillThere()

    _wait(ctx, gone, lambda e: isinstance(e, _StillThere), f"Key Vault to finish purging {name}")


class _StillThere(Exception):
    """The purged secret is still listed as deleted."""


def name_busy(exc: BaseException) -> bool:
    """Key Vault's 409 while a purge or recovery of this name finishes ("Secret is currently being deleted.")."""
    return (isinstance(exc, HttpResponseError) and exc.status_code == 409
            and "ObjectIsDeletedButRecoverable" not in str(exc) and "currently being" in str(exc))


def held_by_deleted(exc: BaseException, vault: str, name: str) -> StepError | None:
    """A write refused because a deleted secret holds the name (one the plan could not see): what to do."""
    text = str(exc)
    if not (isinstance(exc, HttpResponseError) and exc.status_code == 409
            and ("ObjectIsDeletedButRecoverable" in text or "deleted but recoverable" in text)):
        return None
    return StepError(
        "ObjectIsDeletedButRecoverable",
        f"A soft-deleted secret holds the name {name}: Key Vault keeps a deleted secret's name until it is "
        "recovered or purged. The plan could not see it because you have no data-plane read on this vault.",
        f"Get Key Vault Secrets Officer on vault {vault} (then mi-wizard recovers it, or purges it with "
        f"secret.if_soft_deleted = \"purge\"), or run `az keyvault secret recover --vault-name {vault} --name "
        f"{name}` yourself; then resume. Or choose another secret name.", str(exc).splitlines()[0])


def _refused(err: HttpResponseError, operation: str, vault: str, name: str) -> StepError:
    if err.status_code == 403:
        return StepError("Forbidden", f"Key Vault refused to {operation} the deleted secret {name}.",
                         f"Ask for Key Vault Secrets Officer on vault {vault} (or {operation} it yourself: `az keyvault "
                         f"secret {operation} --vault-name {vault} --name {name}`), then resume.",
                         str(err).splitlines()[0])
    from ..azure.errors import explain
    info = explain(err)
    return StepError(info.code, info.explanation, info.fix, info.message)


def check_deleted_secret(session: Any, subscription: str, vault_group: str, vault_name: str,
                         secret_name: str) -> DeletedSecret | str | None:
    """For the wizard's secret screen: the deleted secret holding `secret_name` in an existing vault, None (no
    vault yet, or a free name), or UNKNOWN (no data-plane read). The plan asks the same question the same way."""
    resolve = getattr(session, "resolve_subscription", None)
    clients = session.for_subscription(resolve(subscription) if resolve is not None else subscription)
    try:
        vault = clients.keyvault.vaults.get(vault_group, vault_name)
    except ResourceNotFoundError:
        return None
    return find_deleted_secret(clients, vault, secret_name)
