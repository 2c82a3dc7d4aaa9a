"""The GitHub target's screen: the repository, which workflow runs may sign in (a branch, environment, tag or
pull requests: one federated credential each) and, optionally, a role on the group the workflow deploys to.
Checked with the GitHub target's own rules, so what the screen accepts is what `apply` accepts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, RadioButton, RadioSet, Select

from wizard.azure import roles
from wizard.targets.github import GithubCredential, GithubTarget, github_problems
from wizard.targets.github_ids import RepositoryIds, fetch_for
from wizard.targets.github_repo import split_ids

from .base import Collected, Note, chosen, field
from .button import Button
from .entries import EntriesScreen, EntryTable
from .github_subject import SubjectForm, preview, typed_labels, ui_words, when

HELP = """
**GitHub Actions** sign in to Azure with the OIDC token GitHub gives each job: a *federated credential* on
the identity trusts GitHub's issuer for one **subject**, so **no secret is stored anywhere**. Entra ID
compares the subject *exactly* (no wildcards): it names the repository and **one** of a branch, an
environment, a tag or pull requests. A job with `environment:` gets the environment subject, not the branch
one.

The repository part comes in two forms, and a repository's tokens carry only one:
- **Immutable ids** (recommended): `repo:ORG@ID/REPO@ID:…`, GitHub's form for repositories created or renamed
  since its 2026 cut-over, or opted in. The ids never change, so nobody who later takes the name gets in. They
  are read from GitHub's API when it can be reached; otherwise type them (`gh api repos/ORG/REPO --jq
  '.owner.id, .id'`), or paste `ORG@ID/REPO@ID` into Repository.
- **Names only**: `repo:ORG/REPO:…`, for repositories made before the cut-over that have not opted in.

Add one credential per subject (Azure allows 20 per identity) with **Ctrl+T**; Next adds the one typed if it
is complete. Delete (on the list) or *Remove selected* takes one out. Optionally the identity gets a role on
the resource group the workflow deploys to.
"""

ENTITIES = (("branch", "Branch"), ("environment", "Environment"), ("tag", "Tag"), ("pull_request", "Pull requests"))
RUNNER_ROLES = [r for r in roles.CURATED if not r.fits]
"""Roles meant for any scope (a resource group): Reader, Contributor."""


def compact(credential: GithubCredential) -> dict[str, Any]:
    """A credential as the spec keeps it: only what differs from the defaults."""
    defaults = asdict(GithubCredential())
    return {k: v for k, v in asdict(credential).items() if v != defaults[k]}


class GithubScreen(EntriesScreen):
    SCREEN_ID = "details"
    HEADING = "GitHub Actions OIDC"
    LEAD = "Which GitHub Actions runs sign in as the identity, with their own tokens: no secret anywhere."
    HELP = HELP
    BINDINGS = [Binding("ctrl+t", "add", "Add credential")]

    def __init__(self, services: Any):
        super().__init__(services)
        self.ready = False
        """The form holds a complete credential that is not in the list yet (Next adds it)."""

    def compose_body(self) -> Iterable[Widget]:
        yield field("Repository", Input(id="repository", placeholder="contoso/infra", compact=True))
        yield SubjectForm(self._lookup, id="subject-ids")
        yield EntryTable(("subject", "name"), self.row, id="entries")
        with RadioSet(id="entity", classes="inline"):
            for key, label in ENTITIES:
                yield RadioButton(label, name=key)
        yield field("Branch", Input(id="entity-value", placeholder="main", compact=True)).add_class("entity-value")
        yield Note("", id="subject")  # right under what it follows: the kind and its value
        yield Note("", id="status")
        yield field("Credential name", Input(id="cred-name", placeholder="derived from the subject", compact=True))
        yield field("Runner's group", Input(id="runner-group", placeholder="optional: a resource group the workflow "
                                            "deploys to", compact=True))
        yield field("Role there", Select([(r.name, r.name) for r in RUNNER_ROLES], prompt="No role", id="runner-role",
                                         allow_blank=True, compact=True))
        with Horizontal(classes="buttons"):
            yield Button("Add credential", id="add", compact=True)
            yield Button("Remove selected", id="remove", compact=True)

    def _lookup(self, repository: str) -> RepositoryIds:
        return fetch_for(self.services.session, repository)

    @property
    def ids_form(self) -> SubjectForm:
        return self.query_one(SubjectForm)

    def row(self, entry: dict[str, Any]) -> tuple[Text, Text]:
        credential, target = GithubCredential(**entry), self.target([])
        return Text(preview(target).subject(credential), "bold"), \
            Text(credential.credential_name(target.repository), "dim")

    def on_mount(self) -> None:
        super().on_mount()
        spec, answers = self.draft.spec, self.answers()
        target = spec.target if isinstance(spec.target, GithubTarget) else GithubTarget()
        form = answers.get("form", {})
        for widget_id, key, default in (("#repository", "repository", target.repository),
                                        ("#runner-group", "runner_group", target.runner_resource_group),
                                        ("#entity-value", "value", ""), ("#cred-name", "name", "")):
            self.query_one(widget_id, Input).value = form.get(key, default)
        # A new target: the immutable form (recommended); one saved without a form and ids keeps its names.
        subject_form = form.get("subject_form") or ("immutable" if target.immutable or not target.repository
                                                    else "name")
        self.ids_form.fill(form.get("owner_id", target.owner_id), form.get("repository_id", target.repository_id),
                           subject_form)
        self.ids_form.say()
        role = form.get("runner_role", target.runner_role)
        if role in {r.name for r in RUNNER_ROLES}:
            self.query_one("#runner-role", Select).value = role
        entity = form.get("entity", "branch")
        for button in self.query_one("#entity", RadioSet).query(RadioButton):
            button.value = button.name == entity
        self.table.set_entries(answers.get("entries", [compact(c) for c in target.credentials]))
        self.query_one("#repository", Input).focus()
        self.check()

    # -- what is typed ----------------------------------------------------------------------------------------
    @property
    def entity(self) -> str:
        return chosen(self.query_one("#entity", RadioSet), "branch")

    def _text(self, widget_id: str) -> str:
        return self.query_one(widget_id, Input).value.strip()

    def form(self) -> dict[str, Any]:
        role = self.query_one("#runner-role", Select).value
        owner_id, repository_id = self.ids_form.ids()
        return {"repository": self._text("#repository"), "entity": self.entity, "value": self._text("#entity-value"),
                "name": self._text("#cred-name"), "runner_group": self._text("#runner-group"),
                "runner_role": role if isinstance(role, str) else "", "owner_id": owner_id,
                "repository_id": repository_id, "subject_form": self.ids_form.form}

    def candidate(self) -> GithubCredential:
        """The credential the form describes."""
        form = self.form()
        if self.entity == "pull_request":
            return GithubCredential(pull_request=True, name=form["name"])
        return GithubCredential(name=form["name"], **{self.entity: form["value"]})

    def target(self, credentials: list[dict[str, Any]]) -> GithubTarget:
        form = self.form()
        return GithubTarget(repository=form["repository"], owner_id=form["owner_id"],
                            repository_id=form["repository_id"], subject_form=form["subject_form"],
                            credentials=[GithubCredential(**c) for c in credentials],
                            runner_resource_group=form["runner_group"], runner_role=form["runner_role"])

    def problems(self, with_candidate: bool) -> list[str]:
        """The target's problems with the typed credential added (or without it), in this screen's words."""
        entries = [*self.entries, compact(self.candidate())] if with_candidate else list(self.entries)
        n = len(self.entries)
        found = []
        for problem in github_problems(self.target(entries)):
            if problem.startswith("target.credentials[") and not problem.startswith(f"target.credentials[{n}]"):
                continue  # an added credential: it was checked when added
            found.append(ui_words(problem, n))
        return found

    @on(Input.Changed, "#repository")
    def repository_changed(self, event: Input.Changed) -> None:
        self.ids_form.repository_changed(event.value.strip())

    @on(Input.Blurred, "#repository")
    @on(Input.Submitted, "#repository")
    def repository_done(self, event: Input.Blurred | Input.Submitted) -> None:
        # ORG@ID/REPO@ID pasted from a subject: the name here, the ids beside it (once typing is over: while it is
        # typed, "ORG@1/REPO@2" is already that form before the last digit).
        parsed = split_ids(event.value)
        if parsed is not None:
            self.ids_form.fill(parsed[1], parsed[2], "immutable")
            event.input.value = parsed[0]

    @on(SubjectForm.LookedUp)
    @on(RadioSet.Changed)
    @on(Input.Changed)
    @on(Select.Changed)
    def check(self, _: Any = None) -> None:
        pull = self.entity == "pull_request"
        self.query_one(".entity-value").display = not pull
        self.query_one(".entity-value .field-label").update(dict(ENTITIES).get(self.entity, "Branch"))
        candidate, target = self.candidate(), self.target([])
        # The preview follows the kind chosen, whether or not its value is typed yet.
        shown = candidate if candidate.entity or pull else GithubCredential(
            name=candidate.name, **{self.entity: self.entity.upper()})
        shown_target = preview(target)
        self.query_one("#subject", Note).say(f"Subject  {shown_target.subject(shown)}\n"
                                             f"Name     {shown.credential_name(target.repository or 'ORG/REPO')}")
        self.table.show()  # the rows' subjects follow the repository and the ids
        problems = self.problems(with_candidate=True)
        typed = typed_labels(self.form(), self.entity, self.ids_form.busy)
        errors = [p for p in problems if any(p.startswith(label) for label in typed)]
        status = self.query_one("#status", Note)
        if errors:
            status.say("; ".join(errors), "error")
        elif problems:
            status.say("Fill in the repository and the credential, then Add it (Ctrl+T)." if not self.entries else
                       f"{len(self.entries)} credential{'s' if len(self.entries) > 1 else ''} added; Next goes on "
                       "(or fill in another one).")
        else:
            role = roles.find(self.form()["runner_role"]) if self.form()["runner_role"] else None
            note = f"Ready: a run {when(candidate, target.repository)} signs in as the identity. Add it " \
                   "(Ctrl+T) or go on."
            if role is not None:
                note += f" {role.name} on {self.form()['runner_group']}: {role.allows}"
            status.say(note + (f" Warning: {role.warning}" if role is not None and role.warning else ""),
                       "warn" if role is not None and role.warning else "ok")
        self.ready = not problems
        self.query_one("#add", Button).disabled = bool(problems)
        self.query_one("#remove", Button).disabled = not self.entries
        self.can_advance = self.ready or (bool(self.entries) and not self.problems(with_candidate=False))

    def why_not(self) -> str:
        problems = self.problems(with_candidate=not self.entries)
        return problems[0] if problems else super().why_not()

    # -- the list ---------------------------------------------------------------------------------------------
    @on(Button.Pressed, "#add")
    def action_add(self) -> None:
        if self.problems(with_candidate=True):
            self.say_why_not()
            return
        self.table.add(compact(self.candidate()))
        with self.prevent(Input.Changed):  # cleared for the next one: not an error in what was just added
            for widget_id in ("#entity-value", "#cred-name"):
                self.query_one(widget_id, Input).value = ""
        self.check()

    # -- saving -----------------------------------------------------------------------------------------------
    def typed(self) -> dict[str, Any]:
        return {"entries": list(self.entries), "form": self.form()}

    def collect(self) -> Collected | None:
        if self.ready:  # what is typed and valid counts, as if added
            self.action_add()
        form = self.form()
        # The form is written only when the ids do not imply it (immutable with both, names without): specs stay short.
        implied = "immutable" if form["owner_id"] and form["repository_id"] else "name"
        return self.typed(), {"target": {"kind": "github", "repository": form["repository"],
                                         "owner_id": form["owner_id"], "repository_id": form["repository_id"],
                                         "subject_form": "" if form["subject_form"] == implied else form["subject_form"],
                                         "credentials": [dict(e) for e in self.entries],
                                         "runner_resource_group": form["runner_group"],
                                         "runner_role": form["runner_role"]}}
