"""Secret: its name, and its value typed (masked, kept in memory only) or read from a file when applying."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import on, work
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, RadioButton, RadioSet

from wizard.azure.names import secret_value_problem, validate_secret_name

from .base import Collected, Note, WizardScreen, chosen, field
from .errors import WorkFailed

HELP = """
The secret is what your workload reads, for example a git token for Prefect flow runs.

Its **value is never saved** by mi-wizard: not in the state file, the spec, a log or the screen. Type or paste
it (it stays hidden, and is kept in memory only until it is stored in the vault), or give a file that is read
at the moment the secret is written. If you quit before that, you will be asked for it again.

Leave the value empty when the secret already exists in the vault: it is kept as it is.
Names: 1-127 letters, digits and hyphens.

**Deleted secrets** keep their name for 90 days (Key Vault soft delete). *Recover* brings the old secret back (a
value typed here becomes its new version); *purge* destroys it for good so the value is stored anew (impossible
when the vault has purge protection).
"""

DEBOUNCE_S = 0.4
"""Ask Key Vault only once typing pauses."""


@dataclass
class DeletedSecretChecked(Message):
    name: str
    deleted: Any
    """wizard.steps.secret_deleted: a DeletedSecret, None, or UNKNOWN."""


class SecretScreen(WizardScreen):
    SCREEN_ID = "secret"
    RETRIES = frozenset({"deleted-secret"})
    LEAD = "The secret your workload will read. Its value is never saved or shown."
    HELP = HELP
    deleted: Any = None
    """The last check of the typed name: a wizard.steps.secret_deleted.DeletedSecret when one holds it."""
    _timer: Timer | None = None

    def compose_body(self) -> Iterable[Widget]:
        yield field("Secret name", Input(id="name", placeholder="git-token", compact=True))
        with RadioSet(id="source"):
            yield RadioButton("Type or paste the value (hidden)", name="typed", value=True)
            yield RadioButton("Read the value from a file when applying", name="file")
        yield field("Value", Input(id="value", password=True, compact=True,
                                   placeholder="hidden; empty keeps an existing secret"))
        yield field("File", Input(id="file", placeholder="/path/to/secret.txt", compact=True))
        with RadioSet(id="deleted"):
            yield RadioButton("Recover the deleted secret", name="recover", value=True)
            yield RadioButton("Purge it for good and store the value anew", name="purge")
        yield Note("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        answers, spec = self.answers(), self.draft.spec
        self.query_one("#name", Input).value = answers.get("name", spec.secret.name)
        self.query_one("#file", Input).value = answers.get("file", "")
        source = answers.get("source", "typed")
        for button in self.query_one("#source", RadioSet).query(RadioButton):
            button.value = button.name == source
        for button in self.query_one("#deleted", RadioSet).query(RadioButton):
            button.value = button.name == spec.secret.if_soft_deleted
        self.check_deleted(self.query_one("#name", Input).value.strip())
        # Held in memory only, so Back and forth keeps it; a resumed setup asks again.
        self.query_one("#value", Input).value = self.services.secret.get()
        self.check()
        # The name usually has a fine default: what is left to type is the value (or the file).
        named = validate_secret_name(self.query_one("#name", Input).value) is None
        self.query_one("#file" if source == "file" else "#value" if named else "#name", Input).focus()

    @property
    def source(self) -> str:
        return chosen(self.query_one("#source", RadioSet), "typed")

    def load_data(self) -> None:
        self.check_deleted(self.query_one("#name", Input).value.strip())

    def on_work_failed(self, message: WorkFailed) -> None:
        if message.work == "deleted-secret":  # only a hint here (the plan asks again): shown above, with Ctrl+R
            self.deleted = None
            self.check()

    @work(thread=True, group="deleted-secret", exclusive=True, exit_on_error=False,
          description="check whether a deleted secret holds the name")
    def check_deleted(self, name: str) -> None:
        """Is the name held by a soft-deleted secret of the chosen vault? (The plan checks again anyway.)"""
        spec = self.draft.spec
        if not spec.uses_vault or validate_secret_name(name) is not None:
            return
        from wizard.steps.secret_deleted import check_deleted_secret
        deleted = check_deleted_secret(self.services.session, spec.subscription, spec.vault_group, spec.vault.name,
                                       name)  # no data-plane read is an answer (UNKNOWN), not a failure
        self.post_message(DeletedSecretChecked(name, deleted))

    def on_deleted_secret_checked(self, message: DeletedSecretChecked) -> None:
        if message.name == self.query_one("#name", Input).value.strip():  # stale otherwise
            self.deleted = message.deleted
            self.check()

    @on(Input.Changed, "#name")
    def typed_name(self) -> None:
        self.deleted = None
        if self._timer is not None:
            self._timer.stop()
        name = self.query_one("#name", Input).value.strip()
        self._timer = self.set_timer(DEBOUNCE_S, lambda: self.check_deleted(name))

    @on(Input.Changed)
    @on(RadioSet.Changed)
    def check(self, _: Any = None) -> None:
        name = self.query_one("#name", Input).value.strip()
        from_file = self.source == "file"
        self.query_one("#value", Input).parent.display = not from_file
        self.query_one("#file", Input).parent.display = from_file
        problem = validate_secret_name(name) if name else "Type the secret's name."
        note = ""
        if not problem and from_file:
            path = Path(self.query_one("#file", Input).value.strip()).expanduser()
            if not path.is_file():
                problem = "No file at that path." if str(path) not in ("", ".") else "Type the file's path."
            else:
                note = f"The value will be read from {path} when the secret is written."
        elif not problem:
            value = self.query_one("#value", Input).value
            problem = secret_value_problem(value) if value else None
            note = ("The value is kept in memory only, until it is stored in the vault." if value else
                    "No value: an existing secret is kept; the review tells you if one is needed.")
        problem, note, level = self._deleted_choice(problem, note)
        self.query_one("#status", Note).say(problem or note, "error" if problem and name else level)
        self.can_advance = problem is None

    def _deleted_choice(self, problem: str | None, note: str) -> tuple[str | None, str, str]:
        """Show the recover/purge choice when a deleted secret holds the name; purge needs a value to store."""
        from wizard.steps.secret_deleted import DeletedSecret
        deleted = self.deleted
        held = isinstance(deleted, DeletedSecret)
        choices = self.query_one("#deleted", RadioSet)
        choices.display = held
        if not held or problem:
            return problem, note, ""
        purge = chosen(choices, "recover") == "purge"
        name = self.query_one("#name", Input).value.strip()
        said = f"{name} is held by a deleted secret ({deleted.when}). "
        if purge and deleted.purge_protected:
            return said + "The vault has purge protection: recover it, or choose another name.", note, "error"
        has_value = self.source == "file" or bool(self.query_one("#value", Input).value)
        if purge and not has_value:
            return said + "Purging it needs a value to store instead.", note, "error"
        return None, said + ("It will be purged and the value stored anew." if purge else
                             "It will be recovered" + (", then the value stored as its new version." if has_value
                                                       else " as it was.")), "warn"

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.action_next()

    def _keep_value(self) -> None:
        value = self.query_one("#value", Input).value
        if self.source == "typed":
            self.services.secret.set(value)

    def typed(self) -> dict[str, Any]:
        # Never the value: only its source.
        self._keep_value()
        return {"name": self.query_one("#name", Input).value.strip(), "source": self.source,
                "file": self.query_one("#file", Input).value.strip()}

    def collect(self) -> Collected | None:
        answers = self.typed()
        # The choice lives in the spec (secret.if_soft_deleted), which is where the screen reads it back from.
        choice = chosen(self.query_one("#deleted", RadioSet), "recover")
        return answers, {"secret": {"name": answers["name"], "if_soft_deleted": choice}}
