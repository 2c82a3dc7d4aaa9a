"""The container group document of Microsoft.ContainerInstance: a PUT body validated and stored as Azure
answers it (secure values and keys removed), its identity block, and the updates Azure refuses.
Choices where Azure's exact answer is not documented are marked "guess"."""

from __future__ import annotations

import copy
import re
import zlib
from typing import Any

from .. import containers, directory
from ..arm import delete, get, provider_id, put, require_location, require_tags
from ..authz import permitted
from ..router import ArmError, Request

NS = "Microsoft.ContainerInstance/containerGroups"
SYSTEM_IDENTITY_TYPE = "Microsoft.ManagedIdentity/identities"
NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# A Docker reference: [registry[:port]/]path[:tag][@digest], lower-case path components.
IMAGE = re.compile(r"^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*"
                   r"(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$")
IDENTITY_TYPES = {"systemassigned": "SystemAssigned", "userassigned": "UserAssigned",
                  "systemassigned,userassigned": "SystemAssigned, UserAssigned", "none": "None"}
ENUMS = {"osType": ("Linux", "Windows"), "restartPolicy": ("Always", "OnFailure", "Never")}
PASS_THROUGH = ("ipAddress", "volumes", "imageRegistryCredentials", "dnsConfig", "subnetIds", "diagnostics",
                "priority", "confidentialComputeProperties", "extensions", "encryptionProperties")
TRANSITIONING = ("Pending", "Creating", "Updating", "Deleting")
SECRET_FIELDS = ("password", "storageAccountKey", "workspaceKey", "workspaceResourceId", "secret")
"""Input Azure never answers back: the spec marks them x-ms-secret ("sensitive"); `secret` volumes answer {}."""


def group_id(req: Request) -> str:
    return provider_id(req.params["sub"], req.params["rg"], NS, req.params["name"])


def _invalid_content(message: str) -> ArmError:
    return ArmError(400, "InvalidRequestContent", f"The request content was invalid and could not be deserialized: "
                    f"{message}")


def _required(obj: Any, key: str, path: str) -> Any:
    if not isinstance(obj, dict) or obj.get(key) in (None, ""):
        raise _invalid_content(f"'Required property '{key}' not found in JSON. Path '{path}'.'")
    return obj[key]


def _enum(value: Any, field: str) -> str:
    for allowed in ENUMS[field]:
        if isinstance(value, str) and value.lower() == allowed.lower():
            return allowed
    raise _invalid_content(f"'Error converting value \"{value}\" to type '{field}'. Allowed values: "
                           f"{', '.join(ENUMS[field])}. Path 'properties.{field}'.'")


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ArmError(400, "InvalidContainerResourceRequests",  # guess: the code is not documented
                       f"The resource request '{path}' must be a positive number; got '{value}'.")
    return value


