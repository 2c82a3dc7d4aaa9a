"""The AKS target's screen: the cluster (its OIDC issuer is read through ARM) or a typed issuer, and the one
service account whose pods sign in as the identity. Checked with the AKS target's own rules, so what the screen
accepts is what `apply` accepts; the subject is shown exactly as Entra ID will compare it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import on, work
from textual.widget import Widget
from textual.widgets import Input, Select

from wizard.targets.aks import AksTarget, aks_problems

from .base import Collected, Note, WizardScreen, field
from .errors import WorkFailed
from .messages import PageLoaded

HELP = """
**AKS workload identity**: pods of the cluster sign in as the identity with the token Kubernetes projects
into them. A *federated credential* on the identity trusts the cluster's OIDC issuer for **one service
account**: **no secret or certificate is stored anywhere**.

- The issuer is read from the cluster (it needs `--enable-oidc-issuer --enable-workload-identity`); a cluster
  you cannot read here can be named by its issuer URL instead.
- The subject is `system:serviceaccount:NAMESPACE:NAME`, compared exactly (no wildcards).
- The result screen shows the ServiceAccount manifest and the pod label to use.
"""


class AksScreen(WizardScreen):
    SCREEN_ID = "details"
    RETRIES = frozenset({"clusters"})
    HEADING = "AKS workload identity"
    LEAD = "Which pods sign in as the identity: the cluster and the service account they run as."
    HELP = HELP

    def __init__(self, services: Any, clusters: list[Any] | None = None):
        super().__init__(services)
        self.clusters = clusters
        """catalog.AksCluster records; given (snapshots) or read in a worker on mount."""
        self.wanted_cluster = ""

    def compose_body(self) -> Iterable[Widget]:
        yield field("Cluster", Select([], prompt="Loading AKS clusters…", id="cluster", allow_blank=True,
                                      compact=True))
        yield field("Or its issuer", Input(id="issuer", placeholder="https://… (a cluster you cannot read here)",
                                           compact=True)).add_class("typed-issuer")
        yield field("Namespace", Input(id="namespace", placeholder="default", compact=True))
        yield field("Service account", Input(id="service-account", placeholder="workload-sa", compact=True))
        yield field("Credential name", Input(id="cred-name", placeholder="derived from the subject", compact=True))
        yield Note("", id="subject")
        yield Note("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        spec, form = self.draft.spec, self.answers()
        target = spec.target if isinstance(spec.target, AksTarget) else AksTarget()
        group = target.resource_group or spec.resource_group
        for widget_id, key, default in (("#issuer", "issuer", "" if target.cluster else target.issuer),
                                        ("#namespace", "namespace", target.namespace),
                                        ("#service-account", "service_account", target.service_account),
                                        ("#cred-name", "name", target.credential_name)):
            self.query_one(widget_id, Input).value = form.get(key, default)
        self.wanted_cluster = form.get("cluster", f"{group}/{target.cluster}" if target.cluster else "")
        self.query_one("#cluster", Select).focus()
        if self.clusters is not None:
            self.show_clusters(self.clusters)
        else:
            self.load(spec.subscription)
        self.check()

    def load_data(self) -> None:
        self.query_one("#cluster", Select).prompt = "Loading AKS clusters…"
        self.load(self.draft.spec.subscription)

    @work(thread=True, group="clusters", exclusive=True, exit_on_error=False,
          description="list the AKS clusters of the subscription")
    def load(self, subscription: str) -> None:
        from wizard import catalog
        self.post_message(PageLoaded("clusters", catalog.aks_clusters(self.services.session, subscription), True))

    def on_page_loaded(self, message: PageLoaded) -> None:
        self.show_clusters(message.rows)
        self.check()

    def on_work_failed(self, message: WorkFailed) -> None:
        if message.work == "clusters":
            self.clusters = []
            self.query_one("#cluster", Select).prompt = f"{message.failure.line()}; or type the issuer below"
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

    def _text(self, widget_id: str) -> str:
        return self.query_one(widget_id, Input).value.strip()

    def typed(self) -> dict[str, Any]:
        cluster = self.query_one("#cluster", Select).value
        return {"cluster": cluster if isinstance(cluster, str) else "", "issuer": self._text("#issuer"),
                "namespace": self._text("#namespace"), "service_account": self._text("#service-account"),
                "name": self._text("#cred-name")}

    def target(self) -> AksTarget:
        """The AKS target the form describes."""
        form, cluster = self.typed(), self.cluster()
        return AksTarget(cluster=cluster.name if cluster else "", issuer="" if cluster else form["issuer"],
                         resource_group=cluster.resource_group if cluster else "", namespace=form["namespace"] or "default",
                         service_account=form["service_account"], credential_name=form["name"])

    @on(Input.Changed)
    @on(Select.Changed)
    def check(self, _: Any = None) -> None:
        cluster = self.cluster()
        self.query_one(".typed-issuer").display = cluster is None
        target = self.target()
        self.query_one("#subject", Note).say(f"Subject  {target.subject}\nName     {target.name}")
        problems = [p.removeprefix("target.").removeprefix("target: ") for p in aks_problems(target)]
        if cluster is not None and cluster.problem:
            problems.insert(0, cluster.problem)
        status = self.query_one("#status", Note)
        shown = [p for p in problems if "'' is not" not in p]  # an empty field is only "to fill in"
        if shown:
            status.say("; ".join(shown), "error")
        elif problems:
            status.say("Choose the cluster and name the service account.")
        else:
            status.say(f"Ready: pods running as {target.namespace}/{target.service_account} sign in as the identity.",
                       "ok")
        self.can_advance = not problems

    def collect(self) -> Collected | None:
        target = self.target()
        patch = {"kind": "aks", "cluster": target.cluster, "issuer": target.issuer,
                 "resource_group": target.resource_group, "namespace": target.namespace,
                 "service_account": target.service_account, "credential_name": target.credential_name}
        return self.typed(), {"target": patch}
