"""The GitHub screen's subject form: the repository's numeric ids (read from GitHub's API, or typed) and which
form of the subject the credentials trust, immutable (recommended) or names only; and the target's problems in
the screen's words (its field labels, not the spec's keys)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from textual import on, work
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, RadioButton, RadioSet, Static

from wizard.targets.github import GithubCredential, GithubTarget
from wizard.targets.github_ids import GithubLookupError, RepositoryIds
from wizard.targets.github_repo import FORM_NOTES, REPOSITORY

from .base import Note, chosen
from .button import Button
from .errors import RoutesFailures, WorkFailed

FORMS = (("immutable", "Immutable ids (recommended)"), ("name", "Names only"))
LOOKUP_DELAY_S = 0.5
"""A pause in typing before the repository is looked up: GitHub allows 60 unauthenticated calls an hour."""

LABELS = (("credentials[{n}].branch", "Branch"), ("credentials[{n}].environment", "Environment"),
          ("credentials[{n}].tag", "Tag"), ("credentials[{n}].name", "Credential name"),
          ("credentials[{n}]", "Credential"), ("credentials", "Credentials"), ("repository_id", "Repository id"),
          ("repository", "Repository"), ("owner_id", "Owner id"), ("subject_form", "Subject form"),
          ("runner_resource_group", "Runner's group"), ("runner_role", "Role there"), ("audience", "Audience"),
          ("issuer", "Issuer"))
"""The spec's keys under `target.` -> this screen's labels (longest first: `repository_id` before `repository`)."""
PHRASES = (("runner_role and runner_resource_group go together", "Runner's group and Role there go together"),
           ("set exactly one of branch, environment, tag or pull_request = true", "give the branch, environment or "
            "tag (or choose Pull requests)"),
           ("needs both owner_id and repository_id", "needs the owner id and the repository id (Look up, or type "
            "them)"),
           ("use subject_form = \"name\"", "choose Names only"),
           ("the same subject as target.credentials", "the same subject as credential "),
           ("also the name of target.credentials", "also the name of credential "),
           ("target.", ""))


def ui_words(problem: str, n: int) -> str:
    """A target problem in the screen's words: "Repository: ..." rather than "target.repository: ..."."""
    for key, label in LABELS:
        prefix = "target." + key.format(n=n)
        if problem.startswith(prefix + ":"):
            problem = label + problem[len(prefix):]
            break
    else:
        problem = problem.removeprefix("target: ")
    for spec_words, words in PHRASES:
        problem = problem.replace(spec_words, words)
    problem = re.sub(r"credential \[(\d+)\]", lambda m: f"credential {int(m[1]) + 1}", problem)
    return problem[:1].upper() + problem[1:]


def preview(target: GithubTarget) -> GithubTarget:
    """`target` for showing subjects: placeholders for what is not typed yet (the repository, the ids)."""
    owner, _, name = (target.repository or "ORG/REPO").partition("/")
    if target.subject_form == "immutable" and not (target.owner_id and target.repository_id):
        return GithubTarget(repository=f"{owner}@OWNER_ID/{name or 'REPO'}@REPOSITORY_ID", subject_form="name")
    return GithubTarget(repository=f"{owner}/{name or 'REPO'}", owner_id=target.owner_id,
                        repository_id=target.repository_id, subject_form=target.subject_form)


def when(credential: GithubCredential, repository: str) -> str:
    """Which workflow runs a credential lets in, in words."""
    if credential.pull_request:
        return f"for a pull request in {repository}"
    if credential.environment:
        return f"of a job with environment {credential.environment} in {repository}"
    return f"for {'tag' if credential.tag else 'branch'} {credential.tag or credential.branch} of {repository} " \
           "(no environment)"


def typed_labels(form: dict[str, Any], entity: str, looking_up: bool) -> set[str]:
    """The labels (problems' first words) of what the form holds: their errors are shown; an empty field is
    asked for instead, and a field just cleared (by Add) is not an error."""
    labels = {label for key, label in (("repository", "Repository"), ("name", "Credential name"),
                                       ("runner_group", "Runner's"), ("runner_role", "Runner's"),
                                       ("owner_id", "Owner id"), ("repository_id", "Repository id")) if form[key]}
    if form["value"] or entity == "pull_request":
        labels |= {"Branch", "Environment", "Tag", "Credential"}
    if form["owner_id"] or form["repository_id"] or (form["repository"] and not looking_up):
        labels |= {"Subject form", "The immutable"}  # the ids are asked for once the lookup is over
    return labels


