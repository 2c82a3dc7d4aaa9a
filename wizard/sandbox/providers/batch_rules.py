"""The Batch service's rules for pools, shared by the management plane (batch.py) and the Batch service API
(batch_resize.py): scale settings, immutable properties, pool identities, and errors in the shape the Batch
service gives them behind ARM ("<message>\\nRequestId:<id>\\nTime:<time>", target "BatchAccount", details).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from ..arm import get, now_iso, parse_id
from ..router import ArmError, Request

ACCOUNT_TYPE = "Microsoft.Batch/batchAccounts"
POOL_TYPE = ACCOUNT_TYPE + "/pools"

# ---- Batch service rules and errors --------------------------------------------------------------------
ASSIGN_ACTION = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
UAI_TYPE = "microsoft.managedidentity/userassignedidentities"


def batch_error(status: int, code: str, message: str, details: tuple[tuple[str, str], ...] = ()) -> ArmError:
    """An error raised by the Batch service behind ARM, in its shape."""
    body: dict[str, Any] = {"code": code, "message": f"{message}\nRequestId:{uuid.uuid4()}\nTime:{now_iso()}",
                            "target": "BatchAccount"}
    if details:
        body["details"] = [{"code": k, "message": v} for k, v in details]
    return ArmError(status, code, message, body={"error": body})


def invalid_property(name: str, path: str, reason: str, value: Any = None) -> ArmError:
    details = (("Reason", reason), ("PropertyName", name), ("PropertyPath", path))
    if value is not None:
        details += (("PropertyValue", str(value)),)
    return batch_error(400, "InvalidPropertyValue",
                       "The value provided for one of the properties in the request body is invalid.", details)


def missing_property(name: str, path: str) -> ArmError:
    return batch_error(400, "MissingRequiredProperty", "A required property was not specified in the request body.",
                       (("PropertyName", name), ("PropertyPath", path)))


def validate_new_pool(given: dict[str, Any]) -> None:
    """Pools need a VM size and a Virtual Machine Configuration (image + node agent SKU)."""
    if not isinstance(given.get("vmSize"), str) or not given["vmSize"]:
        raise missing_property("vmSize", "properties.vmSize")
    config = given.get("deploymentConfiguration")
    vm_config = config.get("virtualMachineConfiguration") if isinstance(config, dict) else None
    if not isinstance(vm_config, dict):
        raise missing_property("virtualMachineConfiguration",
                               "properties.deploymentConfiguration.virtualMachineConfiguration")
    if not isinstance(vm_config.get("imageReference"), dict) or not vm_config["imageReference"]:
        raise missing_property("imageReference",
                               "properties.deploymentConfiguration.virtualMachineConfiguration.imageReference")
    if not isinstance(vm_config.get("nodeAgentSkuId"), str) or not vm_config["nodeAgentSkuId"]:
        raise missing_property("nodeAgentSkuId",
                               "properties.deploymentConfiguration.virtualMachineConfiguration.nodeAgentSkuId")
    slots = given.get("taskSlotsPerNode", 1)
    if not isinstance(slots, int) or isinstance(slots, bool) or not 1 <= slots <= 256:
        raise invalid_property("taskSlotsPerNode", "properties.taskSlotsPerNode",
                               "taskSlotsPerNode must be between 1 and 256.", slots)
    if given.get("interNodeCommunication", "Disabled") not in ("Enabled", "Disabled"):
        raise invalid_property("interNodeCommunication", "properties.interNodeCommunication",
                               "interNodeCommunication must be 'Enabled' or 'Disabled'.",
                               given["interNodeCommunication"])


def normalise_scale(value: Any) -> dict[str, Any]:
    """Validated scale settings with the service's defaults (no settings = fixed scale of 0 nodes)."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise invalid_property("scaleSettings", "properties.scaleSettings", "scaleSettings must be an object.")
    fixed, auto = value.get("fixedScale"), value.get("autoScale")
    if fixed and auto:
        raise invalid_property("scaleSettings", "properties.scaleSettings",
                               "Specify either fixedScale or autoScale, not both.")
    if auto:
        if not isinstance(auto, dict) or not isinstance(auto.get("formula"), str) or not auto["formula"].strip():
            raise missing_property("formula", "properties.scaleSettings.autoScale.formula")
        return {"autoScale": {"formula": auto["formula"], "evaluationInterval": auto.get("evaluationInterval") or "PT15M"}}
    fixed = fixed or {}
    out: dict[str, Any] = {}
    for key in ("targetDedicatedNodes", "targetLowPriorityNodes"):
        count = fixed.get(key) or 0
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise invalid_property(key, f"properties.scaleSettings.fixedScale.{key}",
                                   f"{key} must be a whole number of 0 or more.", count)
        out[key] = count
    out["resizeTimeout"] = fixed.get("resizeTimeout") or "PT15M"
    if fixed.get("nodeDeallocationOption"):
        if fixed["nodeDeallocationOption"] not in ("Requeue", "Terminate", "TaskCompletion", "RetainedData"):
            raise invalid_property("nodeDeallocationOption", "properties.scaleSettings.fixedScale.nodeDeallocationOption",
                                   "Use Requeue, Terminate, TaskCompletion or RetainedData.",
                                   fixed["nodeDeallocationOption"])
        out["nodeDeallocationOption"] = fixed["nodeDeallocationOption"]
    return {"fixedScale": out}


