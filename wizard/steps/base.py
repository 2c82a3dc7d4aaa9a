"""What every step shares: the run context, plan items, and the Step contract."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ..progress import ProgressSink, StepMessage
from ..reads import ReadCache

if TYPE_CHECKING:
    from ..azure.clients import AzureClients
    from ..azure.principal import SignedInPrincipal
    from ..secrets import SecretSource
    from ..spec import Spec
    from ..state import State

S = TypeVar("S", bound="Step")
CREATE, UPDATE, ADOPT, NOTHING, RECOVER = "create", "update", "adopt", "nothing", "recover"
CHECK = "check"
"""A plan action that changes nothing in the setup: a live probe (its resources are transient)."""
WRITES = (CREATE, UPDATE, RECOVER)
# Deterministic role-assignment names: a retry or a resume re-uses the name instead of duplicating the grant.
ASSIGNMENT_NAMESPACE = uuid.UUID("a4d2b1f0-3c5e-4e9b-8f7a-6d1e2c3b4a59")


SETUP_TAG = "mi-wizard-setup"


def setup_tags(setup: str) -> dict[str, str]:
    return {"created-by": "mi-wizard", SETUP_TAG: setup}


def origin_of(action: str) -> str:
    """The provenance a plan action gives the step's resource: it creates it (or brings it back) or finds it."""
    return "created" if action in (CREATE, RECOVER) else "adopted"


def assignment_name(scope: str, principal_id: str, role_definition_guid: str) -> str:
    return str(uuid.uuid5(ASSIGNMENT_NAMESPACE, f"{scope.lower()}|{principal_id.lower()}|{role_definition_guid.lower()}"))


class StepError(Exception):
    """A step cannot go on: code, plain explanation and fix (shown as is; the state records it)."""

    def __init__(self, code: str, explanation: str, fix: str, message: str = ""):
        super().__init__(f"{code}: {explanation}")
        self.code, self.explanation, self.fix, self.message = code, explanation, fix, message


@dataclass
class PlanItem:
    step: str
    title: str
    action: str
    reason: str
    details: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Validation failures: any problem stops the run before the first write."""
    data: dict[str, Any] = field(default_factory=dict)
    """What apply needs from refresh (kept out of the state file)."""

    @property
    def writes(self) -> bool:
        return self.action in WRITES

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "title": self.title, "action": self.action, "reason": self.reason,
                "details": self.details, "problems": self.problems}


@dataclass
class RunContext:
    spec: Spec
    clients: AzureClients
    state: State
    operator: SignedInPrincipal
    sink: ProgressSink
    cancel: threading.Event
    save: Callable[[], None]
    """Persist the state now (thread-safe)."""
    secret_source: SecretSource | None = None
    reads: ReadCache = field(default_factory=ReadCache)
    planned: dict[str, PlanItem] = field(default_factory=dict)
    """This run's plan so far, by step id: what is about to be created is a fact of the plan, not of a cache."""
    probe: bool = True
    """Run the live probe as part of apply (False: `apply --no-verify`, or the spec turns it off)."""
    state_lock: Any = field(default_factory=threading.RLock)
    """The engine's lock over the state: hold it to change a record outside the step being applied."""

    def plan_creates(self, step_id: str) -> bool:
        """True when this run's plan creates that step's resource (so there is nothing to read yet)."""
        item = self.planned.get(step_id)
        return item is not None and item.action in (CREATE, RECOVER)

    def group_created(self, name: str) -> bool:
        """True when this run's plan creates resource group `name`."""
        item = self.planned.get("resource_group")
        return item is not None and name.lower() in (g.lower() for g in item.data.get("missing", []))

    def read(self, key: str, fetch: Callable[[], Any]) -> Any:
        """Read once per run (see wizard/reads.py): a second reader of the same thing gets the same answer."""
        return self.reads.read(key, fetch)

    def forget(self, key: str) -> None:
        self.reads.forget(key)

    def output(self, step: type[S]) -> Any:
        """The recorded outputs of `step`, as its typed Outputs dataclass."""
        kind = step.Outputs
        assert kind is not None and is_dataclass(kind), f"{step.id} has no typed outputs"
        record = self.state.step(step.id).outputs
        # A field the record lacks (written by an older mi-wizard) takes the dataclass's default.
        return kind(**{f.name: record[f.name] for f in fields(kind) if f.name in record})

    def outputs(self, step_id: str) -> dict[str, Any]:
        return self.state.step(step_id).outputs

    def claim(self, key: str, *, kind: str, id: str, origin: str, step: str, change: dict[str, Any] | None = None,
              data: dict[str, Any] | None = None) -> None:
        """Record (and save at once) what this setup does to a resource: see State.claim. A step claims what it
        creates BEFORE the write, so a run killed right after the write still knows the resource is its own."""
        with self.state_lock:
            self.state.claim(key, kind=kind, id=id, origin=origin, step=step, change=change, data=data)
            self.save()

    def found(self, resource: Any) -> str:
        """The origin of a resource found in place: "created" when its tags say this setup made it (a state from
        before provenance was recorded), else "adopted" (an earlier record's origin is kept by `claim`)."""
        tags = getattr(resource, "tags", None) or {}
        return "created" if isinstance(tags, dict) and tags.get(SETUP_TAG) == self.spec.name else "adopted"

    @property
    def tags(self) -> dict[str, str]:
        """The tags of what this setup creates: mi-wizard made it, and for which setup."""
        return setup_tags(self.spec.name)

    def say(self, step: str, text: str) -> None:
        self.sink(StepMessage(step=step, text=text))

    @property
    def subscription_id(self) -> str:
        return self.clients.subscription_id or ""


