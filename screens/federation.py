"""Federated credentials: AKS pods (a cluster's OIDC issuer and one service account) or GitHub Actions (one
repository and a branch, environment, tag or pull requests) sign in as the identity with their own tokens.

Each credential is checked as typed with the spec's own rules (wizard.spec_rules), so what the screen accepts
is what `apply` accepts; the subject is shown exactly as Entra ID will compare it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, fields
from typing import Any

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Button, Input, RadioButton, RadioSet, Select

from wizard.azure import roles
from wizard.spec import FederationSpec, Spec
from wizard.spec_rules import federation_problems

from .base import Collected, Note, chosen, field
from .entries import EntriesScreen, EntryTable
from .messages import LoadFailed, PageLoaded, fetched

HELP = """
A **federated credential** lets a workload outside this subscription's compute sign in as the identity with
the OIDC token its own platform gives it: **no secret or certificate is stored anywhere**. Entra ID accepts
the token when its issuer, subject and audience match the credential *exactly* (no wildcards).

- **AKS workload identity**: the issuer is the cluster's OIDC issuer (read from the cluster; it needs
  `--enable-oidc-issuer --enable-workload-identity`); the subject is `system:serviceaccount:NAMESPACE:NAME`.
  The result screen shows the ServiceAccount manifest and the pod label to use.
- **GitHub Actions**: the issuer is GitHub's; the subject names the repository and **one** of a branch, an
  environment, a tag or pull requests. A job with `environment:` gets the environment subject, not the branch
  one. Optionally the identity gets a role on the runner's resource group (what the workflow may do).

