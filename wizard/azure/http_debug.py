"""`--debug`: one stderr line per HTTP call, "METHOD URL -> STATUS (N ms)". Never a body or a header: bodies can
hold the secret's value (a secret write) and headers the bearer token. URLs hold names and ids only."""

from __future__ import annotations

import sys
import time
from typing import Any

from azure.core.pipeline.policies import SansIOHTTPPolicy

from ..progress import STDERR_LOCK  # azure-core is loaded with any client that uses this

_enabled: list[bool] = []


def _line(text: str) -> None:
    """One whole line on stderr: the SDK calls come from the steps' threads, and two must never interleave."""
    with STDERR_LOCK:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def enable() -> None:
    _enabled.append(True)


def enabled() -> bool:
    return bool(_enabled)


class DebugLogPolicy(SansIOHTTPPolicy):  # type: ignore[type-arg]
    def on_request(self, request: Any) -> None:
        request.context["mi_wizard_started"] = time.monotonic()

    def on_response(self, request: Any, response: Any) -> None:
        started = request.context.get("mi_wizard_started") or time.monotonic()
        http = request.http_request
        _line(f"debug: {http.method} {http.url} -> {response.http_response.status_code} "
              f"({(time.monotonic() - started) * 1000:.0f} ms)")

    def on_exception(self, request: Any) -> None:
        http = request.http_request
        error = sys.exc_info()[1]
        _line(f"debug: {http.method} {http.url} -> {type(error).__name__}")


def per_call_policies() -> dict[str, Any]:
    """Keyword arguments for a client: the debug policy when --debug is on, else nothing."""
    return {"per_call_policies": [DebugLogPolicy()]} if enabled() else {}
