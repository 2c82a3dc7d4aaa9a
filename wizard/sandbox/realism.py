"""Realism switches: latency, long-running-operation durations, faults and Azure's propagation delays.

Set at start (`mi-wizard sandbox serve --latency ... --faults ...`) and changeable at any time from
tests through `Sandbox.realism`. Every request passes `before_request`, which may sleep (latency) or
return a fault to answer instead of the real handler.

Windows (a grant propagating, an identity replicating, an LRO running) close by the clock, and tests can
also hold one open with `Realism.hold(name)`: what it covers answers "not yet" for as long as it is held,
however long that is, and takes effect on the first request after `release()`. A test waits for
`hold.wait_reached()` (the sandbox has answered "not yet" because of the hold) instead of racing a clock.
Every window is judged by one function, `Realism.pending`, so a hold and the seconds always agree.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FAULT_KINDS = ("429", "500", "503", "drop", "403")
"""Transient failures, and 403: a call the caller may not make (a support rehearsal of a missing role)."""

HOLD_WINDOWS = ("rbac_propagation", "principal_not_found", "federation_propagation")
"""Propagation windows a test can hold open (see `Realism.hold`); each is keyed by a principal or identity."""
LRO_NAMES = ("keyvault_create", "keyvault_purge", "keyvault_secret_recover", "keyvault_secret_purge", "aci_create",
             "aci_delete", "aks_create", "storage_create", "registry_create", "batch_account_create",
             "batch_account_delete", "batch_pool_delete", "batch_resize_up", "batch_resize_down")
"""The long-running operations the sandbox runs; `lro:<name>` holds one (keyed by the resource's ARM id)."""


@dataclass
class FaultRule:
    """Answer `kind` at `operation` ("*" for any): the next `count` times, or at a seeded `rate`."""

    operation: str
    kind: str
    count: int | None = None
    rate: float | None = None
    retry_after: int = 1

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}: use one of {', '.join(FAULT_KINDS)}")


FAULT_GRAMMAR = "OP:KIND[*COUNT|@RATE][,...][,seed=N]"


def parse_faults(spec: str, known_operations: Collection[str] | None = None) -> tuple[list[FaultRule], int | None]:
    """Parse `OP:KIND[*COUNT|@RATE][,...][,seed=N]`, e.g. `keyvault_create:429*2,*:503@0.05,seed=7`.

    OP is an operation name (or * for any); without *COUNT or @RATE a fault fires once. Raises ValueError naming
    the bad part; with `known_operations`, an operation name that would never match (a typo) is an error too.
    """
    rules, seed = [], None
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if part.startswith("seed="):
            seed = _whole_number(part[5:], f"the seed in {part!r}", minimum=0)
            continue
        op, sep, rest = (p.strip() for p in part.partition(":"))
        if not sep or not op or not rest:
            raise ValueError(f"fault {part!r} is not {FAULT_GRAMMAR} (e.g. keyvault_create:429*2 or *:503@0.05)")
        if known_operations is not None and op != "*" and op not in known_operations:
            raise ValueError(f"unknown operation {op!r} in fault {part!r}: use * or one of "
                             f"{', '.join(sorted(known_operations))}")
        kind, count, rate = rest, None, None
        if "*" in rest:
            kind, n = rest.split("*", 1)
            count = _whole_number(n, f"COUNT in {part!r}", minimum=1)
        elif "@" in rest:
            kind, r = rest.split("@", 1)
            try:
                rate = float(r)
            except ValueError:
                rate = -1.0
            if not 0.0 < rate <= 1.0:
                raise ValueError(f"RATE in {part!r} must be a number above 0 and at most 1 (e.g. 0.05)")
        else:
            count = 1
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r} in {part!r}: use one of {', '.join(FAULT_KINDS)}")
        rules.append(FaultRule(op, kind, count=count, rate=rate))
    return rules, seed


