"""Azure Container Instances as a target: a new container group created with the identity, or an existing one
re-deployed with it; `AZURE_CLIENT_ID` set so the workload picks this identity; a live probe group."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import TargetKind, TargetSpec, register

if TYPE_CHECKING:
    from ..spec import Spec
    from ..state import State
    from ..steps.base import Step
    from ..verify import Checker, Target

CLIENT_ID_ENV = "AZURE_CLIENT_ID"


@dataclass
class AciTarget(TargetSpec):
    kind: str = "aci"
    container_group: str = ""
    existing: bool = False
    """True: add the identity to this existing group (it restarts); False: create a new group."""
    image: str = "mcr.microsoft.com/azure-cli"
    command: list[str] = field(default_factory=list)
    cpu: float = 1.0
    memory_gb: float = 1.5
    restart_policy: str = "Always"
    environment: dict[str, str] = field(default_factory=dict)
    recreate_if_terminated: bool = False


def aci_target(spec: Spec) -> AciTarget:
    """The spec's target as the ACI table it is (the ACI steps run only for kind "aci")."""
    assert isinstance(spec.target, AciTarget), f"not an ACI target: {spec.target.kind}"
    return spec.target


def attached_ids(group: Any) -> dict[str, Any]:
    identity = getattr(group, "identity", None)
    return {k.lower(): v for k, v in ((identity.user_assigned_identities or {}) if identity else {}).items()}


def client_id_env(container: Any) -> str | None:
    for var in container.environment_variables or []:
        if var.name == CLIENT_ID_ENV:
            return str(var.value) if var.value is not None else None
    return None


class AciKind(TargetKind):
    kind = "aci"
    label = "ACI"
    title = "Azure Container Instances"
    spec_type = AciTarget
    example = "prefect-aci"
    choices = (("aci_new", "A new ACI container group"), ("aci_existing", "An existing ACI container group"))
    grants_screen = False  # a checkbox on the target screen asks for it

    def choice_of(self, target: TargetSpec) -> str:
        return "aci_existing" if getattr(target, "existing", False) else "aci_new"

    def steps(self) -> tuple[type[Step], ...]:
        from .aci_probe import ProbeStep
        from .aci_steps import AciStep
        return (AciStep, ProbeStep)

    def groups(self, spec: Spec) -> list[str]:
        return [spec.target_group]

    def problems(self, spec: Spec) -> list[str]:
        from ..azure import names
        from ..spec_values import aci_problems
        target = spec.target
        assert isinstance(target, AciTarget)
        problems = []
        message = names.validate_container_group_name(target.container_group)
        if message:
            problems.append(f"target.container_group: {message}")
        if not target.existing and not target.image:
            problems.append("target.image: a new container group needs an image.")
        return problems + aci_problems(spec)

    def describe(self, target: dict[str, Any]) -> str:
        return f"{self.label} {target.get('container_group', '')}".strip()

    def fill_verify_target(self, state: State, target: Target) -> None:
        target.container_group_id = state.step("aci").outputs.get("id", "")

    def check_attached(self, checker: Checker, identity: Any) -> Any:
        """The "attached" link: the group exists, carries the identity, and its containers can pick it."""
        from ..verify import Link
        if not checker.target.container_group_id:
            return None
        group = checker.read_by_id(checker.target.container_group_id, "aci",
                                   lambda c, rg, name: c.aci.container_groups.get(rg, name))
        if group is None:
            checker.add(Link("attached", False, f"No container group at {checker.target.container_group_id}.",
                             "Create it again (resume the setup) or fix the id."))
            return None
        attached = attached_ids(group)
        if identity.id.lower() not in attached:
            checker.add(Link("attached", False, f"{group.name} does not carry the identity {identity.name}, so its "
                                                "containers cannot get tokens for it.",
                             "Add the identity to the group (the setup's target step re-deploys it)."))
            return group
        envs = {client_id_env(c) for c in group.containers}
        if len(attached) > 1 and envs != {identity.client_id}:
            checker.add(Link("attached", False, f"{group.name} carries {len(attached)} identities and its containers "
                                                f"do not set {CLIENT_ID_ENV}={identity.client_id}: they cannot pick "
                                                "this one.",
                             f"Set {CLIENT_ID_ENV}={identity.client_id} in the containers' environment."))
            return group
        checker.add(Link("attached", True, f"{group.name} carries {identity.name}" +
                         (f" and sets {CLIENT_ID_ENV}." if envs == {identity.client_id} else ".")))
        return group

    def check_probe(self, checker: Checker, identity: Any, group: Any, vault: Any, grant_ok: bool, *,
                    runnable: bool, verdict: dict[str, Any] | None) -> None:
        """The live probe link: the verdict of the probe that ran during apply, or a probe group run now."""
        from ..live_probe import verdict_link
        from .aci_probe import run_aci_probe
        if verdict is not None:
            checker.report.verdict = verdict
            checker.add(verdict_link(verdict, grant_ok, identity))
            return
        if not runnable:
            return
        got, failed = checker.probe_verdict(lambda: run_aci_probe(
            checker.clients, group, identity, vault.properties.vault_uri, checker.target.secret_name,
            image=checker.probe_image, cancel=checker.cancel), grant_ok)
        checker.add(failed or verdict_link(got or {}, grant_ok, identity))

    def next_steps(self, spec: dict[str, Any], outputs: dict[str, dict[str, Any]], identity: dict[str, Any],
                   secret_uri: str) -> str:
        from ..outputs import python_reader
        target = outputs.get("aci") or {}
        text = ("Azure Container Instances (Prefect)\n"
                f"  Container group {target.get('name', '')} carries the identity and sets AZURE_CLIENT_ID.\n"
                "  Prefect ACI work pool: set its identity field (\"identities\") to the identity's resource id:\n"
                f"      {identity.get('id', '')}\n"
                "  and add the environment variable to the pool's job template, so flow-run containers pick it:\n"
                f"      AZURE_CLIENT_ID={identity['client_id']}")
        if secret_uri:
            text += ("\n\n  Flow code reads the secret (AZURE_CLIENT_ID names the identity):\n\n"
                     "    import os\n" + python_reader(identity["client_id"], secret_uri,
                                                       'os.environ["AZURE_CLIENT_ID"]'))
        return text


register(AciKind())
