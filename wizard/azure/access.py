"""What a principal may do at a scope, read from its role assignments and the role definitions.

Used at plan time (can the operator assign roles? write secrets?) and by verify (does the identity hold a
role that reads this secret?). Mirrors Azure: scope inheritance, wildcards, notActions/notDataActions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

Reads = Callable[[str, Callable[[], Any]], Any]
"""A run's read-once cache: `reads(key, fetch)` returns what `fetch()` returned the first time for `key`."""


@dataclass(frozen=True)
class Grant:
    assignment_id: str
    assignment_name: str
    role_name: str
    role_guid: str
    scope: str
    created_on: Any = None


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$", re.IGNORECASE)


def _matches(action: str, patterns: list[str] | None) -> bool:
    return any(_glob(p).match(action) for p in (patterns or []))


def covers(assignment_scope: str, target: str) -> bool:
    a, t = assignment_scope.rstrip("/").lower(), target.rstrip("/").lower()
    return a in ("", "/") or t == a or t.startswith(a + "/")


def role_allows(permissions: list[Any], action: str, data: bool) -> bool:
    for perm in permissions:
        allow = getattr(perm, "data_actions" if data else "actions", None)
        deny = getattr(perm, "not_data_actions" if data else "not_actions", None)
        if _matches(action, allow) and not _matches(action, deny):
            return True
    return False


def assignments_covering(clients: Any, principal_id: str, target_scope: str,
                         reads: Reads | None = None) -> list[Any]:
    """The principal's role assignments at or above `target_scope`."""
    def fetch() -> list[Any]:
        pager = clients.authorization.role_assignments.list_for_scope(
            target_scope, filter=f"principalId eq '{principal_id}'")
        return [ra for ra in pager if covers(ra.scope, target_scope)]
    return reads(f"assignments:{principal_id}:{target_scope.lower()}", fetch) if reads else fetch()


def role_definition(clients: Any, definition_id: str, reads: Reads | None = None) -> Any:
    def fetch() -> Any:
        return clients.authorization.role_definitions.get_by_id(definition_id)
    return reads(f"roledef:{definition_id.rsplit('/', 1)[-1].lower()}", fetch) if reads else fetch()


def grants_for(clients: Any, principal_id: str, action: str, target_scope: str, *, data: bool,
               reads: Reads | None = None) -> list[Grant]:
    """Every assignment that lets `principal_id` do `action` on `target_scope`."""
    found = []
    for ra in assignments_covering(clients, principal_id, target_scope, reads):
        definition = role_definition(clients, ra.role_definition_id, reads)
        if role_allows(definition.permissions or [], action, data):
            found.append(Grant(ra.id, ra.name, definition.role_name, definition.name, ra.scope,
                               getattr(ra, "created_on", None)))
    return found
