"""Microsoft.Resources providers: GET /subscriptions/{s}/providers[/{namespace}] and POST .../{namespace}/register.

Clients ask a provider which api-versions a type serves (az's generic `resource` commands, mi-wizard's generic
read of a scope whose type it has no version for) and whether the subscription is registered for it. The
namespaces and resource types are what the sandbox's route table serves, so a provider added to the sandbox is
listed with no second registry to keep. Every namespace is Registered (the sandbox needs no registration; a
register call answers the provider, Registered, as ARM does once done). A namespace the sandbox does not serve is
ARM's 404 InvalidResourceNamespace: a client learns at once that it is not there.
"""

from __future__ import annotations

from typing import Any

from ..arm import LOCATIONS, page
from ..router import ARM, ArmError, Request, Response, router

API_VERSIONS: dict[str, tuple[str, ...]] = {
    # Newest first. The sandbox answers any api-version; these are the ones its shapes follow: the installed SDKs'
    # defaults, the official examples it replays (tests/e2e/sandbox/azure_examples), wizard/azure/scopes.API_VERSIONS
    # and the older versions az and the generic vault list (2015-11-01) still send.
    "microsoft.keyvault": ("2026-05-15", "2024-11-01", "2023-07-01", "2022-07-01", "2019-09-01", "2015-11-01"),
    "microsoft.managedidentity": ("2024-11-30", "2023-01-31", "2022-01-31-preview", "2018-11-30"),
    "microsoft.containerinstance": ("2025-09-01", "2024-10-01-preview", "2023-05-01"),
    "microsoft.batch": ("2025-06-01", "2024-07-01", "2024-02-01"),
    "microsoft.authorization": ("2022-04-01", "2020-10-01", "2018-01-01-preview", "2015-07-01"),
    "microsoft.storage": ("2024-01-01", "2023-05-01", "2023-01-01"),
    "microsoft.containerregistry": ("2023-07-01", "2023-01-01-preview"),
    "microsoft.containerservice": ("2024-09-01", "2024-05-01"),
    "microsoft.resources": ("2025-04-01", "2022-12-01", "2022-09-01", "2021-04-01"),
}
_DEFAULT_VERSIONS = ("2023-01-01",)
GLOBAL = {"checknameavailability", "deletedvaults", "operations"}
"""Types without a region (Azure lists no locations for them), besides all of Authorization and Resources."""
_REGISTRATION_FREE = {"microsoft.authorization", "microsoft.resources"}
_RESOURCES_TYPES = ("resourceGroups", "subscriptions", "subscriptions/resourceGroups", "subscriptions/resources",
                    "subscriptions/providers", "subscriptions/locations", "resources", "providers")
"""Microsoft.Resources is served by templates without a /providers/ segment: its types are listed as Azure does."""


def _types_of(template: str, method: str) -> list[tuple[str, str]]:
    """(namespace, type) pairs a route template serves: the literal type segments after its last /providers/,
    each one addressable by name (followed by a name segment) or a namespace-level collection or action."""
    segs = template.strip("/").split("/")
    lowered = [s.lower() for s in segs]
    if "providers" not in lowered:
        return []
    at = len(lowered) - 1 - lowered[::-1].index("providers")
    if at + 1 >= len(segs) or segs[at + 1].startswith("{"):
        return []
    namespace, rest = segs[at + 1], segs[at + 2:]
    out, types = [], []
    for j in range(0, len(rest), 2):
        if rest[j].startswith("{"):
            break
        types.append(rest[j])
        named = j + 1 < len(rest)
        if named or j == 0:
            out.append((namespace, "/".join(types)))
        if not named and method == "POST":
            break
    return out


def served() -> dict[str, tuple[str, list[str]]]:
    """namespace (lower-case) -> (its canonical spelling, its resource types) from the route table."""
    found: dict[str, tuple[str, list[str]]] = {"microsoft.resources": ("Microsoft.Resources", list(_RESOURCES_TYPES))}
    for route in router.routes:
        if route.plane != ARM:
            continue
        for namespace, rtype in _types_of(route.template, route.method):
            _, types = found.setdefault(namespace.lower(), (namespace, []))
            if rtype.lower() not in {t.lower() for t in types}:
                types.append(rtype)
    return found


def provider_body(sub: str, namespace: str) -> dict[str, Any]:
    entry = served().get(namespace.lower())
    if entry is None:
        raise ArmError(404, "InvalidResourceNamespace", f"The resource namespace '{namespace}' is invalid.")
    spelled, types = entry
    versions = list(API_VERSIONS.get(spelled.lower(), _DEFAULT_VERSIONS))
    regionless = spelled.lower() in _REGISTRATION_FREE
    resource_types = []
    for rtype in sorted(types, key=str.lower):
        leaf = rtype.rsplit("/", 1)[-1].lower()
        locations = [] if regionless or leaf in GLOBAL else list(LOCATIONS.values())
        resource_types.append({"resourceType": rtype, "locations": locations, "apiVersions": versions,
                               "defaultApiVersion": next((v for v in versions if "preview" not in v), versions[0]),
                               "capabilities": "None" if regionless or not locations else
                               "SupportsTags, SupportsLocation"})
    return {"id": f"/subscriptions/{sub}/providers/{spelled}", "namespace": spelled, "registrationState": "Registered",
            "registrationPolicy": "RegistrationFree" if regionless else "RegistrationRequired",
            "resourceTypes": resource_types}


@router.route("GET", "/subscriptions/{sub}/providers", operation="arm_get",
              action="Microsoft.Resources/subscriptions/providers/read")
def list_providers(sb, req: Request) -> Response:
    sub = req.params["sub"]
    return Response(200, page([provider_body(sub, spelled) for spelled, _ in sorted(served().values())]))


@router.route("GET", "/subscriptions/{sub}/providers/{namespace}", operation="arm_get",
              action="Microsoft.Resources/subscriptions/providers/read")
def get_provider(sb, req: Request) -> Response:
    return Response(200, provider_body(req.params["sub"], req.params["namespace"]))


@router.route("POST", "/subscriptions/{sub}/providers/{namespace}/register", operation="arm_write",
              action=lambda req: f"{req.params['namespace']}/register/action")
def register_provider(sb, req: Request) -> Response:
    return Response(200, provider_body(req.params["sub"], req.params["namespace"]))
