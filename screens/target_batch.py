"""The target screen's Azure Batch part: an existing pool (the identity is added by PATCH; a pool with nodes needs
a confirmed scale to 0 and back before its nodes have it) or a new pool created with the identity."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.widgets import Checkbox, Input, Select

from wizard.azure.names import validate_pool_name
from wizard.targets.batch import BatchTarget

from .base import Note, field
from .errors import WorkFailed
from .messages import PageLoaded
from .target_fields import TargetFields

if TYPE_CHECKING:
    from wizard.spec import Spec

DEFAULTS = BatchTarget()


def pool_label(pool: Any) -> str:
    state = "" if pool.allocation_state == "Steady" else f", {pool.allocation_state.lower()}"
    nodes = f"{pool.dedicated} dedicated" + (f" + {pool.low_priority} low-priority" if pool.low_priority else "")
    return f"{pool.account} / {pool.name}  ({nodes} nodes{', autoscale' if pool.auto_scale else ''}{state})"


def downtime(pool: Any) -> str:
    """What the scale to 0 and back costs, spelled out for the confirmation."""
    back = "its autoscale formula" if pool.auto_scale else (
        f"{pool.dedicated} dedicated" + (f" and {pool.low_priority} low-priority" if pool.low_priority else "")
        + " nodes")
    return (f"Downtime: running tasks finish first, then {pool.name} has no nodes for a few minutes and new tasks "
            f"wait in the queue. mi-wizard then restores {back}, even if this run is interrupted (resume "
            "finishes it). Nodes come back fresh: anything installed by hand on them is gone (start tasks run again).")


class BatchFields(TargetFields):
    """Batch pool choices. The screen shows the part for its choice (batch_existing / batch_new) and asks
    `evaluate()` what is wrong or what will happen."""

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.accounts: list[Any] = []
        self.loaded: bool | None = False
        """True once the accounts are read, None when they cannot be."""
        self.wanted_pool = ""
        self.wanted_account = ""

    def compose(self) -> ComposeResult:
        yield field("Pool", Select([], prompt="Loading Batch pools…", id="pool", allow_blank=True,
                                   compact=True)).add_class("batch-existing")
        yield Note("", id="pool-note", classes="batch-existing")
        yield Checkbox("Scale the pool to 0 and back now, so its nodes get the identity", id="rescale",
                       classes="batch-existing")
        yield Note("", id="rescale-note", classes="batch-existing")
        yield field("Batch account", Select([], prompt="Loading Batch accounts…", id="account", allow_blank=True,
                                            compact=True)).add_class("batch-new")
        yield field("Pool name", Input(id="pool-name", placeholder="pool-my-jobs", compact=True)).add_class("batch-new")
        yield field("Dedicated nodes", Input(id="nodes", type="integer", compact=True)).add_class("batch-new")
        yield field("VM size", Input(id="vm-size", compact=True)).add_class("batch-new")

    def restore(self, answers: dict[str, Any], spec: Spec) -> None:
        target = spec.target
        group = target.resource_group or spec.resource_group
        batch = isinstance(target, BatchTarget)
        target = target if batch else DEFAULTS
        self.wanted_pool = answers.get("pool", f"{group}/{target.account}/{target.pool}" if batch and target.existing
                                       else "")
        self.wanted_account = answers.get("account", f"{group}/{target.account}" if batch and target.account else "")
        self.query_one("#pool-name", Input).value = answers.get("pool_name", "" if target.existing else target.pool)
        self.query_one("#nodes", Input).value = str(answers.get("nodes", target.dedicated_nodes))
        self.query_one("#vm-size", Input).value = answers.get("vm_size", target.vm_size)
        self.query_one("#rescale", Checkbox).value = bool(answers.get("rescale", target.rescale_for_identity))

    @work(thread=True, group="batch", exclusive=True, exit_on_error=False,
          description="list the Batch accounts and pools of the subscription")
    def load(self, subscription: str) -> None:
        from wizard import catalog
        session = self.app.services.session  # type: ignore[attr-defined]
        self.post_message(PageLoaded("batch", catalog.batch_accounts(session, subscription), True))

    def on_page_loaded(self, message: PageLoaded) -> None:
        if message.source == "batch":
            self.show_accounts(message.rows)

    def on_work_failed(self, message: WorkFailed) -> None:
        if message.work == "batch":
            self.show_accounts(None)

    def show_accounts(self, accounts: list[Any] | None) -> None:
        self.loaded = None if accounts is None else True
        self.accounts = accounts or []
        pools = self.query_one("#pool", Select)
        pool_options = [(pool_label(p), f"{a.resource_group}/{a.name}/{p.name}") for a in self.accounts
                        for p in a.pools]
        account_options = [(f"{a.name}  ({a.resource_group}, {a.location}, {len(a.pools)} pools)",
                            f"{a.resource_group}/{a.name}") for a in self.accounts]
        pools.set_options(pool_options)
        pools.prompt = ("Cannot list Batch pools" if accounts is None else "Choose the pool" if any(
            a.pools for a in self.accounts) else "No Batch pool in this subscription")
        chooser = self.query_one("#account", Select)
        chooser.set_options(account_options)
        chooser.prompt = ("Cannot list Batch accounts" if accounts is None else "Choose the account"
                          if self.accounts else "No Batch account in this subscription")
        if self.wanted_pool in {v for _, v in pool_options}:
            pools.value = self.wanted_pool
        if self.wanted_account in {v for _, v in account_options}:
            chooser.value = self.wanted_account

    # -- what is chosen ---------------------------------------------------------------------------------------
    def _value(self, select_id: str) -> str:
        value = self.query_one(select_id, Select).value
        return value if isinstance(value, str) else ""

    def pool(self) -> Any | None:
        group, _, rest = self._value("#pool").partition("/")
        account, _, name = rest.partition("/")
        found = next((a for a in self.accounts if (a.resource_group, a.name) == (group, account)), None)
        return next((p for p in found.pools if p.name == name), None) if found else None

    def account(self) -> Any | None:
        group, _, name = self._value("#account").partition("/")
        return next((a for a in self.accounts if (a.resource_group, a.name) == (group, name)), None)

    def typed(self) -> dict[str, Any]:
        return {"pool": self._value("#pool"), "account": self._value("#account"),
                "pool_name": self.query_one("#pool-name", Input).value.strip(),
                "nodes": self.query_one("#nodes", Input).value.strip(),
                "vm_size": self.query_one("#vm-size", Input).value.strip(),
                "rescale": self.query_one("#rescale", Checkbox).value}

    def show(self, kind: str | None) -> None:
        super().show(kind)
        for widget in self.query(".batch-existing"):
            widget.display = kind == "batch_existing"
        for widget in self.query(".batch-new"):
            widget.display = kind == "batch_new"

    # -- what it means ----------------------------------------------------------------------------------------
    def evaluate(self, kind: str, spec: Spec) -> tuple[str | None, str, str]:
        """(problem, note, note kind) for the Batch choice: what is wrong, or what will happen. An existing
        pool's note is shown here, above the rescale checkbox it explains (the note returned is empty)."""
        if kind == "batch_new":
            return self._new_pool()
        pool_note = self.query_one("#pool-note", Note)
        problem, note, severity = self._existing_pool(spec.identity_group, spec.identity.name)
        pool_note.say(note, severity)
        pool_note.display = bool(note)
        return problem, "", ""

    def _existing_pool(self, identity_group: str, identity_name: str) -> tuple[str | None, str, str]:
        rescale, rescale_note = self.query_one("#rescale", Checkbox), self.query_one("#rescale-note", Note)
        pool = self.pool()
        rescale.display = rescale_note.display = False
        if pool is None:
            return ("Choose the pool." if self.loaded is not False else "Loading the Batch pools…"), "", ""
        if pool.carries_named(identity_group, identity_name):
            return None, f"{pool.name} already carries {identity_name}: nothing to change on the pool.", "ok"
        note = (f"{identity_name} is added to {pool.name}'s identity map (a PATCH that keeps the pool's other "
                f"identities; Batch pools take user-assigned identities only).")
        if pool.allocation_state != "Steady":
            note += f" The pool is {pool.allocation_state.lower()} now: mi-wizard waits until it is steady."
        if not pool.nodes:
            return None, note + " It has no nodes now: the nodes it allocates later boot with the identity.", "ok"
        rescale.display = rescale_note.display = True
        rescale.label = f"Scale {pool.name} to 0 and back now, so its {pool.nodes} nodes get the identity"
        note += (f"\n{pool.name} has {pool.nodes} nodes. Batch nodes keep the identities they booted with: these "
                 f"nodes get {identity_name} only after the pool scales to 0 and back.")
        if rescale.value:
            rescale_note.say(downtime(pool), "warn")
        else:
            rescale_note.say("Without it, jobs on the current nodes cannot use the identity and the verification "
                             "reports the nodes as not having it, until the pool is rescaled (tick the box and "
                             "apply again, or scale it yourself).", "warn")
        return None, note, "warn"

    def _new_pool(self) -> tuple[str | None, str, str]:
        account, answers = self.account(), self.typed()
        if account is None:
            return ("Choose the Batch account." if self.loaded is not False else "Loading the Batch accounts…"), "", ""
        name = answers["pool_name"]
        problem = validate_pool_name(name) if name else "Name the new pool."
        if problem is None and name.lower() in {p.name.lower() for p in account.pools}:
            problem = f"{account.name} has a pool named {name} already: choose 'An existing Azure Batch pool'."
        nodes = int(answers["nodes"]) if answers["nodes"].isdigit() else -1
        if problem is None and nodes < 0:
            problem = "The dedicated node count is a whole number, 0 or more."
        if problem is None and not answers["vm_size"]:
            problem = f"Give the VM size (e.g. {DEFAULTS.vm_size})."
        if problem:
            return problem, "", ""
        note = (f"{name} will be created in {account.name} ({account.location}) with {nodes} dedicated "
                f"{answers['vm_size']} nodes (Ubuntu 24.04) and the identity: its nodes boot with it.")
        if not nodes:
            return None, note + " With 0 nodes the verification's probe task cannot run until the pool scales up.", \
                "warn"
        return None, note, "ok"

    def patch(self, kind: str, spec: Spec) -> dict[str, Any]:
        """The spec's target for the Batch choice."""
        setup_group = spec.resource_group
        if kind == "batch_existing":
            group, _, rest = self._value("#pool").partition("/")
            account, _, pool = rest.partition("/")
            return {"kind": "batch", "existing": True, "account": account, "pool": pool,
                    "resource_group": "" if group == setup_group else group,
                    "rescale_for_identity": self.query_one("#rescale", Checkbox).value}
        group, _, account = self._value("#account").partition("/")
        answers = self.typed()
        return {"kind": "batch", "existing": False, "account": account, "pool": answers["pool_name"],
                "resource_group": "" if group == setup_group else group, "dedicated_nodes": int(answers["nodes"]),
                "vm_size": answers["vm_size"], "rescale_for_identity": False}
