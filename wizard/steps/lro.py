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
    stopped = f"stopped while waiting for {operation}; resume picks it up"
    for attempt in range(POLL_RETRIES + 1):
        try:
            result = wait_poller(poller, ctx.cancel, stopped)
            break
        except Exception as err:
            # A status poll refused for a moment (429/5xx, a dropped connection) after the SDK's own retries: the
            # operation itself goes on in Azure. Poll it again from the saved token rather than fail the step.
            if attempt == POLL_RETRIES or not transient(err):
                raise
            ctx.say(step_id, f"Checking on the {operation} again (Azure answered {_code(err)})")
            if ctx.cancel.wait(min(2.0 ** attempt, 8.0)):
                raise Cancelled(stopped) from None
            poller = begin(continuation_token=record.lro["token"])
    record.lro = None
    return result


POLL_RETRIES = 4


def transient(err: BaseException) -> bool:
    """Azure's "not now" (throttled, unavailable, a dropped connection), as opposed to a refusal."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
    if isinstance(err, (ServiceRequestError, ServiceResponseError)):
        return True
    status = getattr(getattr(err, "response", None), "status_code", None) or getattr(err, "status_code", None)
    return isinstance(err, HttpResponseError) and status in (408, 429, 500, 502, 503, 504)


def _code(err: BaseException) -> str:
    status = getattr(getattr(err, "response", None), "status_code", None) or getattr(err, "status_code", None)
    return str(status or type(err).__name__)


def wait_poller(poller: Any, cancel: Any, stopped: str) -> Any:
    """The poller's result, looking at `cancel` at least twice a second (a Ctrl-C or SIGTERM stops the wait)."""
    while not poller.done():
        if cancel.is_set():
            raise Cancelled(stopped)
        poller.wait(0.5)
    return poller.result()
