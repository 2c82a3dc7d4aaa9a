"""Long-running operations: a record per operation whose status follows the clock.

An operation started with a duration reports InProgress until that much time has passed (or, for a test,
while `realism.hold("lro:<kind>")` is held), then its final state (computed by an optional finisher, e.g. to
mark a vault Succeeded). Status URLs answer `Retry-After: 1` (never 0: the SDK would then sleep its default 30 s).

Azure answers some creates as operations however fast they are (ACI's 201 Pending, Batch's 202 + Location): those
start with `at_first_look=True`, so that even with no duration the operation is still InProgress when the first
answer goes out and completes at the first look after it (a status poll or a GET of the resource). The SDK's first
status poll follows the initial answer without a sleep, so this costs a client one round trip, not a second.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import Sandbox

OPERATION = "operation"
_finishers: dict[str, Callable[[Sandbox, dict[str, Any]], dict[str, Any] | None]] = {}


def retry_after(sb: Sandbox) -> dict[str, str]:
    """The polling hint of an operation in progress: Azure's `Retry-After: 1`. When the latency profile runs time
    faster (scale < 1) it is that second at that scale, as `retry-after-ms` (a header Azure services send too),
    so a scaled benchmark polls as a client would at full scale instead of waiting a whole real second."""
    realism = sb.realism
    if realism.latency_profile and 0 < realism.latency_scale < 1:
        return {"retry-after-ms": str(max(50, round(1000 * realism.latency_scale)))}
    return {"Retry-After": "1"}


def finisher(kind: str) -> Callable:
    """Register what happens when an operation of `kind` completes; may return an error dict."""
    def register(fn: Callable) -> Callable:
        _finishers[kind] = fn
        return fn
    return register


def start(sb: Sandbox, kind: str, resource_id: str, duration_s: float, *, at_first_look: bool = False,
          **extra: Any) -> dict[str, Any]:
    """Record an operation. With no duration it completes at once, unless `at_first_look` (see the module doc)."""
    op = {"id": uuid.uuid4().hex, "kind": kind, "resourceId": resource_id, "started": time.time(),
          "duration": max(0.0, duration_s), "status": "InProgress", "error": None, **extra}
    sb.store.put(OPERATION, op["id"], op)
    if op["duration"] == 0 and not at_first_look:
        return poll(sb, op["id"]) or op
    return op


def poll(sb: Sandbox, op_id: str) -> dict[str, Any] | None:
    """Advance the operation by the clock and return it (None if unknown)."""
    with sb.store.transaction():
        op = sb.store.get(OPERATION, op_id)
        if op is None or op["status"] != "InProgress":
            return op
        if sb.realism.pending("lro:" + op["kind"], op["started"], op["duration"], key=op["resourceId"]):
            return op
        fn = _finishers.get(op["kind"])
        error = fn(sb, op) if fn else None
        op["status"] = "Failed" if error else "Succeeded"
        op["error"] = error
        op["ended"] = time.time()
        sb.store.put(OPERATION, op_id, op)
        return op


def done(op: dict[str, Any]) -> bool:
    return op["status"] != "InProgress"


def settle(sb: Sandbox, kind: str, resource_id: str) -> None:
    """Finish any due operation of `kind` on `resource_id` (so a GET of the resource sees the new state)."""
    for op in sb.store.list(OPERATION):
        if op["kind"] == kind and op["resourceId"].lower() == resource_id.lower() and op["status"] == "InProgress":
            poll(sb, op["id"])