def evaluate_scale(pool: dict[str, Any]) -> tuple[int, int, str, str]:
    """(dedicated, low-priority, deallocation option, resize timeout) the scale settings ask for now.

    An autoscale formula is evaluated only for constant assignments ($TargetDedicatedNodes=2); anything else
    evaluates to 0, as a formula driven by pending tasks would on an idle account.
    """
    props = pool["properties"]
    scale = props["scaleSettings"]
    if "autoScale" in scale:
        formula = scale["autoScale"]["formula"]

        def constant(var: str) -> int:
            m = re.search(rf"\${var}\s*=\s*(\d+)\s*(;|$)", formula, re.IGNORECASE | re.MULTILINE)
            return int(m.group(1)) if m else 0
        dedicated, low = constant("TargetDedicatedNodes"), constant("TargetLowPriorityNodes")
        props["autoScaleRun"] = {"evaluationTime": now_iso(), "results": f"$TargetDedicatedNodes={dedicated};"
                                 f"$TargetLowPriorityNodes={low};$NodeDeallocationOption=requeue"}
        return dedicated, low, "Requeue", "PT15M"
    fixed = scale["fixedScale"]
    return (fixed["targetDedicatedNodes"], fixed["targetLowPriorityNodes"],
            fixed.get("nodeDeallocationOption", "Requeue"), fixed["resizeTimeout"])


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def check_immutable(props: dict[str, Any], given: dict[str, Any]) -> None:
    """An update may restate, but not change, the VM size, image or network of a pool."""
    for key in ("vmSize", "deploymentConfiguration", "networkConfiguration"):
        if key not in given:
            continue
        old, new = props.get(key), given[key]
        same = (str(old).lower() == str(new).lower()) if key == "vmSize" else _without_nulls(old) == _without_nulls(new)
        if not same:
            raise batch_error(400, "PropertyCannotBeUpdated", "A property that cannot be updated was specified as part "
                              "of the request.", (("Reason", "A property that cannot be updated was specified as part "
                                                  "of the request."), ("PropertyName", key),
                                                 ("PropertyPath", f"properties.{key}")))


def parse_pool_identity(sb, req: Request | None, body: Any, owner: str = "pools") -> dict[str, Any]:
    """The identity block as stored and answered: UserAssigned (ids with principalId/clientId) or None."""
    if not isinstance(body, dict):
        raise invalid_property("identity", "identity", "identity must be an object with 'type' and "
                               "'userAssignedIdentities'.")
    raw_type, ids = body.get("type"), body.get("userAssignedIdentities")
    kind = str(raw_type or "").replace(" ", "").lower()
    if kind == "none" and owner == "pools":
        if ids:
            raise invalid_property("userAssignedIdentities", "identity.userAssignedIdentities",
                                   "userAssignedIdentities must be empty when the identity type is 'None'.")
        return {"type": "None"}
    if "systemassigned" in kind and owner == "pools":
        raise invalid_property("type", "identity.type", "Batch pools support only user-assigned managed identities: "
                               "use identity type 'UserAssigned' (or 'None' to remove them). A system-assigned "
                               "identity cannot be used on a pool.", raw_type)
    if kind != "userassigned":
        raise invalid_property("type", "identity.type", "The identity type must be 'UserAssigned' or 'None'.", raw_type)
    if not isinstance(ids, dict) or not ids:
        raise ArmError(400, "MissingIdentityIds", "The identity ids must not be null or empty for 'UserAssigned' "
                       "identity type.")
    for rid, value in ids.items():
        parsed = parse_id(rid)
        if not rid.startswith("/subscriptions/") or parsed.get("type", "").lower() != UAI_TYPE \
                or not parsed.get("name") or "resourceGroup" not in parsed:
            raise ArmError(400, "LinkedInvalidPropertyId", f"Property id '{rid}' at path 'identity.userAssigned"
                           "Identities' is invalid. Expect fully qualified resource Id that start with "
                           "'/subscriptions/{subscriptionId}' or '/providers/{resourceProviderNamespace}/'.")
        if value is not None and not isinstance(value, dict):
            raise ArmError(400, "InvalidIdentityValues", f"Invalid value for the identities '{rid}'. The "
                           "'UserAssignedIdentities' property values should be empty objects.")
    if req is not None and req.principal is not None:
        # ARM's linked access check: assigning an identity needs .../assign/action on that identity.
        from ..authz import permitted
        denied = [rid for rid in ids if permitted(sb.store, req.principal.object_id, ASSIGN_ACTION, rid) is None]
        if denied:
            raise ArmError(403, "LinkedAuthorizationFailed", f"The client '{req.principal.app_id}' with object id "
                           f"'{req.principal.object_id}' has permission to perform action '{POOL_TYPE}/write' on "
                           f"scope '{req.path.rstrip('/')}'; however, it does not have permission to perform "
                           f"action(s) '{ASSIGN_ACTION}' on the linked scope(s) '{','.join(denied)}' (respectively) "
                           "or the linked scope(s) are invalid.")
    resolved: dict[str, Any] = {}
    for rid in ids:
        identity = get(sb, rid)
        if identity is None:
            target = req.path.rstrip("/") if req is not None else "the resource"
            raise ArmError(400, "FailedIdentityOperation", f"Identity operation for resource '{target}' failed with "
                           "error 'Failed to perform resource identity operation. Status: 'NotFound'. Response: "
                           "'{\"error\":{\"code\":\"NotFound\",\"message\":\"Resource '" + rid + "' does not "
                           "exist or one of its ancestor resources does not exist.\"}}'.'.")
        if rid.lower() not in {r.lower() for r in resolved}:
            resolved[rid] = {"principalId": identity["properties"]["principalId"],
                             "clientId": identity["properties"]["clientId"]}
    return {"type": "UserAssigned", "userAssignedIdentities": resolved}
