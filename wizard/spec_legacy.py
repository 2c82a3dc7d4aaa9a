"""Specs written before AKS and GitHub were targets of their own: `[target] kind = "none"` with `[[federation]]`
blocks becomes `[target] kind = "aks"` or `"github"`, or is refused with what to do when it cannot (a setup has
one target)."""

from __future__ import annotations

from typing import Any

FEDERATION_KEYS = {"kind", "name", "issuer", "audience", "cluster", "cluster_resource_group", "namespace",
                   "service_account", "repository", "branch", "environment", "tag", "pull_request",
                   "runner_resource_group", "runner_role"}
SPLIT = ("A setup has one target: make one setup per target, on the same identity (the second with "
         "identity.existing = true).")


def migrate(data: dict[str, Any], where: str) -> dict[str, Any]:
    """`data` with its `[[federation]]` blocks moved into the target table; SpecError when they cannot be."""
    from .spec import SpecError
    if "federation" not in data:
        return data
    data = dict(data)
    feds = data.pop("federation")
    if not isinstance(feds, list) or not all(isinstance(f, dict) for f in feds):
        raise SpecError(f"{where}.federation: expected [[federation]] blocks (AKS and GitHub are now targets: "
                        "[target] kind = \"aks\" or \"github\").")
    if not feds:
        return data
    found = data.get("target")
    target: dict[str, Any] = found if isinstance(found, dict) else {}
    kinds = {str(f.get("kind", "aks")) for f in feds}
    if target.get("kind", "aci") != "none" or len(kinds) != 1 or not kinds <= {"aks", "github"}:
        raise SpecError(f"{where}.federation: AKS and GitHub are targets of their own now ([target] kind = \"aks\" "
                        f"or \"github\"); this spec has [[federation]] blocks of kind {', '.join(sorted(kinds))} "
                        f"beside a target of kind \"{target.get('kind', 'aci')}\". {SPLIT}")
    for n, fed in enumerate(feds):
        unknown = sorted(set(fed) - FEDERATION_KEYS)
        if unknown:
            raise SpecError(f"{where}.federation[{n}]: unknown key{'s' if len(unknown) > 1 else ''} "
                            f"{', '.join(unknown)}.")
    data["target"] = _aks(feds, where) if kinds == {"aks"} else _github(feds, where)
    return data


def _aks(feds: list[dict[str, Any]], where: str) -> dict[str, Any]:
    from .spec import SpecError
    if len(feds) > 1:
        raise SpecError(f"{where}.federation: {len(feds)} AKS credentials; an AKS target has one service account. "
                        f"{SPLIT}")
    fed = feds[0]
    moved = {"kind": "aks", "resource_group": fed.get("cluster_resource_group", ""),
             "credential_name": fed.get("name", "")}
    moved.update({k: fed[k] for k in ("cluster", "issuer", "audience", "namespace", "service_account") if k in fed})
    return {k: v for k, v in moved.items() if v != ""}


def _github(feds: list[dict[str, Any]], where: str) -> dict[str, Any]:
    from .spec import SpecError
    shared = ("repository", "issuer", "audience")
    for key in shared:
        if len({str(f.get(key, "")) for f in feds}) > 1:
            raise SpecError(f"{where}.federation: the GitHub credentials differ in {key}; a GitHub target has one "
                            f"repository, issuer and audience. {SPLIT}")
    runners = {(f.get("runner_resource_group", ""), f.get("runner_role", "")) for f in feds} - {("", "")}
    if len(runners) > 1:
        raise SpecError(f"{where}.federation: the GitHub credentials ask for different runner roles; a GitHub target "
                        "has one (runner_resource_group, runner_role).")
    moved: dict[str, Any] = {"kind": "github", **{k: feds[0][k] for k in shared if k in feds[0]}}
    if runners:
        moved["runner_resource_group"], moved["runner_role"] = next(iter(runners))
    moved["credentials"] = [{k: f[k] for k in ("branch", "environment", "tag", "pull_request", "name") if k in f}
                            for f in feds]
    return moved
