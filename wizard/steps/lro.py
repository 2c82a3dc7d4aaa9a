"""Long-running operations that survive a crash: the continuation token is saved before waiting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..progress import Cancelled, OperationStarted
from .base import RunContext


def run_lro(ctx: RunContext, step_id: str, operation: str, begin: Callable[..., Any]) -> Any:
    """Start (or resume from the state's token) an LRO, record its token, and wait for its result.

    `begin(**kwargs)` calls the SDK's begin_* method; on resume it gets `continuation_token=`.
    """
    record = ctx.state.step(step_id)
    token = (record.lro or {}).get("token") if (record.lro or {}).get("operation") == operation else None
    poller = None
    if token:
        try:
            poller = begin(continuation_token=token)
            ctx.say(step_id, f"Resuming the {operation} that was in flight")
        except Exception:  # noqa: BLE001 - a stale token: start again (the PUT is idempotent)
            poller = None
    if poller is None:
        poller = begin()
    record.lro = {"operation": operation, "token": poller.continuation_token()}
    ctx.save()
    ctx.sink(OperationStarted(step=step_id, operation=operation))
    result = wait_poller(poller, ctx.cancel, f"stopped while waiting for {operation}; resume picks it up")
    record.lro = None
    return result


def wait_poller(poller: Any, cancel: Any, stopped: str) -> Any:
    """The poller's result, looking at `cancel` at least twice a second (a Ctrl-C or SIGTERM stops the wait)."""
    while not poller.done():
        if cancel.is_set():
            raise Cancelled(stopped)
        poller.wait(0.5)
    return poller.result()
