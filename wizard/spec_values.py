"""Checks of the spec's values that need no Azure: the setup name and resource groups (they become file names and
ARM paths), the container group's resources, restart policy, image and environment variable names, and the wait
limit. Each problem says what is wrong and how to fix it. The location's membership of the subscription is
checked against Azure in wizard/azure/locations.py."""

from __future__ import annotations

import math
import os
import re
from typing import TYPE_CHECKING

from .azure import names

if TYPE_CHECKING:
    from .spec import Spec

RESTART_POLICIES = ("Always", "OnFailure", "Never")
"""ContainerGroupRestartPolicy in the ACI REST spec (2023-05-01)."""

# ACI resources per container group (standard SKU, Linux): learn.microsoft.com/azure/container-instances/
# container-instances-resource-and-quota-limits ("Standard Container Resources", MicrosoftDocs/azure-compute-docs,
# ms.date 11/17/2025) gives 31 CPUs and 240 GB as hard limits, and warns that groups over 4 vCPUs / 16 GB may fail
# for regional capacity until a quota increase (the 2023 page gave 4 / 16 as the maximum). So 31 / 240 are refused
# here; over 4 / 16 is Azure's call for the subscription and region.
ACI_MAX_CPU = 31
ACI_MAX_MEMORY_GB = 240
# Both are "accurate to one decimal place" (az container create --cpu / --memory; azure-cli
# src/azure-cli/azure/cli/command_modules/container/_params.py).
ACI_STEP = 0.1

# Environment variable names: AZURE_FACTS.md and the ACI REST spec give no rule (EnvironmentVariable.name is a plain
# string), so this is POSIX's "Name" (IEEE Std 1003.1, Base Definitions 3.235: letters, digits and underscores, not
# starting with a digit), the names a shell can export and a workload's entrypoint script can read.
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# A Docker image reference, per the distribution/reference grammar: [REGISTRY[:PORT]/]PATH[:TAG][@DIGEST], where
# PATH components are lower-case letters and digits joined by '.', '_', '__' or '-'. As in Docker, the first
# component is a registry only when it has a '.' or a ':PORT' or is localhost (so "PrefectHQ/prefect" is a
# capitalised Docker Hub repository, not a registry named PrefectHQ).
_HOST_PART = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_REGISTRY = (rf"(?:(?:{_HOST_PART}(?:\.{_HOST_PART})+|localhost|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
             rf"|{_HOST_PART}:[0-9]+)")
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}")
_NAME = re.compile(rf"(?:{_REGISTRY}/)?{_COMPONENT}(?:/{_COMPONENT})*")
_IMAGE_FORM = ("The form is [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST], e.g. \"mcr.microsoft.com/azure-cli:2.67.0\" "
               "or \"prefecthq/prefect:3-latest\".")


def value_problems(spec: Spec) -> list[str]:
    """Every value problem of the spec, each as "label: what is wrong; how to fix it" (the setup name is
    checked by spec.py with setup_name_problem, first)."""
    problems = group_problems(spec)
    problems += verify_problems(spec)  # the target's own values: its kind's problems() (wizard/targets/)
    return problems


# -- names that become paths ----------------------------------------------------------------------------------

def setup_name_problem(name: str) -> str | None:
    """The setup name names the state file (<state dir>/<name>.json), so it must stay a plain file name."""
    from .state import validate_setup_name
    if not name:
        return "give the setup a name (it names the state file), e.g. name = \"prefect-aci\"."
    problem = validate_setup_name(name)
    if problem is None:
        return None
    if any(sep in name for sep in ("/", "\\", os.sep, os.altsep or "/")):
        return (f"{_quote(name)} would put the state file outside the state directory (it has a path separator). "
                "Use a plain name: letters, digits, '.', '_' and '-', starting with a letter or digit, e.g. "
                "name = \"prefect-aci\".")
    return problem


def group_problems(spec: Spec) -> list[str]:
    """The resource groups of the parts (the setup's own group is checked in spec.py): they go into ARM paths."""
    problems: list[str] = []
    for label, group in (("identity.resource_group", spec.identity.resource_group),
                         ("vault.resource_group", spec.vault.resource_group),
                         ("target.resource_group", spec.target.resource_group)):
        if group:  # empty: the setup's resource group
            message = names.validate_resource_group_name(group)
            if message:
                problems.append(f"{label}: {message}")
    return problems


# -- the container group --------------------------------------------------------------------------------------

