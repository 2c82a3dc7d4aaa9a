"""Key Vault: a name checked as typed (rules here, availability in the background, debounced), an existing vault
adopted, taken and soft-deleted names explained with their choices, and the vault's access model."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import on, work
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Checkbox, Input, RadioButton, RadioSet, Select, Static

from wizard.azure.names import validate_vault_name

from .base import Collected, Note, WizardScreen, chosen, field
from .button import Button
from .errors import WorkFailed
from .messages import PageLoaded, VaultNameChecked

DEBOUNCE_S = 0.4
"""Ask Azure only once typing pauses: a check per keystroke would be slow and noisy."""

HELP = """
The vault holds the secret. **Vault names are global across all of Azure** (they become
`https://NAME.vault.azure.net`), so a name can be taken by someone else; mi-wizard checks as you type and
suggests free ones.

- **Soft-deleted**: a vault deleted in the last 90 days still holds its name. *Recover* brings it back with
  its secrets; *purge* destroys it for good (impossible when purge protection is on).
- **Existing vault** in this subscription: it is adopted as it is.

**Access model.** *Azure RBAC* (recommended) lets a role be granted on one secret: the least privilege.
*Access policies* (the older model) grant per vault: the identity could read every secret in it.
"""

MODELS = (("rbac", "Azure RBAC: grants can be limited to one secret (recommended)"),
          ("access_policy", "Access policies: older; grants cover every secret in the vault"))


class VaultScreen(WizardScreen):
    SCREEN_ID = "vault"
    RETRIES = frozenset({"vaults", "vault-check"})
    LEAD = "The Key Vault that holds the secret. Its name is global across Azure: it is checked as you type."
    HELP = HELP

    def __init__(self, services: Any):
        super().__init__(services)
        self.result: Any = None
        """The last catalog.VaultNameCheck, for the name currently typed (None while checking)."""
        self._timer: Timer | None = None

    def compose_body(self) -> Iterable[Widget]:
        yield field("Name", Input(id="name", placeholder="kv-my-workload", compact=True))
        yield Note("", id="status")
        yield Horizontal(id="suggestions", classes="buttons")
        with RadioSet(id="deleted"):
            yield RadioButton("Recover it, with its secrets", name="recover", value=True)
            yield RadioButton("Purge it for good and create a new vault", name="purge")
        yield Checkbox("I understand purging destroys the old vault's secrets", id="confirm-purge")
        yield Static("Access model", classes="label", id="model-label")
        with RadioSet(id="model"):
            for key, label in MODELS:
                yield RadioButton(label, name=key)
        yield field("Or adopt", Select([], prompt="Loading vaults…", id="existing", allow_blank=True, compact=True))
        yield Checkbox("No Key Vault: this workload reads no secret (e.g. GitHub Actions)", id="no-vault")

    def on_mount(self) -> None:
        super().on_mount()
        answers, spec = self.answers(), self.draft.spec
        model = answers.get("access_model", spec.vault.access_model)
        for button in self.query_one("#model", RadioSet).query(RadioButton):
            button.value = button.name == model
        choice = answers.get("if_soft_deleted", spec.vault.if_soft_deleted)
        for button in self.query_one("#deleted", RadioSet).query(RadioButton):
            button.value = button.name == choice
        self.query_one("#confirm-purge", Checkbox).value = bool(answers.get("confirm_purge", spec.vault.confirm_purge))
        self.query_one("#no-vault", Checkbox).value = bool(answers.get("no_vault", not spec.uses_vault))
        name_input = self.query_one("#name", Input)
        name_input.value = answers.get("name", spec.vault.name)
        name_input.focus()
        self.show()
        self.load_data()

    def load_data(self) -> None:
        self.query_one("#existing", Select).prompt = "Loading vaults…"
        self.load_vaults(self.draft.spec.subscription)
        name = self.name_value
        if validate_vault_name(name) is None:
            self.check_name(name)

    # -- background ---------------------------------------------------------------------------------------
    @work(thread=True, group="vaults", exclusive=True, exit_on_error=False,
          description="list the Key Vaults of the subscription")
    def load_vaults(self, subscription: str) -> None:
        from wizard import catalog
        self.post_message(PageLoaded("vaults", catalog.vaults(self.services.session, subscription), True))

    def on_page_loaded(self, message: PageLoaded) -> None:
        select = self.query_one("#existing", Select)
        model = {"rbac": "RBAC", "access_policy": "access policies"}
        select.set_options([(f"{v.name}  ({v.resource_group}, {model[v.access_model]})", v.name)
                            for v in message.rows])
        select.prompt = "Choose one to adopt" if message.rows else "No vault in this subscription yet"

    @work(thread=True, group="vault-check", exclusive=True, exit_on_error=False,
          description="check whether the vault name is free")
    def check_name(self, name: str) -> None:
        from wizard import catalog
        self.post_message(VaultNameChecked(catalog.check_vault_name(self.services.session,
                                                                    self.draft.spec.subscription, name)))

    def on_work_failed(self, message: WorkFailed) -> None:
        if message.work == "vaults":
            self.query_one("#existing", Select).prompt = message.failure.line()
        elif message.work == "vault-check":  # the plan checks the name again anyway
            from wizard import catalog
            self.result = catalog.VaultNameCheck(self.name_value, "error",
                                                 f"Could not check the name ({message.failure.code}): see above.")
            self.show()

    def on_vault_name_checked(self, message: VaultNameChecked) -> None:
        if message.check.name == self.name_value:  # an answer for a name since changed is stale
            self.result = message.check
            self.show()

    # -- reacting -----------------------------------------------------------------------------------------
    @property
    def name_value(self) -> str:
        return self.query_one("#name", Input).value.strip()

    @on(Input.Changed, "#name")
    def typed_name(self) -> None:
        self.result = None
        if self._timer is not None:
            self._timer.stop()
        name = self.name_value
        if validate_vault_name(name) is None:
            self._timer = self.set_timer(DEBOUNCE_S, lambda: self.check_name(name))
        self.show()

    @on(Select.Changed, "#existing")
    def adopt(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.query_one("#name", Input).value = event.value

    @on(Button.Pressed, ".suggestion")
    def suggestion(self, event: Button.Pressed) -> None:
        self.query_one("#name", Input).value = str(event.button.name)

    @on(RadioSet.Changed)
    @on(Checkbox.Changed)
    def choice_changed(self) -> None:
        self.show()

    @on(Input.Submitted, "#name")
    def submitted(self) -> None:
        self.action_next()

    def _choice(self, set_id: str) -> str:
        return chosen(self.query_one(f"#{set_id}", RadioSet), "")

    def show(self) -> None:
        """Status, choices and Next from the name and the last check."""
        name, result, status = self.name_value, self.result, self.query_one("#status", Note)
        no_vault = self.query_one("#no-vault", Checkbox).value
        name_input, existing = self.query_one("#name", Input), self.query_one("#existing", Select)
        for widget in (name_input, self.query_one("#model", RadioSet), existing):
            widget.disabled = no_vault
        # No vault: its fields are hidden, not just dimmed (nothing there applies), and come back as typed.
        for shown in (name_input.parent, self.query_one("#model-label"), self.query_one("#model"), existing.parent):
            if shown is not None:
                shown.display = not no_vault
        if no_vault:
            for set_id in ("#deleted", "#confirm-purge", "#suggestions"):
                self.query_one(set_id).display = False
            status.say("No vault: no secret, no read grant and no live probe. The identity's federated credentials "
                       "and grants are the whole setup.", "ok")
            self.can_advance = True
            return
        reason = result.reason if result else ""
        problem = validate_vault_name(name) if name else "Type a vault name."
        deleted = self.query_one("#deleted", RadioSet)
        deleted.display = reason == "soft_deleted"
        purge = reason == "soft_deleted" and self._choice("deleted") == "purge"
        self.query_one("#confirm-purge", Checkbox).display = purge
        self.query_one("#model", RadioSet).disabled = reason == "exists_here" or (reason == "soft_deleted" and not purge)
        self._suggest(result.suggestions if reason == "taken" else [])
        if problem:
            status.say(problem, "error" if name else "")
        elif result is None:
            status.say(f"Checking whether {name} is free…")
        elif reason in ("ok", "exists_here"):
            status.say(result.detail, "ok")
        elif reason == "soft_deleted":
            protected = bool(result.deleted.get("purge_protection"))
            if protected:
                status.say(result.detail + " It is purge-protected: recover it, or choose another name.", "warn")
            else:
                status.say(result.detail + " Recover it, purge it, or choose another name.", "warn")
        elif reason == "taken":
            status.say(result.detail + " Pick a suggestion or type another name.", "error")
        else:
            status.say(result.detail, "error")
        ready = problem is None and reason in ("ok", "exists_here", "soft_deleted")
        if reason == "soft_deleted" and purge:
            ready = (not result.deleted.get("purge_protection")) and self.query_one("#confirm-purge", Checkbox).value
        self.can_advance = ready

    def _suggest(self, names: list[str]) -> None:
        box = self.query_one("#suggestions", Horizontal)
        if [b.name for b in box.query(Button)] == names:
            box.display = bool(names)
            return
        box.remove_children()
        box.mount_all([Button(f"Use {n}", name=n, compact=True, classes="suggestion") for n in names])
        box.display = bool(names)

    def typed(self) -> dict[str, Any]:
        result = self.result if self.result and self.result.name == self.name_value else None
        existing = result.existing if result and result.reason == "exists_here" else None
        return {"name": self.name_value, "no_vault": self.query_one("#no-vault", Checkbox).value,
                "access_model": self._choice("model") or "rbac",
                "if_soft_deleted": self._choice("deleted") or "recover",
                "confirm_purge": self.query_one("#confirm-purge", Checkbox).value,
                "existing_group": existing.resource_group if existing else "",
                "existing_model": existing.access_model if existing else ""}

    def collect(self) -> Collected | None:
        answers = self.typed()
        if answers["no_vault"]:
            return answers, {"vault": {"name": ""}}
        spec = self.draft.spec
        group = answers["existing_group"]
        vault = {"name": answers["name"], "resource_group": "" if group in ("", spec.resource_group) else group,
                 "access_model": answers["existing_model"] or answers["access_model"],
                 "if_soft_deleted": answers["if_soft_deleted"], "confirm_purge": answers["confirm_purge"]}
        # An access-policy vault cannot grant on one secret: the grant moves to the vault (the Permissions
        # screen says why).
        patch: dict[str, Any] = {"vault": vault}
        if vault["access_model"] == "access_policy":
            patch["grant"] = {"scope": "vault"}
        return answers, patch
