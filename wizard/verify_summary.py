"""The one sentence that sums up a verification: what it proved, and, when no live probe ran, what it did not.

"The workload can read the secret" is said only when a probe read it with the workload's identity (ACI's probe
container, a Batch task). Otherwise (AKS and GitHub on Azure: nothing of mi-wizard runs in the pod or the workflow;
a platform's identity; `verify.probe = false`) it names the links that were checked and says that a workload actually
reading the secret was not. The result screen and the CLI (`apply`, `verify`) both say it this way.
"""

from __future__ import annotations

from typing import Any

# What a passing link proves, in the words of the sentence (the report's links say it in detail).
_PROVEN = {"identity": "", "attached": "the identity is attached to the target",
           "nodes": "the pool's nodes carry the identity", "grant": "the identity holds read access to the secret",
           "secret": "the secret exists and is enabled"}
_PROVEN_PREFIXES = {"federation": "the federated credential's issuer, subject and audience match",
                    "cluster": "the cluster has an OIDC issuer and workload identity enabled",
                    "grant_extra": "the other grants are in place"}


def _proven(name: str) -> str:
    prefix, _, rest = name.partition(":")
    return _PROVEN_PREFIXES.get(prefix, "") if rest else _PROVEN.get(name, "")


def probe_read(report: dict[str, Any]) -> bool:
    """A live probe read the secret with the workload's identity."""
    return any(link["link"] == "probe" and link["ok"] for link in report.get("links", []))


def who_reads(report: dict[str, Any]) -> str:
    """Who would read the secret, in the setup's words: a pod, a workflow run, or the workload."""
    names = [link["link"] for link in report.get("links", [])]
    if any(n.startswith("cluster:") for n in names):
        return "a pod"
    if any(n.startswith("federation:") for n in names):
        return "a workflow run"
    return "the workload"


def passed_summary(report: dict[str, Any], *, uses_vault: bool) -> str:
    """The sentence for a passing report (every link ok)."""
    if probe_read(report):
        return "Verification passed: the workload read the secret with its identity (live probe)."
    proven: list[str] = []
    for link in report.get("links", []):
        phrase = _proven(link["link"])
        if phrase and phrase not in proven:
            proven.append(phrase)
    text = "Verification passed: every link is in place." + (f" Checked: {'; '.join(proven)}." if proven else "")
    if uses_vault:
        who = who_reads(report)
        why = "mi-wizard runs nothing in the cluster" if who == "a pod" else "no live probe ran"
        text += f" Not proven: {who} actually reading the secret ({why})."
    return text
