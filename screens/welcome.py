"""Welcome: the setups in progress (resume one), start a new one, open a spec file, or try the sandbox.

The first screen of `mi-wizard`: it paints before wizard.draft, the dialogs and the messages are imported (the
workers and actions that need them import them), and it lists the setups (reading every state file) in a worker
once it has painted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from .button import Button
from .errors import RoutesFailures, WorkFailed
from .key_bar import KeyBar
from .services import Services
from .title_bar import TitleBar

HELP = """
Each **setup** gives one workload (for example Prefect flow runs on Azure Container Instances) a user-assigned
managed identity that can read one Key Vault secret, with the least privilege, and proves it works.

- **Resume** continues a setup exactly where you left it: every choice is saved as you make it.
- **Start new** asks for a name (it names the state file), then walks you through the choices.
- **Open a spec file** loads choices saved earlier (or by a colleague) and goes straight to the review.
- **Try the sandbox** uses a local, simulated Azure: nothing is created in your subscription.
"""


class Note(Static):
    """screens.base.Note (the same `Note` to the CSS), here so that the first screen does not import screens.base,
    which imports wizard.draft."""

    def say(self, text: str, kind: str = "") -> None:
        self.set_classes(kind)
        self.update(text)


def _title(screen_id: str) -> str:
    """The title of the screen a setup resumes at (screens.order; imported with the list, after the first paint)."""
    from .order import screen_title
    return screen_title(screen_id)


def _when(iso: str) -> str:
    return iso.replace("T", " ")[:16] + "Z" if iso else ""


class WelcomeScreen(RoutesFailures, Screen):
    SCREEN_ID = "welcome"
    HELP = HELP
    AUTO_FOCUS = "#new"
    """Where the list of setups puts the focus when there are none (on_setups_listed), from the first frame: the
    default, the scrolling body, would take it first and give it up a moment later, restyling the whole screen
    twice on the way (a few ms of the first screen's time)."""
    BINDINGS = [
        Binding("r", "resume", "Resume"), Binding("n", "new", "Start new"), Binding("o", "open_spec", "Open spec"),
        Binding("s", "sandbox", "Sandbox"), Binding("t", "teardown", "Tear down"),
        Binding("ctrl+r", "retry", "Retry", tooltip="Check again how you can sign in."),
    ]

    def __init__(self, services: Services):
        super().__init__()
        self.services = services
        self.setups: list[Any] = []
        self.detect_failed = False

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with VerticalScroll(id="body"):
            yield Static("Welcome", classes="title")
            yield Static("Give an Azure workload a managed identity that can read one Key Vault secret, with the "
                         "least privilege, and prove that it works.", classes="lead")
            yield Note("", id="connection")
            # The setups' table is made when there are setups to show (DataTable is not needed for the first frame).
            yield Vertical(id="setups-box", classes="setups-box")
            yield Static("", id="empty", classes="muted")
            with Horizontal(classes="buttons"):
                yield Button("Resume", id="resume", variant="primary", disabled=True)
                yield Button("Start new", id="new")
                yield Button("Open a spec file", id="open")
                yield Button("Tear down", id="teardown")
                if self.services.place.offers_sandbox:  # not on the sandbox already (it stays on it)
                    yield Button("Try the sandbox", id="sandbox")
        yield KeyBar()

    def on_mount(self) -> None:
        self.sub_title = self.services.place.label
        self.show_connection()
        if self.services.place.offers_sign_in_choice and self.services.session is None:
            self.call_after_refresh(self.detect)

    def help_text(self) -> str:
        """F1 names only the buttons this screen shows (no "Try the sandbox" on the sandbox)."""
        shown = {str(b.label) for b in self.query(Button) if b.display}  # not "Try the sandbox" once on it
        return "\n".join(line for line in HELP.splitlines()
                         if not line.startswith("- **") or line[4:].split("**")[0] in shown)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "sandbox":
            return self.services.place.offers_sandbox  # hidden once on the sandbox
        if action == "retry":
            return self.detect_failed  # offered only while it could not be checked
        return True

    def on_work_failed(self, message: WorkFailed) -> None:
        """Checking the sign-in failed: said in place of "Checking…" (screens.errors' format), with Ctrl+R. A
        failed list of setups (or of their drift) goes on to the app's notice."""
        if message.work == "detect":
            self.detect_failed = True
            self.refresh_bindings()
            self.query_one("#connection", Note).say(message.failure.text() + "\nCtrl+R tries again.", "error")
            message.shown = True

    def action_retry(self) -> None:
        if self.detect_failed:
            self.detect_failed = False
            self.refresh_bindings()
            self.show_connection()
            self.detect()

    def on_screen_resume(self) -> None:
        # Shown first or again: (re)list the setups once it has painted (reading every state file is a worker's).
        self.call_after_refresh(self.list_setups)

    # -- background ---------------------------------------------------------------------------------------
    @work(thread=True, group="setups", exclusive=True, exit_on_error=False, description="list the setups")
    def list_setups(self) -> None:
        from wizard.draft import summaries

        from .messages import SetupsListed
        self.post_message(SetupsListed(summaries(self.services.state_dir)))
        session = self.services.session
        if session is not None:  # then, read from Azure: which of them drifted (the list is already shown)
            self.post_message(SetupsListed(summaries(self.services.state_dir, session=session)))

    @work(thread=True, group="detect", exclusive=True, exit_on_error=False,
          description="check how you can sign in to Azure")
    def detect(self) -> None:
        from wizard.sign_in_options import detect_sign_in, no_sign_in_reason

        from .messages import SignInDetected
        options = detect_sign_in()
        self.post_message(SignInDetected(options, no_sign_in_reason(options)))

    def _table(self) -> Any:
        """The setups' DataTable, made (and mounted) the first time it is needed."""
        from textual.widgets import DataTable
        found = self.query("#setups")
        if found:
            return found.first(DataTable)
        table = DataTable(id="setups", cursor_type="row", zebra_stripes=True)
        self.query_one("#setups-box", Vertical).mount(table)
        table.add_columns("Setup", "Progress", "At", "Last touched", "Target")
        return table

    def on_setups_listed(self, message: Any) -> None:
        self.setups = message.setups
        table = self._table() if self.setups or self.query("#setups") else None
        if table is not None:
            row = table.cursor_row  # listed again (with drift): the cursor stays where the person put it
            table.clear()
            for s in self.setups:
                progress = "broken" if s.broken else (f"{s.progress} drift" if s.drifted else s.progress)
                target = s.target or ("" if s.broken else "not chosen yet")  # never the default it starts with
                table.add_row(s.name, progress, _title(s.screen), _when(s.updated), target, key=str(s.path))
            table.display = bool(self.setups)
            if row and row < len(self.setups):
                table.move_cursor(row=row)
        empty = self.services.place.no_setups
        drifted = [f"{s.name} ({s.drift.summary()})" for s in self.setups if s.drifted]
        self.query_one("#empty", Static).update(
            empty if not self.setups else
            ("Changed in Azure since the last run: " + "; ".join(drifted) + ". Resume to see and repair it.")
            if drifted else "")
        self.query_one("#resume", Button).disabled = not self.setups
        if table is not None and self.setups:
            table.focus()
        else:
            self.query_one("#new", Button).focus()

    def show_connection(self, failed: str | None = None) -> None:
        note = self.query_one("#connection", Note)
        session = self.services.session
        if failed:
            note.say(failed, "error")  # screens.errors' one format: "Could not sign in. …"
        elif session is not None:
            note.say(f"Connected to {session.profile.described}.", "ok")
        else:
            note.say(self.services.place.connecting)

    def on_session_opened(self, message: Any) -> None:
        self.show_connection()
        if self.setups:
            self.list_setups()  # now their drift can be read

    def on_session_failed(self, message: Any) -> None:
        self.show_connection(message.reason)

    def on_sign_in_detected(self, message: Any) -> None:
        note = self.query_one("#connection", Note)
        if message.reason is None:
            ready = ", ".join(o.label for o in message.options if o.available and o.kind in ("cli", "env"))
            note.say(f"Ready to sign in to Azure ({ready}).", "ok")
        else:
            note.say(f"No Azure sign-in found. {message.reason} You can still sign in with a device code, or "
                     "press S to try the sandbox: a local Azure where nothing real is created.", "warn")

    # -- actions ------------------------------------------------------------------------------------------
    def _selected(self) -> Any:
        if not self.setups:
            return None
        table = self._table()
        if table.cursor_row is None or table.cursor_row >= len(self.setups):
            return None
        return self.setups[table.cursor_row]

    def on_data_table_row_selected(self, event: Any) -> None:
        if event.data_table.id == "setups":
            self.action_resume()

    @on(Button.Pressed, "#resume")
    def action_resume(self) -> None:
        chosen = self._selected()
        if chosen is None:
            return
        if chosen.broken:
            self.notify(chosen.broken, title="Cannot resume", severity="error", markup=False, timeout=12)
            return
        if not self.services.place.made_here(chosen.cloud):
            self.notify(self.services.place.made_elsewhere.format(cloud=chosen.cloud),
                        title="Another cloud", severity="warning", markup=False, timeout=10)
            return
        if chosen.drifted:  # what changed since the last run, before it goes on
            from .dialogs import ConfirmDialog
            self.app.push_screen(ConfirmDialog(f"{chosen.name} changed in Azure since the last run",
                                               chosen.drift.notice() + "\n\nApplying it again repairs this; its plan shows "
                                               "what it changes before anything is.", yes="Resume", no="Back"),
                                 lambda go: self._open(chosen) if go else None)
            return
        self._open(chosen)

    def _open(self, chosen: Any) -> None:
        from wizard.draft import Draft

        from .errors import run_action
        run_action(self, f"resume {chosen.name}",  # e.g. unreadable meanwhile
                   lambda: self.app.open_setup(Draft.open(chosen.path)))

    def _free_name(self) -> str:
        taken = {s.name for s in self.setups}
        base = "prefect-aci"
        return next(n for n in [base] + [f"{base}-{i}" for i in range(2, 999)] if n not in taken)

    @on(Button.Pressed, "#new")
    def action_new(self) -> None:
        from wizard.state import validate_setup_name

        from .dialogs import AskDialog
        taken = {s.name for s in self.setups}

        def check(name: str) -> str | None:
            if name in taken:
                return f"A setup named {name} exists: resume it from the list, or choose another name."
            return validate_setup_name(name)

        self.app.push_screen(AskDialog("Start a new setup", "Name it (it names the state file and the defaults):",
                                       value=self._free_name(), check=check, ok_label="Start"), self._start)

    def _start(self, name: str | None) -> None:
        if not name:
            return
        from wizard.draft import Draft

        from .errors import run_action
        run_action(self, f"start {name}",  # e.g. created by another wizard meanwhile
                   lambda: self.app.open_setup(Draft.start(name, directory=self.services.state_dir,
                                                           cloud=self.services.cloud)))

    @on(Button.Pressed, "#open")
    def action_open_spec(self) -> None:
        from .dialogs import AskDialog

        def check(path: str) -> str | None:
            return None if Path(path).expanduser().is_file() else "No file there."

        self.app.push_screen(AskDialog("Open a spec file", "Path of a spec (TOML) file, e.g. "
                                       "examples/prefect-aci.toml:", placeholder="spec.toml", check=check,
                                       ok_label="Open"), self._open_spec)

    def _open_spec(self, path: str | None) -> None:
        if not path:
            return
        from .open_spec import open_spec
        open_spec(self, Path(path).expanduser())  # asks for another name when a setup has the spec's (screens/open_spec.py)

    @on(Button.Pressed, "#teardown")
    def action_teardown(self) -> None:
        """Tear down the selected setup: its plan, then a typed confirmation (screens/teardown.py)."""
        chosen = self._selected()
        if chosen is None or chosen.broken:
            self.notify(chosen.broken if chosen else "Select a setup first.", title="Cannot tear down",
                        severity="warning", markup=False)
            return
        if self.services.session is None:
            self.notify("Not connected yet: wait for the sign-in, then try again.", title="Cannot tear down",
                        severity="warning", markup=False)
            return
        from .teardown import TeardownScreen
        self.app.push_screen(TeardownScreen(self.services, chosen.path, chosen.name),
                             lambda done: self.list_setups() if done else None)

    @on(Button.Pressed, "#sandbox")
    def action_sandbox(self) -> None:
        if not self.services.place.offers_sandbox:
            return
        self.services.use_sandbox()
        self.sub_title = self.services.place.label
        self.query_one("#sandbox", Button).display = False
        self.refresh_bindings()
        self.show_connection()
        self.app.open_session()
        self.list_setups()