def _whole_number(text: str, what: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ValueError(f"{what} must be a whole number of at least {minimum}")
    return value


def latency_profiles() -> list[str]:
    """The bundled latency profiles (data/<name>.toml)."""
    return sorted(p.name[:-5] for p in resources.files("wizard.sandbox").joinpath("data").iterdir()
                  if p.name.endswith(".toml"))


def load_latency_profile(name: str) -> dict[str, tuple[float, float]]:
    """Load a bundled profile ("azure-typical") as {operation: (median_s, p90_s)}."""
    if name not in latency_profiles():
        raise ValueError(f"unknown latency profile {name!r}: use one of {', '.join(latency_profiles())}")
    text = resources.files("wizard.sandbox").joinpath("data", f"{name}.toml").read_text()
    table = tomllib.loads(text)[name]
    return {op: (float(v["median_s"]), float(v["p90_s"])) for op, v in table.items()}


# The waits that are not one HTTP call, mapped to their keys in the latency profile.
PROFILE_DURATIONS = {
    "lro:keyvault_create": "keyvault_create_until_succeeded",
    "lro:aci_create": "aci_create_until_running",
    "lro:aci_delete": "aci_delete",
    "lro:batch_resize_down": "batch_pool_resize_to_zero",
    "lro:batch_resize_up": "batch_pool_resize_up_until_idle",
    "principal_not_found": "principal_not_found_window",
    "rbac_propagation": "keyvault_rbac_propagation",
    "federation_propagation": "federated_credential_propagation",
}


class Hold:
    """A window held open by a test: what it covers is "not yet" until `release()`.

    It covers the things of its `name` (those with `key` only, when given) that had not taken effect by `since`:
    a grant, identity or operation started while the hold is on, or still inside its time window when it began.
    What took effect before `since` is not touched (pass `since=0` to cover everything, e.g. an identity
    created earlier). Use it as a context manager, or call `release()`; both are idempotent.
    """

    def __init__(self, realism: Realism, name: str, key: str | None, since: float):
        self.name, self.key, self.since = name, (key.lower() if key else None), since
        self.reached = threading.Event()
        """Set the first time the sandbox answers "not yet" because of this hold."""
        self.released = threading.Event()
        self.times = 0
        """How many answers this hold has turned into "not yet" so far."""
        self._realism = realism
        self._changed = threading.Condition()

    def covers(self, name: str, key: str | None, started: float, window_s: float) -> bool:
        return (not self.released.is_set() and name == self.name
                and (self.key is None or (key or "").lower() == self.key)
                and started + max(0.0, window_s) >= self.since)

    def note(self) -> None:
        with self._changed:
            self.times += 1
            self.reached.set()
            self._changed.notify_all()

    def wait_reached(self, timeout: float = 30.0, times: int = 1) -> bool:
        """Wait until the sandbox has answered "not yet" `times` times because of this hold; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self.times >= times, timeout)

    def release(self) -> None:
        """Let what this hold covers take effect: the next request that looks at it sees it done."""
        self.released.set()
        self._realism._drop_hold(self)

    def __enter__(self) -> Hold:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "released" if self.released.is_set() else "held"
        return f"Hold({self.name!r}, key={self.key!r}, {state}, times={self.times})"


@dataclass
class Realism:
    """Everything that makes the sandbox behave like Azure rather than like a fast fake."""

    latency_profile: dict[str, tuple[float, float]] = field(default_factory=dict)
    latency_scale: float = 1.0
    latency_sampled: bool = False
    """False: every call takes its median (repeatable benchmarks); True: lognormal draws."""
    lro_seconds: dict[str, float] = field(default_factory=dict)
    """Duration of each long-running operation by name (keyvault_create, aci_create, ...); 0 = at once."""
    faults: list[FaultRule] = field(default_factory=list)
    principal_not_found_s: float = 0.0
    """How long after creation an identity is unknown to role assignments without principalType."""
    principal_type_skips_window: bool = True
    """Azure's documented fix: with principalType set, the window does not apply. False models the rarer case
    (seen in the wild) where a brand-new identity is refused even so, for tools that must still wait it out."""
    rbac_propagation_s: float = 0.0
    """How long after a role assignment or access policy change the vault data plane ignores it."""
    federation_propagation_s: float = 0.0
    """How long after a federated identity credential is written Entra ID does not honour it (AADSTS70021)."""
    token_lifetime_s: float = 3600.0
    seed: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _holds: list[Hold] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)

    @classmethod
    def from_options(cls, latency: str | None = None, faults: str | None = None,
                     known_operations: Collection[str] | None = None) -> Realism:
        """The realism `--latency` and `--faults` ask for; ValueError with a clear message for a bad spec."""
        realism = cls()
        if latency:
            realism.use_latency_profile(latency)
        if faults:
            realism.faults, seed = parse_faults(faults, known_operations)
            if seed is not None:
                realism.reseed(seed)
        return realism

    def reseed(self, seed: int) -> None:
        with self._lock:
            self.seed = seed
            self._rng.seed(seed)

    def use_latency_profile(self, spec: str) -> None:
        """`NAME[:SCALE][:sampled]`: per-call latency, LRO durations and propagation windows from the profile."""
        name, *opts = spec.split(":")
        profile = load_latency_profile(name)
        for opt in opts:
            if opt == "sampled":
                self.latency_sampled = True
            elif opt:
                try:
                    scale = float(opt)
                except ValueError:
                    scale = -1.0
                if not 0.0 <= scale < math.inf:
                    raise ValueError(f"latency scale {opt!r} in {spec!r} must be a number >= 0 "
                                     "(e.g. azure-typical:0.05), or 'sampled'")
                self.latency_scale = scale
        self.latency_profile = profile
        for key, profile_key in PROFILE_DURATIONS.items():
            seconds = self._draw(profile_key)
            if key.startswith("lro:"):
                self.lro_seconds.setdefault(key[4:], seconds)
            elif key == "principal_not_found":
                self.principal_not_found_s = seconds
            elif key == "rbac_propagation":
                self.rbac_propagation_s = seconds
            elif key == "federation_propagation":
                self.federation_propagation_s = seconds

    def _draw(self, profile_key: str) -> float:
        if profile_key not in self.latency_profile:
            return 0.0
        median, p90 = self.latency_profile[profile_key]
        if not self.latency_sampled or p90 <= median:
            return median * self.latency_scale
        sigma = math.log(p90 / median) / 1.2816
        with self._lock:
            value = self._rng.lognormvariate(math.log(median), sigma)
        return value * self.latency_scale

    def latency_for(self, operation: str, method: str) -> float:
        if not self.latency_profile:
            return 0.0
        key = operation if operation in self.latency_profile else ("arm_get" if method in ("GET", "HEAD") else None)
        return self._draw(key) if key else 0.0

    def lro_duration(self, name: str) -> float:
        return float(self.lro_seconds.get(name, 0.0))

    # ---- windows and holds -----------------------------------------------------------------------------
    def hold(self, name: str, *, key: str | None = None, since: float | None = None) -> Hold:
        """Hold the window `name` open until the returned Hold is released.

        `name` is one of HOLD_WINDOWS or `lro:<operation>` (LRO_NAMES). `key` narrows it to one principal object
        id (rbac_propagation, principal_not_found), one managed identity's ARM id (federation_propagation) or one
        resource's ARM id (lro:...). `since` defaults to now (see Hold).
        """
        if name not in HOLD_WINDOWS and not (name.startswith("lro:") and name[4:] in LRO_NAMES):
            raise ValueError(f"cannot hold {name!r}: use one of {', '.join(HOLD_WINDOWS)} or lro:<operation> with "
                             f"an operation among {', '.join(LRO_NAMES)}")
        hold = Hold(self, name, key, time.time() if since is None else since)
        with self._lock:
            self._holds.append(hold)
        return hold

    def _drop_hold(self, hold: Hold) -> None:
        with self._lock:
            if hold in self._holds:
                self._holds.remove(hold)

    def held(self, name: str, key: str | None = None) -> bool:
        """True while a hold on `name` would cover something starting now (an LRO must then run as an LRO even
        when its duration is 0, so that it has something to report InProgress)."""
        now = time.time()
        with self._lock:
            return any(h.covers(name, key, now, 0.0) for h in self._holds)

    def pending(self, name: str, started: float, window_s: float, *, key: str | None = None,
                now: float | None = None, observe: bool = True) -> bool:
        """Whether the thing `name` that began at `started` has not taken effect yet: the one place every window
        (rbac_propagation, principal_not_found, federation_propagation, lro:<operation>) is judged.

        It is pending while `now` is inside its `window_s` seconds, or while a hold covers it. With `observe`
        (the default) the caller is about to answer "not yet" when this is True, and the covering holds count it
        as reached; a caller that only looks (bookkeeping, or one candidate of several) passes False.
        """
        now = time.time() if now is None else now
        with self._lock:
            covering = [h for h in self._holds if h.covers(name, key, started, window_s)]
        if covering and observe:
            for hold in covering:
                hold.note()
        return bool(covering) or now < started + window_s

    def take_fault(self, operation: str) -> FaultRule | None:
        """The fault to answer for this call, if any (consumes one from a counted rule)."""
        with self._lock:
            for rule in self.faults:
                if rule.operation not in ("*", operation):
                    continue
                if rule.count is not None:
                    if rule.count <= 0:
                        continue
                    rule.count -= 1
                    return rule
                if rule.rate is not None and self._rng.random() < rule.rate:
                    return rule
        return None

    def add_fault(self, operation: str, kind: str, count: int = 1, retry_after: int = 1) -> None:
        with self._lock:
            self.faults.append(FaultRule(operation, kind, count=count, retry_after=retry_after))

    def describe(self) -> dict[str, Any]:
        return {"latency_operations": len(self.latency_profile), "latency_scale": self.latency_scale,
                "lro_seconds": dict(self.lro_seconds), "faults": len(self.faults),
                "principal_not_found_s": self.principal_not_found_s, "rbac_propagation_s": self.rbac_propagation_s}


def sleep_until(deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
