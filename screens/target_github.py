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
from textual.widgets import Button, Input, RadioButton, RadioSet, Select

from wizard.azure import roles
from wizard.targets.github import GithubCredential, GithubTarget, github_problems

from .base import Collected, Note, chosen, field
from .entries import EntriesScreen, EntryTable

HELP = """
**GitHub Actions** sign in to Azure with the OIDC token GitHub gives each job: a *federated credential* on
the identity trusts GitHub's issuer for one **subject**, so **no secret is stored anywhere**. Entra ID
compares the subject *exactly* (no wildcards): it names the repository and **one** of a branch, an
environment, a tag or pull requests. A job with `environment:` gets the environment subject, not the branch
one.

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
        yield EntryTable(("subject", "name"), self.row, id="entries")
        with RadioSet(id="entity", classes="inline"):
            for key, label in ENTITIES:
                yield RadioButton(label, name=key)
        yield field("Branch", Input(id="entity-value", placeholder="main", compact=True)).add_class("entity-value")
        yield field("Credential name", Input(id="cred-name", placeholder="derived from the subject", compact=True))
        yield field("Runner's group", Input(id="runner-group", placeholder="optional: a resource group the workflow "
                                            "deploys to", compact=True))
        yield field("Role there", Select([(r.name, r.name) for r in RUNNER_ROLES], prompt="No role", id="runner-role",
                                         allow_blank=True, compact=True))
        yield Note("", id="subject")
        yield Note("", id="status")
        with Horizontal(classes="buttons"):
            yield Button("Add credential", id="add", compact=True)
            yield Button("Remove selected", id="remove", compact=True)

    def row(self, entry: dict[str, Any]) -> tuple[Text, Text]:
        credential, repository = GithubCredential(**entry), self._text("#repository")
        return Text(credential.subject(repository), "bold"), Text(credential.credential_name(repository), "dim")

    def on_mount(self) -> None:
        super().on_mount()
        spec, answers = self.draft.spec, self.answers()
        target = spec.target if isinstance(spec.target, GithubTarget) else GithubTarget()
        form = answers.get("form", {})
        for widget_id, key, default in (("#repository", "repository", target.repository),
                                        ("#runner-group", "runner_group", target.runner_resource_group),
                                        ("#entity-value", "value", ""), ("#cred-name", "name", "")):
            self.query_one(widget_id, Input).value = form.get(key, default)
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
        return {"repository": self._text("#repository"), "entity": self.entity, "value": self._text("#entity-value"),
                "name": self._text("#cred-name"), "runner_group": self._text("#runner-group"),
                "runner_role": role if isinstance(role, str) else ""}

    def candidate(self) -> GithubCredential:
        """The credential the form describes."""
        form = self.form()
        if self.entity == "pull_request":
            return GithubCredential(pull_request=True, name=form["name"])
        return GithubCredential(name=form["name"], **{self.entity: form["value"]})

    def target(self, credentials: list[dict[str, Any]]) -> GithubTarget:
        form = self.form()
        return GithubTarget(repository=form["repository"], credentials=[GithubCredential(**c) for c in credentials],
                            runner_resource_group=form["runner_group"], runner_role=form["runner_role"])

    def problems(self, with_candidate: bool) -> list[str]:
        """The target's problems with the typed credential added (or without it), in this screen's words."""
        entries = [*self.entries, compact(self.candidate())] if with_candidate else list(self.entries)
        n = len(self.entries)
        found = []
        for problem in github_problems(self.target(entries)):
            if problem.startswith("target.credentials[") and not problem.startswith(f"target.credentials[{n}]"):
                continue  # an added credential: it was checked when added
            found.append(problem.replace(f"target.credentials[{n}].", "").replace(f"target.credentials[{n}]: ", "")
                         .replace("target.", "").replace("target: ", ""))
        return found

    @on(RadioSet.Changed)
    @on(Input.Changed)
    @on(Select.Changed)
    def check(self, _: Any = None) -> None:
        pull = self.entity == "pull_request"
        self.query_one(".entity-value").display = not pull
        self.query_one(".entity-value .field-label").update(dict(ENTITIES).get(self.entity, "Branch"))
        candidate, repository = self.candidate(), self._text("#repository")
        self.query_one("#subject", Note).say(f"Subject  {candidate.subject(repository)}\n"
                                             f"Name     {candidate.credential_name(repository)}")
        self.table.show()  # the rows' subjects follow the repository
        problems = self.problems(with_candidate=True)
        status = self.query_one("#status", Note)
        shown = [p for p in problems if "'' is not" not in p and "go together" not in p]
        typed = bool(shown) and any(v for k, v in self.form().items() if k != "entity")
        if problems:
            status.say("; ".join(shown) if typed else
                       "Fill in the credential, then Add it (Ctrl+T)." if not self.entries else
                       f"{len(self.entries)} credential{'s' if len(self.entries) > 1 else ''} added; Next goes on "
                       "(or fill in another one).", "error" if typed else "")
        else:
            role = roles.find(self.form()["runner_role"]) if self.form()["runner_role"] else None
            note = f"Ready: a run {self._when(candidate, repository)} signs in as the identity. Add it (Ctrl+T) or go on."
            if role is not None:
                note += f" {role.name} on {self.form()['runner_group']}: {role.allows}"
            status.say(note + (f" Warning: {role.warning}" if role is not None and role.warning else ""),
                       "warn" if role is not None and role.warning else "ok")
        self.ready = not problems
        self.query_one("#add", Button).disabled = bool(problems)
        self.query_one("#remove", Button).disabled = not self.entries
        self.can_advance = self.ready or (bool(self.entries) and not self.problems(with_candidate=False))

    @staticmethod
    def _when(credential: GithubCredential, repository: str) -> str:
        if credential.pull_request:
            return f"for a pull request in {repository}"
        if credential.environment:
            return f"of a job with environment {credential.environment} in {repository}"
        return f"for {'tag' if credential.tag else 'branch'} {credential.tag or credential.branch} of {repository} " \
               "(no environment)"

    # -- the list ---------------------------------------------------------------------------------------------
    @on(Button.Pressed, "#add")
    def action_add(self) -> None:
        if self.problems(with_candidate=True):
            return
        self.table.add(compact(self.candidate()))
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
        return self.typed(), {"target": {"kind": "github", "repository": form["repository"],
                                         "credentials": [dict(e) for e in self.entries],
                                         "runner_resource_group": form["runner_group"],
                                         "runner_role": form["runner_role"]}}