def aci_problems(spec: Spec) -> list[str]:
    """The ACI target's values (its kind's problems() calls this for a spec whose target is ACI)."""
    from .targets.aci import AciTarget
    target, problems = spec.target, []
    assert isinstance(target, AciTarget)
    for label, value, limit, what, unit, example in (
            ("target.cpu", target.cpu, ACI_MAX_CPU, "CPU count", "CPUs", "1 or 0.5"),
            ("target.memory_gb", target.memory_gb, ACI_MAX_MEMORY_GB, "memory size", "GB", "1.5 or 4")):
        message = resource_problem(value, limit, what, unit, example)
        if message:
            problems.append(f"{label}: {message}")
    if target.restart_policy not in RESTART_POLICIES:
        fixed = next((p for p in RESTART_POLICIES if p.lower() == target.restart_policy.lower()), None)
        hint = f"use \"{fixed}\" (the case matters)" if fixed else "use Always (a service), OnFailure or Never (a job)"
        problems.append(f"target.restart_policy: {_quote(target.restart_policy)} is not one of "
                        f"{', '.join(RESTART_POLICIES)}; {hint}.")
    if target.image:  # an empty image is reported in spec.py (only a new group needs one)
        message = image_reference_problem(target.image)
        if message:
            problems.append(f"target.image: {message}")
    for name in target.environment:
        message = env_name_problem(name)
        if message:
            problems.append(f"target.environment: {message}")
    return problems


def resource_problem(value: float, limit: float, what: str, unit: str, example: str) -> str | None:
    """A container group's CPU or memory request: above 0, at most `limit`, in steps of 0.1."""
    rule = f"use a number of {unit} above 0 and at most {limit:g}, in steps of 0.1 (e.g. {example})"
    if not math.isfinite(value) or value <= 0:
        return f"{value:g} is not a {what} ACI accepts; {rule}."
    if value > limit:
        return f"{value:g} is over ACI's limit of {limit:g} {unit} per container group; {rule}."
    tenths = value / ACI_STEP
    if abs(tenths - round(tenths)) > 1e-6:
        nearest = max(round(value, 1), ACI_STEP)
        return f"{value:g} has more than one decimal place, and ACI takes steps of 0.1; use e.g. {nearest:g}."
    return None


def env_name_problem(name: str) -> str | None:
    if _ENV_NAME.fullmatch(name):
        return None
    fixed = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not fixed or fixed[0].isdigit():
        fixed = "_" + fixed
    return (f"{_quote(name)} is not a valid environment variable name; use letters, digits and underscores, not "
            f"starting with a digit (e.g. {_quote(fixed)}).")


def image_reference_problem(image: str) -> str | None:
    """What is wrong with a Docker image reference, or None. Never guesses a registry: only the form is checked."""
    if any(c.isspace() for c in image):
        return f"{_quote(image)} has a space or other whitespace; remove it (image references have none). {_IMAGE_FORM}"
    rest, at, digest = image.partition("@")
    if at and not _DIGEST.fullmatch(digest):
        return (f"{_quote(image)} has a digest that is not sha256: followed by 64 lower-case hex digits; copy the "
                f"digest from the registry, or drop it and use a tag. {_IMAGE_FORM}")
    name, tag = rest, ""
    head, slash, last = rest.rpartition("/")
    if ":" in last:  # a colon after the last slash starts the tag (one before it is a registry port)
        last, _, tag = last.partition(":")
        name = f"{head}{slash}{last}"
        if not _TAG.fullmatch(tag):
            return (f"{_quote(image)} has the tag {_quote(tag)}; tags are up to 128 letters, digits, '_', '.' and "
                    f"'-', not starting with '.' or '-'. {_IMAGE_FORM}")
    if len(name) > 255:
        return f"{_quote(image)} has a repository name over 255 characters; use a shorter one. {_IMAGE_FORM}"
    if _NAME.fullmatch(name):
        return None
    lowered = _lower_path(name)
    if lowered != name and _NAME.fullmatch(lowered):
        fixed = lowered + (f":{tag}" if tag else "") + (f"@{digest}" if at else "")
        return f"{_quote(image)}: repository names are lower-case; use {_quote(fixed)}."
    return (f"{_quote(image)} is not a valid image reference (repository path components are lower-case letters "
            f"and digits joined by '.', '_' or '-'). {_IMAGE_FORM}")


def _lower_path(name: str) -> str:
    """The repository path in lower case, the registry host (which may have capitals) kept as it is."""
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return f"{first}/{rest.lower()}"
    return name.lower()


# -- verification ---------------------------------------------------------------------------------------------

def verify_problems(spec: Spec) -> list[str]:
    problems: list[str] = []
    limit = spec.verify.wait_limit_s
    if not math.isfinite(limit) or limit <= 0:
        problems.append(f"verify.wait_limit_s: {limit:g} is not a positive number of seconds; use e.g. 900 (a new "
                        "grant takes up to 10 minutes to reach Key Vault).")
    if spec.verify.probe_image:
        message = image_reference_problem(spec.verify.probe_image)
        if message:
            problems.append(f"verify.probe_image: {message}")
    return problems


def _quote(text: str) -> str:
    """A value quoted for a one-line message, shortened when long."""
    shown = text if len(text) <= 60 else text[:59] + "…"
    return repr(shown)