Add as many credentials as needed (Azure allows 20 per identity) with **Ctrl+T**; Next adds the one typed
if it is complete. Delete (on the list) or *Remove selected* takes one out.
"""

ENTITIES = (("branch", "Branch"), ("environment", "Environment"), ("tag", "Tag"), ("pull_request", "Pull requests"))
RUNNER_ROLES = [r for r in roles.CURATED if not r.fits]
"""Roles meant for any scope (a resource group): Reader, Contributor."""
_FIELDS = {f.name for f in fields(FederationSpec)}


def compact(entry: dict[str, Any]) -> dict[str, Any]:
    """A credential as the spec keeps it: only what differs from the defaults."""
    defaults = asdict(FederationSpec())
    return {k: v for k, v in entry.items() if k in _FIELDS and (k == "kind" or v != defaults.get(k))}


def credential_row(entry: dict[str, Any]) -> tuple[Text, Text]:
    fed = FederationSpec(**entry)
    return Text(fed.subject, "bold"), Text(fed.credential_name, "dim")


class FederationScreen(EntriesScreen):
    SCREEN_ID = "federation"
    LEAD = "How AKS pods or GitHub Actions sign in as the identity, with their own tokens: no secret anywhere."
    HELP = HELP
    BINDINGS = [Binding("ctrl+t", "add", "Add credential")]

    def __init__(self, services: Any, clusters: list[Any] | None = None):
        super().__init__(services)
        self.clusters = clusters
        """catalog.AksCluster records; given (snapshots) or read in a worker on mount."""
        self.ready = False
        """The form holds a complete credential that is not in the list yet (Next adds it)."""
        self.wanted_cluster = ""

    def compose_body(self) -> Iterable[Widget]:
        yield EntryTable(("subject", "name"), credential_row, id="entries")
        with RadioSet(id="kind", classes="inline"):
            yield RadioButton("AKS workload identity", name="aks")
            yield RadioButton("GitHub Actions", name="github")
        yield field("Cluster", Select([], prompt="Loading AKS clusters…", id="cluster", allow_blank=True,
                                      compact=True)).add_class("aks")
        yield field("Or its issuer", Input(id="issuer", placeholder="https://… (a cluster you cannot read here)",
                                           compact=True)).add_class("aks", "typed-issuer")
        yield field("Namespace", Input(id="namespace", placeholder="default", compact=True)).add_class("aks")
        yield field("Service account", Input(id="service-account", placeholder="workload-sa",
                                             compact=True)).add_class("aks")
        yield field("Repository", Input(id="repository", placeholder="contoso/infra", compact=True)).add_class("github")
        with RadioSet(id="entity", classes="inline github"):
            for key, label in ENTITIES:
                yield RadioButton(label, name=key)
        yield field("Branch", Input(id="entity-value", placeholder="main", compact=True)).add_class("github",
                                                                                                  "entity-value")
        yield field("Runner's group", Input(id="runner-group", placeholder="optional: a resource group the workflow "
                                            "deploys to", compact=True)).add_class("github")
        yield field("Role there", Select([(r.name, r.name) for r in RUNNER_ROLES],
                                         prompt="No role", id="runner-role", allow_blank=True,
                                         compact=True)).add_class("github")
        yield field("Credential name", Input(id="cred-name", placeholder="derived from the subject", compact=True))
        yield Note("", id="subject")
        yield Note("", id="status")
        with Horizontal(classes="buttons"):
            yield Button("Add credential", id="add", compact=True)
            yield Button("Remove selected", id="remove", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        spec, answers = self.draft.spec, self.answers()
        self.table.set_entries([compact(e) for e in answers.get("entries", [asdict(f) for f in spec.federation])])
        target_kind = self.draft.answers("target").get("kind")
        kind = answers.get("kind") or (target_kind if target_kind in ("aks", "github") else
                                       self.entries[0]["kind"] if self.entries else "aks")
        form = answers.get("form", {})
        for button in self.query_one("#kind", RadioSet).query(RadioButton):
            button.value = button.name == kind
        entity = form.get("entity", "branch")
        for button in self.query_one("#entity", RadioSet).query(RadioButton):
            button.value = button.name == entity
        for widget_id, key, default in (("#issuer", "issuer", ""), ("#namespace", "namespace", "default"),
                                        ("#service-account", "service_account", ""),
                                        ("#repository", "repository", ""), ("#entity-value", "value", ""),
                                        ("#runner-group", "runner_group", ""), ("#cred-name", "name", "")):
            self.query_one(widget_id, Input).value = form.get(key, default)
        if form.get("runner_role"):
            self.query_one("#runner-role", Select).value = form["runner_role"]
        self.wanted_cluster = form.get("cluster", "")
        self.query_one("#kind", RadioSet).focus()
        if self.clusters is not None:
            self.show_clusters(self.clusters)
        else:
            self.load(spec.subscription)
        self.check()

    # -- clusters -------------------------------------------------------------------------------------------
    @work(thread=True, group="clusters", exclusive=True, exit_on_error=False)
    def load(self, subscription: str) -> None:
        from wizard import catalog
        self.post_message(fetched("clusters", lambda: catalog.aks_clusters(self.services.session, subscription)))

    def on_page_loaded(self, message: PageLoaded) -> None:
        self.show_clusters(message.rows)
        self.check()

    def on_load_failed(self, message: LoadFailed) -> None:
        self.clusters = []
        self.query_one("#cluster", Select).prompt = "Cannot list clusters: type the issuer below"
        self.check()

    def show_clusters(self, clusters: list[Any]) -> None:
        self.clusters = clusters
        select = self.query_one("#cluster", Select)
        options = [(f"{c.name}  ({c.resource_group}, {c.location})" + ("" if c.problem is None else
                                                                        "  needs workload identity"),
                    f"{c.resource_group}/{c.name}") for c in clusters]
        select.set_options(options)
        select.prompt = "Choose the cluster" if clusters else "No AKS cluster here: type its issuer below"
        wanted = self.wanted_cluster or (f"{clusters[0].resource_group}/{clusters[0].name}" if len(clusters) == 1
                                         and not self.query_one("#issuer", Input).value else "")
        if wanted in {v for _, v in options}:
            select.value = wanted

    def cluster(self) -> Any | None:
        value = self.query_one("#cluster", Select).value
        if not isinstance(value, str):
            return None
        return next((c for c in self.clusters or [] if f"{c.resource_group}/{c.name}" == value), None)

    # -- the credential being typed -------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return chosen(self.query_one("#kind", RadioSet), "aks")

    @property
    def entity(self) -> str:
        return chosen(self.query_one("#entity", RadioSet), "branch")

    def _text(self, widget_id: str) -> str:
        return self.query_one(widget_id, Input).value.strip()

    def form(self) -> dict[str, Any]:
        cluster = self.query_one("#cluster", Select).value
        role = self.query_one("#runner-role", Select).value
        return {"cluster": cluster if isinstance(cluster, str) else "", "issuer": self._text("#issuer"),
                "namespace": self._text("#namespace"), "service_account": self._text("#service-account"),
                "repository": self._text("#repository"), "entity": self.entity, "value": self._text("#entity-value"),
                "runner_group": self._text("#runner-group"), "runner_role": role if isinstance(role, str) else "",
                "name": self._text("#cred-name")}

    def candidate(self) -> dict[str, Any]:
        """The credential the form describes, as a spec entry."""
        form, entry = self.form(), {"kind": self.kind, "name": self._text("#cred-name")}
        if self.kind == "aks":
            cluster = self.cluster()
            if cluster is not None:
                entry.update(cluster=cluster.name, cluster_resource_group=cluster.resource_group)
            else:
                entry["issuer"] = form["issuer"]
            entry.update(namespace=form["namespace"] or "default", service_account=form["service_account"])
        else:
            entry["repository"] = form["repository"]
            if self.entity == "pull_request":
                entry["pull_request"] = True
            else:
                entry[self.entity] = form["value"]
            if form["runner_group"] or form["runner_role"]:
                entry.update(runner_resource_group=form["runner_group"], runner_role=form["runner_role"])
        return compact(entry)

    def problems(self, entry: dict[str, Any]) -> list[str]:
        """What is wrong with `entry` next to the credentials already added (the spec's rules, plus the cluster)."""
        spec = Spec(federation=[FederationSpec(**e) for e in [*self.entries, entry]])
        label = f"federation[{len(self.entries)}]"
        found = [p.replace(f"{label}.", "").replace(f"{label}: ", "") for p in federation_problems(spec)
                 if p.startswith(label) or p.startswith("federation:")]
        cluster = self.cluster()
        if entry["kind"] == "aks" and cluster is not None and cluster.problem:
            found.insert(0, cluster.problem)
        return found

    @on(RadioSet.Changed)
    @on(Input.Changed)
    @on(Select.Changed)
    def check(self, _: Any = None) -> None:
        aks = self.kind == "aks"
        for widget in self.query(".aks"):
            widget.display = aks
        for widget in self.query(".github"):
            widget.display = not aks
        self.query_one(".typed-issuer").display = aks and self.cluster() is None
        pull = self.entity == "pull_request"
        self.query_one(".entity-value").display = not aks and not pull
        self.query_one(".entity-value .field-label").update(dict(ENTITIES).get(self.entity, "Branch"))
        entry = self.candidate()
        fed = FederationSpec(**entry)
        self.query_one("#subject", Note).say(f"Subject  {fed.subject}\nName     {fed.credential_name}")
        problems = self.problems(entry)
        status = self.query_one("#status", Note)
        # What is wrong with what was typed; an empty field is only "to fill in".
        shown = [p for p in problems if "'' is not" not in p]
        cluster = self.cluster() if aks else None
        typed = bool(shown) and (cluster is not None and cluster.problem is not None or any(
            v for k, v in self.form().items() if k not in ("entity", "cluster")
            and not (k == "namespace" and v == "default")))
        if problems:
            status.say(("; ".join(shown) if typed else
                        "Fill in the credential, then Add it (Ctrl+T)." if not self.entries else
                        f"{len(self.entries)} credential{'s' if len(self.entries) > 1 else ''} added; Next goes on "
                        "(or fill in another one)."), "error" if typed else "")
        else:
            role = roles.find(entry.get("runner_role", "")) if entry.get("runner_role") else None
            note = ("Ready: Add it (Ctrl+T) or go on (Next adds it)." if aks else
                    f"Ready: a run {self._when(fed)} signs in as the identity. Add it (Ctrl+T) or go on.")
            if role is not None:
                note += f" {role.name} on {entry['runner_resource_group']}: {role.allows}"
            status.say(note + (f" Warning: {role.warning}" if role is not None and role.warning else ""),
                       "warn" if role is not None and role.warning else "ok")
        self.ready = not problems
        self.query_one("#add", Button).disabled = bool(problems)
        self.query_one("#remove", Button).disabled = not self.entries
        self.can_advance = bool(self.entries) or not problems

    @staticmethod
    def _when(fed: FederationSpec) -> str:
        if fed.pull_request:
            return f"for a pull request in {fed.repository}"
        if fed.environment:
            return f"of a job with environment {fed.environment} in {fed.repository}"
        return f"for {'tag' if fed.tag else 'branch'} {fed.tag or fed.branch} of {fed.repository} (no environment)"

    # -- the list -------------------------------------------------------------------------------------------
    @on(Button.Pressed, "#add")
    def action_add(self) -> None:
        entry = self.candidate()
        if self.problems(entry):
            return
        self.table.add(entry)
        for widget_id in ("#service-account", "#entity-value", "#cred-name"):
            self.query_one(widget_id, Input).value = ""
        self.check()

    # -- saving ---------------------------------------------------------------------------------------------
    def typed(self) -> dict[str, Any]:
        return {"kind": self.kind, "entries": list(self.entries), "form": self.form()}

    def collect(self) -> Collected | None:
        if self.ready:  # what is typed and valid counts, as if added
            self.action_add()
        answers = self.typed()
        return answers, {"federation": [dict(e) for e in self.entries]}