def _scrub(value: Any) -> Any:
    """Drop secrets from pass-through properties (Azure never answers them back)."""
    if isinstance(value, dict):
        return {k: ({} if k == "secret" else _scrub(v)) for k, v in value.items()
                if k not in SECRET_FIELDS or k == "secret"}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _container(raw: Any, index: int, group_name: str, seen: set[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """One container as stored (secure values removed) and its secure environment values."""
    path = f"properties.containers[{index}]"
    name = _required(raw, "name", path)
    if not isinstance(name, str) or not NAME.match(name):
        raise ArmError(400, "InvalidContainerName",  # guess for the code; the rule is the documented one
                       f"The container name '{name}' in container group '{group_name}' is invalid. A container name "
                       "must contain no more than 63 characters and must match the regex "
                       "'[a-z0-9]([-a-z0-9]*[a-z0-9])?' (e.g. 'my-name').")
    if name in seen:
        raise ArmError(400, "DuplicateContainerName",  # guess
                       f"The container name '{name}' is used more than once in container group '{group_name}'.")
    seen.add(name)
    props = _required(raw, "properties", path)
    image = _required(props, "image", path + ".properties")
    if not isinstance(image, str) or not IMAGE.match(image):
        raise ArmError(400, "InvalidImageName",  # guess
                       f"The image '{image}' of container '{name}' in container group '{group_name}' is not a valid "
                       "image reference.")
    resources_path = path + ".properties.resources"
    requests = _required(_required(props, "resources", path + ".properties"), "requests", resources_path)
    cpu = _number(_required(requests, "cpu", path + ".properties.resources.requests"), "cpu")
    memory = _number(_required(requests, "memoryInGB", path + ".properties.resources.requests"), "memoryInGB")
    command = props.get("command")
    if command is not None and (not isinstance(command, list) or not all(isinstance(c, str) for c in command)):
        raise _invalid_content(f"'Error converting value to type 'List<string>'. Path '{path}.properties.command'.'")
    env, secure = [], {}
    for var in props.get("environmentVariables") or []:
        var_name = _required(var, "name", path + ".properties.environmentVariables")
        if var.get("secureValue") is not None:
            secure[var_name] = str(var["secureValue"])
            env.append({"name": var_name})  # Azure never returns secure values
        else:
            env.append({"name": var_name, "value": str(var.get("value", ""))})
    resources: dict[str, Any] = {"requests": {"cpu": cpu, "memoryInGB": memory}}
    if isinstance(requests.get("gpu"), dict):  # {count, sku}: Azure echoes it back
        resources["requests"]["gpu"] = requests["gpu"]
    if isinstance(props["resources"].get("limits"), dict):
        resources["limits"] = props["resources"]["limits"]
    stored: dict[str, Any] = {"name": name, "properties": {"image": image, "ports": props.get("ports") or [],
                                                           "environmentVariables": env, "resources": resources}}
    if command is not None:  # ACI answers a command only when one was given (an empty list is echoed)
        stored["properties"]["command"] = command
    for key in ("volumeMounts", "livenessProbe", "readinessProbe", "securityContext"):
        if key in props:
            stored["properties"][key] = props[key]
    return stored, secure


# ---- identities ---------------------------------------------------------------------------------------------
def _identity_error(cg_id: str, status: str, inner_code: str, message: str) -> ArmError:
    # ARM's wrapper for managed-identity failures on any resource type.
    return ArmError(400, "FailedIdentityOperation",
                    f"Identity operation for resource '{cg_id}' failed with error 'Failed to perform resource identity "
                    f"operation. Status: '{status}'. Response: '{{\"error\":{{\"code\":\"{inner_code}\","
                    f"\"message\":\"{message}\"}}}}'.'.")


def _identity(sb, req: Request, raw: Any, cg_id: str, existing: dict[str, Any] | None) -> dict[str, Any] | None:
    """The response identity block (principal and client ids filled in); creates the system principal if needed."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _invalid_content("'The identity must be an object. Path 'identity'.'")
    kind = IDENTITY_TYPES.get(str(raw.get("type", "")).replace(" ", "").lower())
    if kind is None:
        raise _invalid_content(f"'Error converting value \"{raw.get('type')}\" to type 'ResourceIdentityType'. "
                               "Path 'identity.type'.'")
    users = raw.get("userAssignedIdentities") or {}
    if users and "UserAssigned" not in kind:
        raise _identity_error(cg_id, "BadRequest", "BadRequest", "The request format was unexpected, a "
                              "non-UserAssigned identity type should not contain: userAssignedIdentities")
    if "UserAssigned" in kind and not users:
        raise _identity_error(cg_id, "BadRequest", "BadRequest", "The request format was unexpected: a UserAssigned "
                              "identity type requires userAssignedIdentities")
    if kind == "None":
        return {"type": "None"}
    # ACI answers the tenant with any identity type, user-assigned only included.
    out: dict[str, Any] = {"type": kind, "tenantId": sb.tenant_id}
    if "SystemAssigned" in kind:
        old = (existing or {}).get("identity") or {}
        principal = directory.principal(sb.store, old["principalId"]) if old.get("principalId") else None
        if principal is None:
            principal = directory.add_principal(sb.store, display_name=req.params["name"], managed_identity_id=cg_id)
        out["principalId"] = principal["objectId"]
    if users:
        out["userAssignedIdentities"] = {}
        for uai_id in users:
            uai = get(sb, uai_id)
            if uai is None or uai.get("type", "").lower() != "microsoft.managedidentity/userassignedidentities":
                raise _identity_error(cg_id, "NotFound", "ResourceNotFound", f"Resource '{uai_id}' was not found.")
            action = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
            if permitted(sb.store, req.principal.object_id, action, uai["id"]) is None:
                raise ArmError(403, "LinkedAuthorizationFailed",
                               f"The client '{req.principal.app_id}' with object id '{req.principal.object_id}' has "
                               f"permission to perform action '{NS}/write' on scope '{cg_id}'; however, it does not "
                               f"have permission to perform action '{action}' on the linked scope(s) '{uai['id']}' or "
                               "the linked scope(s) are invalid.")
            out["userAssignedIdentities"][uai_id] = {"principalId": uai["properties"]["principalId"],
                                                     "clientId": uai["properties"]["clientId"]}
    return out


def sync_system_identity(sb, group: dict[str, Any]) -> None:
    """Keep the system identity readable at {group}/providers/Microsoft.ManagedIdentity/identities/default, as
    in Azure; the IMDS endpoint finds it there (it holds the client id the directory gave the principal)."""
    identity_id = f"{group['id']}/providers/{SYSTEM_IDENTITY_TYPE}/default"
    principal_id = (group.get("identity") or {}).get("principalId")
    meta = group.setdefault("_sandbox", {})
    if principal_id is None:
        old = get(sb, identity_id)
        if old is not None:
            directory.remove_principal(sb.store, old["properties"]["principalId"])
            delete(sb, identity_id)
        meta.pop("systemIdentityId", None)
        return
    principal = directory.principal(sb.store, principal_id)
    put(sb, {"id": identity_id, "name": "default", "type": SYSTEM_IDENTITY_TYPE, "location": group["location"],
             "properties": {"tenantId": sb.tenant_id, "principalId": principal_id, "clientId": principal["appId"]}})
    meta["systemIdentityId"] = identity_id


# ---- the container group document ---------------------------------------------------------------------------
def build_group(sb, req: Request, body: dict[str, Any], existing: dict[str, Any] | None) -> tuple[dict, dict]:
    """Validate a PUT body; return (stored group, secure values by container)."""
    name, cg_id = req.params["name"], group_id(req)
    location = require_location(body.get("location"))
    tags = require_tags(body)
    props = _required(body, "properties", "")
    raw_containers = _required(props, "containers", "properties")
    if not isinstance(raw_containers, list) or not raw_containers:
        raise ArmError(400, "ContainerGroupContainersRequired",  # guess
                       f"The container group '{name}' must have at least one container.")
    seen: set[str] = set()
    built = [_container(c, i, name, seen) for i, c in enumerate(raw_containers)]
    os_type = _enum(_required(props, "osType", "properties"), "osType")
    policy = _enum(props.get("restartPolicy") or "Always", "restartPolicy")
    group: dict[str, Any] = {"id": cg_id, "name": name, "type": NS, "location": location, "tags": tags,
                             "properties": {"sku": props.get("sku") or "Standard", "provisioningState": "Pending",
                                            "containers": [c for c, _ in built], "initContainers": [],
                                            "restartPolicy": policy, "osType": os_type,
                                            "instanceView": {"events": [], "state": "Pending"}},
                             "_sandbox": dict((existing or {}).get("_sandbox") or {})}
    for key in PASS_THROUGH:
        if key in props:
            group["properties"][key] = _scrub(copy.deepcopy(props[key]))
    ip = group["properties"].get("ipAddress")
    if isinstance(ip, dict) and ip.get("type", "").lower() == "public":
        ip.pop("ip", None)  # Azure assigns it (assign_public_ip); a redeploy keeps the one the group has
        kept = ((existing or {}).get("properties", {}).get("ipAddress") or {}).get("ip")
        if kept:
            ip["ip"] = kept
        if ip.get("dnsNameLabel"):
            ip["fqdn"] = f"{ip['dnsNameLabel']}.{location}.azurecontainer.io"
    if body.get("zones"):
        group["zones"] = body["zones"]
    identity = _identity(sb, req, body.get("identity"), cg_id, existing)
    if identity is not None:
        group["identity"] = identity
    return group, {c["name"]: s for c, s in built}


def assign_public_ip(group: dict[str, Any]) -> None:
    """Give a public group its address once it is provisioned: ACI's 201 (Pending) has none yet, as azure-cli's
    recordings of `az container create --ip-address Public` show; the group's later reads do."""
    ip = group["properties"].get("ipAddress")
    if isinstance(ip, dict) and ip.get("type", "").lower() == "public" and not ip.get("ip"):
        digest = zlib.crc32(group["id"].lower().encode())
        ip["ip"] = f"20.85.{digest % 250 + 1}.{digest // 250 % 250 + 1}"


def _ports(group: dict[str, Any]) -> dict[str, list]:
    def key(ports: list) -> list:
        return sorted((p.get("port"), str(p.get("protocol", "TCP")).upper()) for p in ports or [])
    out = {c["name"]: key(c["properties"].get("ports")) for c in group["properties"]["containers"]}
    out[""] = key((group["properties"].get("ipAddress") or {}).get("ports"))
    return out


def check_update(existing: dict[str, Any], new: dict[str, Any]) -> None:
    name = existing["name"]
    if existing["properties"]["provisioningState"] in TRANSITIONING:
        raise ArmError(409, "ContainerGroupTransitioning",
                       f"The container group '{name}' is still transitioning, please retry later.")
    if existing["location"] != new["location"]:
        raise ArmError(409, "InvalidResourceLocation",
                       f"The resource '{name}' already exists in location '{existing['location']}' in resource group "
                       f"'{existing['id'].split('/')[4]}'. A resource with the same name cannot be created in location "
                       f"'{new['location']}'. Please select a new resource name.")
    if containers.is_terminated(existing):
        # Docs: "Terminated or deleted container groups can't be updated ... deployed as new". The code is ACI's
        # own for updates that need delete + create (the same remedy); the status 409 is a guess.
        raise ArmError(409, "InvalidContainerGroupUpdate",
                       f"The container group '{name}' is terminated (state "
                       f"'{existing['properties']['instanceView']['state']}', restart policy "
                       f"'{existing['properties']['restartPolicy']}'). Terminated container groups can't be updated: "
                       "delete it first and then create a new one.")
    old_requests = {c["name"]: c["properties"]["resources"]["requests"] for c in existing["properties"]["containers"]}
    changed = (existing["properties"]["osType"] != new["properties"]["osType"]
               or existing["properties"]["restartPolicy"] != new["properties"]["restartPolicy"])
    for c in new["properties"]["containers"]:
        old = old_requests.get(c["name"])
        new_req = c["properties"]["resources"]["requests"]
        if old and (float(old["cpu"]), float(old["memoryInGB"])) != (float(new_req["cpu"]), float(new_req["memoryInGB"])):
            changed = True
    old_ports, new_ports = _ports(existing), _ports(new)
    if any(old_ports[k] != new_ports[k] for k in new_ports if k in old_ports):
        changed = True
    if changed:
        raise ArmError(409, "InvalidContainerGroupUpdate",  # message as Azure answers it; status 409 is a guess
                       f"The updates on container group '{name}' are invalid. If you are going to update the os type, "
                       "restart policy, network profile, CPU, memory or GPU resources for a container group, you must "
                       "delete it first and then create a new one.")