class SubjectForm(RoutesFailures, Vertical):
    """The ids row, the form choice and a note. `lookup(repository)` runs in a thread worker (it may reach
    GitHub); its failure is shown and the ids are asked for."""

    class LookedUp(Message):
        """A lookup is over (ids filled in, or the failure shown): the screen checks its form again."""

    DEFAULT_CSS = """
    SubjectForm { height: auto; }
    SubjectForm .ids-label { width: auto; color: $text-muted; }
    SubjectForm #lookup { margin-left: 1; }
    """

    def __init__(self, lookup: Callable[[str], RepositoryIds], *, id: str | None = None):
        super().__init__(id=id)
        self.lookup_ids = lookup
        self.fetched: RepositoryIds | None = None
        """The ids last read from GitHub (cleared when the repository changes)."""
        self.pending = self.scheduled = ""
        """The repository being looked up / waiting for a pause in typing to be looked up."""
        self.told = ("", "")
        """The lookup's last outcome (text, kind), kept above the form's explanation."""
        self._timer: Timer | None = None

    def compose(self) -> Iterable[Widget]:
        with Horizontal(classes="field"):
            yield Static("Subject form", classes="field-label")
            with RadioSet(id="subject-form", classes="inline"):
                for key, label in FORMS:
                    yield RadioButton(label, name=key)
        with Horizontal(classes="field"):
            yield Static("GitHub ids", classes="field-label")
            yield Static("owner ", classes="ids-label")
            yield Input(id="owner-id", placeholder="123456", restrict=r"[0-9]*", compact=True)
            yield Static(" repository ", classes="ids-label")
            yield Input(id="repository-id", placeholder="456789", restrict=r"[0-9]*", compact=True)
            yield Button("Look up", id="lookup", compact=True)
        yield Note("", id="ids-note")

    def on_mount(self) -> None:
        radios = self.query_one("#subject-form", RadioSet)
        radios.styles.margin = 0  # on the field's one line (the app's RadioSet rule puts a line above each set)
        radios.styles.height = 1

    def fill(self, owner_id: int, repository_id: int, form: str) -> None:
        self.query_one("#owner-id", Input).value = str(owner_id or "")
        self.query_one("#repository-id", Input).value = str(repository_id or "")
        for button in self.query_one("#subject-form", RadioSet).query(RadioButton):
            button.value = button.name == form

    # -- what is chosen ---------------------------------------------------------------------------------------
    @property
    def form(self) -> str:
        return chosen(self.query_one("#subject-form", RadioSet), "immutable")

    def ids(self) -> tuple[int, int]:
        values = [self.query_one(w, Input).value.strip() for w in ("#owner-id", "#repository-id")]
        return int(values[0] or 0), int(values[1] or 0)

    def say(self, text: str = "", kind: str = "") -> None:
        """The note: `text` (a lookup's outcome) then the chosen form's one-line explanation."""
        self.told = (text, kind)
        note = FORM_NOTES[self.form] if self.form in FORM_NOTES else ""
        self.query_one("#ids-note", Note).say(f"{text}\n{note}" if text else note, kind)

    # -- looking the ids up ---------------------------------------------------------------------------------
    def repository_changed(self, repository: str) -> None:
        """The repository field changed: ids read for another repository go; a valid name is looked up after a
        pause in typing, unless ids are typed."""
        if self.fetched is not None and self.fetched.repository.lower() != repository.lower():
            if self.ids() == (self.fetched.owner_id, self.fetched.repository_id):
                self.fill(0, 0, self.form)
            self.fetched = None
        if self._timer is not None:
            self._timer.stop()
        self.pending = self.scheduled = ""  # a lookup under way is for another name now: its answer is dropped
        if REPOSITORY.match(repository) and self.ids() == (0, 0) and self.fetched is None and self.form == "immutable":
            self.scheduled = repository
            self._timer = self.set_timer(LOOKUP_DELAY_S, lambda: self.look_up(repository))

    @on(Button.Pressed, "#lookup")
    def look_up_pressed(self) -> None:
        repository = self.screen.query_one("#repository", Input).value.strip()
        if not REPOSITORY.match(repository):
            self.say("Type the repository as ORGANISATION/REPOSITORY first.", "error")
            return
        self.look_up(repository)

    def look_up(self, repository: str) -> None:
        self.pending, self.scheduled = repository, ""
        self.say(f"Reading the ids of {repository} from GitHub…")
        self.run_lookup(repository)

    def on_work_failed(self, message: WorkFailed) -> None:
        # Not a lookup's answer (those are GithubLookupError, said in place): shown by the screen, one route.
        if message.work == "github-ids":
            self.pending = ""
            self.say("Could not read the ids (see above). Type them, or choose Names only.", "warn")

    @work(thread=True, group="github-ids", exclusive=True, exit_on_error=False,
          description="read the repository's ids from GitHub")
    def run_lookup(self, repository: str) -> None:
        try:
            found: RepositoryIds | str = self.lookup_ids(repository)
        except GithubLookupError as err:
            found = err.reason
        self.app.call_from_thread(self.looked_up, repository, found)

    @property
    def busy(self) -> bool:
        """A lookup is waiting for a pause in typing, or running."""
        return bool(self.pending or self.scheduled)

    def looked_up(self, repository: str, found: RepositoryIds | str) -> None:
        if repository != self.pending or not self.is_mounted:
            return  # the repository changed meanwhile
        self.pending = ""
        if isinstance(found, str):
            self.say(f"Could not read the ids: {found}. Type them (`gh api repos/{repository} --jq '.owner.id, "
                     ".id'`), or choose Names only.", "warn")
        else:
            self.fetched = found
            self.fill(found.owner_id, found.repository_id, self.form)
            self.say(f"Ids of {found.repository} read from GitHub.", "ok")
        self.post_message(self.LookedUp())

    @on(RadioSet.Changed, "#subject-form")
    def form_changed(self, _: RadioSet.Changed) -> None:
        self.say(*self.told)  # the explanation follows the form; the lookup's outcome stays
        if self.form == "immutable":  # the ids are needed now: read them unless they are there
            self.repository_changed(self.screen.query_one("#repository", Input).value.strip())