class Step:
    """A unit of the setup. Subclasses set id/title/requires and implement refresh, plan and apply."""

    id: ClassVar[str] = ""
    title: ClassVar[str] = ""
    requires: ClassVar[tuple[str, ...]] = ()
    Outputs: ClassVar[type | None] = None
    """Its outputs' dataclass, when typed: `apply` returns one, the state records it as a dict, and the steps after
    it get it back typed with `ctx.output(TheStep)`."""
    proves: ClassVar[bool] = False
    """A live probe: it plans CHECK, runs only when something changed or the last verification did not pass,
    and its outputs["verdict"] is what verification judges (`apply --no-verify` leaves it out)."""

    def leftovers(self, ctx: RunContext) -> Callable[[], None] | None:
        """Work an earlier run left to finish (e.g. a probe group whose delete was not awaited): run in the
        background of the next apply, beside the graph."""
        return None

    def applies(self, spec: Spec) -> bool:
        return True

    def requires_for(self, spec: Spec) -> tuple[str, ...]:
        """The edges this spec needs: `requires`, or fewer where a choice removes a data dependency."""
        return self.requires

    def refresh(self, ctx: RunContext) -> Any:
        """What Azure has now, as the step's own frozen dataclass of observations (read, never changed)."""
        raise NotImplementedError

    def plan(self, ctx: RunContext, observed: Any) -> PlanItem:
        """Decide from `observed` (the step's observations dataclass); nothing is written here."""
        raise NotImplementedError

    def apply(self, ctx: RunContext, item: PlanItem) -> Any:
        """Carry out the item; returns the outputs: an instance of `Outputs` when the step has typed ones, else a
        dict of plain values."""
        raise NotImplementedError

    def item(self, action: str, reason: str, **kwargs: Any) -> PlanItem:
        return PlanItem(step=self.id, title=self.title, action=action, reason=reason, **kwargs)


def not_found_is_none(call: Callable[[], Any]) -> Any:
    """Run a GET; a 404 means "does not exist" (None), anything else is raised."""
    from azure.core.exceptions import ResourceNotFoundError
    try:
        return call()
    except ResourceNotFoundError:
        return None
