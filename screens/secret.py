"""Secret: its name, and its value typed (masked, kept in memory only) or read from a file when applying."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual import on
from textual.widget import Widget
from textual.widgets import Input, RadioButton, RadioSet

from wizard.azure.names import secret_value_problem, validate_secret_name

from .base import Collected, Note, WizardScreen, chosen, field

HELP = """
The secret is what your workload reads, for example a git token for Prefect flow runs.

Its **value is never saved** by mi-wizard: not in the state file, the spec, a log or the screen. Type or paste
it (it stays hidden, and is kept in memory only until it is stored in the vault), or give a file that is read
at the moment the secret is written. If you quit before that, you will be asked for it again.

Leave the value empty when the secret already exists in the vault: it is kept as it is.
Names: 1-127 letters, digits and hyphens.
"""


class SecretScreen(WizardScreen):
    SCREEN_ID = "secret"
    LEAD = "The secret your workload will read. Its value is never saved or shown."
    HELP = HELP

    def compose_body(self) -> Iterable[Widget]:
        yield field("Secret name", Input(id="name", placeholder="git-token", compact=True))
        with RadioSet(id="source"):
            yield RadioButton("Type or paste the value (hidden)", name="typed", value=True)
            yield RadioButton("Read the value from a file when applying", name="file")
        yield field("Value", Input(id="value", password=True, compact=True,
                                   placeholder="hidden; empty keeps an existing secret"))
        yield field("File", Input(id="file", placeholder="/path/to/secret.txt", compact=True))
        yield Note("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        answers, spec = self.answers(), self.draft.spec
        self.query_one("#name", Input).value = answers.get("name", spec.secret.name)
        self.query_one("#file", Input).value = answers.get("file", "")
        source = answers.get("source", "typed")
        for button in self.query_one("#source", RadioSet).query(RadioButton):
            button.value = button.name == source
        # Held in memory only, so Back and forth keeps it; a resumed setup asks again.
        self.query_one("#value", Input).value = self.services.secret.get()
        self.check()
        # The name usually has a fine default: what is left to type is the value (or the file).
        named = validate_secret_name(self.query_one("#name", Input).value) is None
        self.query_one("#file" if source == "file" else "#value" if named else "#name", Input).focus()

    @property
    def source(self) -> str:
        return chosen(self.query_one("#source", RadioSet), "typed")

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
        self.query_one("#status", Note).say(problem or note, "error" if problem and name else "")
        self.can_advance = problem is None

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
        return answers, {"secret": {"name": answers["name"]}}
