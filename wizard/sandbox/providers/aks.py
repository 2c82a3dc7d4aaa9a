"""Microsoft.ContainerService managed clusters (AKS): create-or-update (LRO), get, list; OIDC issuer and workload
identity, which is what an AKS workload-identity setup reads from a cluster. Credentials: aks_credentials.py.

Create-or-update answers 201 (200 for an update) with `Azure-AsyncOperation` pointing at
/subscriptions/{sub}/providers/Microsoft.ContainerService/locations/{loc}/operations/{id}; provisioningState is
Creating/Updating until `realism.lro_duration("aks_create")` has passed. A new cluster gets a node resource group
MC_{rg}_{name}_{location} holding its kubelet identity `{name}-agentpool` (what AcrPull is granted to), and, with
`oidcIssuerProfile.enabled`, an issuer served by the sandbox (oidc.py) that AKS never turns off again.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from .. import directory, lro
from ..arm import (
    get,
    list_children,
    list_in_subscription,
    now_iso,
    parse_id,
    provider_id,
    public,
    put,
    require_location,
    require_resource_group,
    require_tags,
    rg_id,
)
from ..router import ArmError, Request, Response, not_found, router
from .oidc import new_aks_issuer

NS = "Microsoft.ContainerService/managedClusters"
TYPE = "Microsoft.ContainerService/ManagedClusters"  # the casing AKS answers with
BASE = "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.ContainerService/managedClusters"
OPERATIONS = "/subscriptions/{sub}/providers/Microsoft.ContainerService/locations/{location}/operations/{op}"
UAI_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
DEFAULT_VERSION, DEFAULT_PATCH = "1.33", "1.33.5"
NODE_IMAGE = "AKSUbuntu-2204gen2containerd-202510.03.0"
_NAME = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?$")
_POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")


def cluster_id(req: Request) -> str:
    return provider_id(req.params["sub"], req.params["rg"], NS, req.params["name"])


def _settled(sb, cid: str) -> dict[str, Any] | None:
    lro.settle(sb, "aks_create", cid)
    return get(sb, cid)


def require_cluster_by_id(sb, cid: str) -> dict[str, Any]:
    """The cluster with ARM id `cid` (its pending create finished if due), or ARM's 404."""
    cluster = _settled(sb, cid)
    if cluster is None or cluster.get("type", "").lower() != NS.lower():
        parts = parse_id(cid)
        raise not_found(NS, parts.get("name", cid), parts.get("resourceGroup"))
    return cluster


def _invalid(message: str, target: str | None = None) -> ArmError:
    body = {"code": "InvalidParameter", "message": message}
    if target:
        body["target"] = target
    return ArmError(400, "InvalidParameter", message, body={"error": body})


# ---- the cluster document ----------------------------------------------------------------------------------
def _pools(raw: Any, version: str, existing: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    if raw is None and existing:
        return existing
    if not isinstance(raw, list) or not raw:
        raise _invalid("The agentPoolProfiles must contain at least one agent pool.", "agentPoolProfiles")
    pools, names = [], set()
    for index, pool in enumerate(raw):
        if not isinstance(pool, dict):
            raise _invalid(f"agentPoolProfiles[{index}] must be an object.", "agentPoolProfiles")
        name = str(pool.get("name", ""))
        if not _POOL_NAME.match(name) or name in names:
            raise _invalid(f"The agent pool name '{name}' is invalid or repeated: it must start with a lower-case "
                           "letter and have 1-12 lower-case letters and digits.", "agentPoolProfile.name")
        names.add(name)
        count = pool.get("count", 3)
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 1000:
            raise _invalid(f"The count of agent pool '{name}' must be between 0 and 1000.", "agentPoolProfile.count")
        mode = pool.get("mode") or ("System" if index == 0 else "User")
        pools.append({"name": name, "count": count, "vmSize": pool.get("vmSize") or "Standard_DS2_v2",
                      "osDiskSizeGB": pool.get("osDiskSizeGB") or 128, "osDiskType": "Managed",
                      "kubeletDiskType": "OS", "maxPods": pool.get("maxPods") or 110,
                      "type": pool.get("type") or "VirtualMachineScaleSets", "enableAutoScaling": False,
                      "provisioningState": "Succeeded", "powerState": {"code": "Running"},
                      "orchestratorVersion": version, "currentOrchestratorVersion": version,
                      "enableNodePublicIP": False, "mode": mode, "osType": pool.get("osType") or "Linux",
                      "osSKU": pool.get("osSKU") or "Ubuntu", "nodeImageVersion": NODE_IMAGE,
                      "enableFIPS": False})
    if not any(p["mode"] == "System" for p in pools):
        raise ArmError(400, "MustDefineAtLeastOneSystemPool", "Must define at least one system pool.")
    return pools


def _identity(sb, raw: Any, cid: str, name: str, existing: dict[str, Any] | None) -> dict[str, Any]:
    raw = raw if isinstance(raw, dict) else {"type": "SystemAssigned"}
    kind = str(raw.get("type", "SystemAssigned"))
    if kind.lower() == "systemassigned":
        old = (existing or {}).get("identity") or {}
        if old.get("principalId") and directory.principal(sb.store, old["principalId"]):
            return {"type": "SystemAssigned", "principalId": old["principalId"], "tenantId": sb.tenant_id}
        principal = directory.add_principal(sb.store, display_name=name, managed_identity_id=cid)
        return {"type": "SystemAssigned", "principalId": principal["objectId"], "tenantId": sb.tenant_id}
    if kind.lower() == "userassigned":
        users = raw.get("userAssignedIdentities") or {}
        if not isinstance(users, dict) or len(users) != 1:
            raise _invalid("A user-assigned control plane identity needs exactly one identity in "
                           "userAssignedIdentities.", "identity")
        (uai_id,) = users
        uai = get(sb, uai_id)
        if uai is None or uai.get("type", "").lower() != UAI_TYPE.lower():
            raise _invalid(f"The user assigned identity '{uai_id}' was not found.", "identity")
        return {"type": "UserAssigned", "userAssignedIdentities": {uai["id"]: {
            "principalId": uai["properties"]["principalId"], "clientId": uai["properties"]["clientId"]}}}
    raise _invalid(f"The identity type '{kind}' is not supported: use SystemAssigned or UserAssigned.", "identity")


def _kubelet_identity(sb, sub: str, node_group: str, name: str, location: str) -> dict[str, Any]:
    """The node resource group and the kubelet's user-assigned identity in it, as AKS creates them."""
    put(sb, {"id": rg_id(sub, node_group), "name": node_group, "type": "Microsoft.Resources/resourceGroups",
             "location": location, "tags": {}, "managedBy": None,
             "properties": {"provisioningState": "Succeeded"}})
    uai_id = provider_id(sub, node_group, UAI_TYPE, f"{name}-agentpool")
    principal = directory.add_principal(sb.store, display_name=f"{name}-agentpool", managed_identity_id=uai_id)
    put(sb, {"id": uai_id, "name": f"{name}-agentpool", "type": UAI_TYPE, "location": location, "tags": {},
             "properties": {"tenantId": sb.tenant_id, "principalId": principal["objectId"],
                            "clientId": principal["appId"], "isolationScope": "None"}})
    return {"resourceId": uai_id, "clientId": principal["appId"], "objectId": principal["objectId"]}


def _oidc(sb, props: dict[str, Any], old: dict[str, Any], cid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(oidcIssuerProfile, securityProfile) after this PUT."""
    old_oidc = old.get("oidcIssuerProfile") or {"enabled": False}
    wanted = props.get("oidcIssuerProfile")
    enabled = bool(wanted.get("enabled")) if isinstance(wanted, dict) else bool(old_oidc.get("enabled"))
    if old_oidc.get("enabled") and not enabled:
        raise ArmError(400, "OIDCIssuerFeatureCannotBeDisabled", "OIDC issuer feature cannot be disabled once it "
                       "has been enabled.")
    oidc = dict(old_oidc) if old_oidc.get("enabled") else {"enabled": enabled}
    if enabled and not oidc.get("issuerURL"):
        oidc = {"enabled": True, "issuerURL": new_aks_issuer(sb, cid)}
    security = dict(old.get("securityProfile") or {})
    if isinstance(props.get("securityProfile"), dict):
        security = dict(props["securityProfile"])
    workload = security.get("workloadIdentity")
    if isinstance(workload, dict) and workload.get("enabled") and not enabled:
        raise ArmError(400, "InvalidParameter", "Enabling workload identity requires enabling the OIDC issuer "
                       "profile: set properties.oidcIssuerProfile.enabled to true.")
    if isinstance(workload, dict):
        security["workloadIdentity"] = {"enabled": bool(workload.get("enabled"))}
    return oidc, security


def build_cluster(sb, req: Request, body: dict[str, Any], existing: dict[str, Any] | None) -> dict[str, Any]:
    sub, name, cid = req.params["sub"], req.params["name"], cluster_id(req)
    if not _NAME.match(name):
        raise _invalid(f"The resource name '{name}' is invalid: use 1-63 letters, digits, '_' and '-', starting and "
                       "ending with a letter or digit.", "name")
    location = require_location(body.get("location"))
    if existing is not None and existing["location"] != location:
        raise ArmError(409, "InvalidResourceLocation", f"The resource '{name}' already exists in location "
                       f"'{existing['location']}' in resource group '{req.params['rg']}'. A resource with the same "
                       f"name cannot be created in location '{location}'. Please select a new resource name.")
    props = body.get("properties") or {}
    if not isinstance(props, dict):
        raise _invalid("The properties must be an object.", "properties")
    old = (existing or {}).get("properties", {})
    version = str(props.get("kubernetesVersion") or old.get("kubernetesVersion") or DEFAULT_VERSION)
    if not _VERSION.match(version):
        raise _invalid(f"The kubernetesVersion '{version}' is not a valid version.", "kubernetesVersion")
    current = version if version.count(".") == 2 else (DEFAULT_PATCH if version == DEFAULT_VERSION else version + ".0")
    group = cid.split("/")[4]
    dns_prefix = old.get("dnsPrefix") or str(props.get("dnsPrefix") or f"{name[:10]}-{group[:16]}-{sub[:6]}")
    pools = _pools(props.get("agentPoolProfiles"), current, old.get("agentPoolProfiles"))
    oidc, security = _oidc(sb, props, old, cid)
    node_group = old.get("nodeResourceGroup") or str(props.get("nodeResourceGroup") or f"MC_{group}_{name}_{location}")
    kubelet = (old.get("identityProfile") or {}).get("kubeletidentity") or \
        _kubelet_identity(sb, sub, node_group, name, location)
    fqdn = old.get("fqdn") or f"{dns_prefix.lower()}-{secrets.token_hex(4)}.hcp.{location}.azmk8s.io"
    out = {
        "provisioningState": "Succeeded", "powerState": {"code": "Running"}, "kubernetesVersion": version,
        "currentKubernetesVersion": current, "dnsPrefix": dns_prefix, "fqdn": fqdn,
        "azurePortalFQDN": fqdn.replace(".hcp.", ".portal.hcp.", 1),
        "agentPoolProfiles": pools,
        "nodeResourceGroup": node_group, "enableRBAC": bool(props.get("enableRBAC", old.get("enableRBAC", True))),
        "supportPlan": "KubernetesOfficial", "maxAgentPools": 100,
        "networkProfile": old.get("networkProfile") or {
            "networkPlugin": "azure", "networkPluginMode": "overlay", "networkPolicy": "none",
            "loadBalancerSku": "standard", "podCidr": "10.244.0.0/16", "serviceCidr": "10.0.0.0/16",
            "dnsServiceIP": "10.0.0.10", "outboundType": "loadBalancer", "ipFamilies": ["IPv4"]},
        "identityProfile": {"kubeletidentity": kubelet},
        "oidcIssuerProfile": oidc, "securityProfile": security,
    }
    return {"id": cid, "location": location, "name": name, "type": TYPE, "tags": require_tags(body),
            "sku": {"name": "Base", "tier": str((body.get("sku") or {}).get("tier") or "Free")},
            "identity": _identity(sb, body.get("identity"), cid, name, existing), "properties": out,
            "systemData": (existing or {}).get("systemData") or {"createdAt": now_iso(),
                                                                  "createdByType": "Application"},
            "_sandbox": {"created": (existing or {}).get("_sandbox", {}).get("created", time.time())}}


# ---- long-running operations -----------------------------------------------------------------------------
@lro.finisher("aks_create")
def _finish(sb, op: dict[str, Any]) -> None:
    cluster = get(sb, op["resourceId"])
    if cluster is not None and cluster["_sandbox"].get("operation") == op["id"]:
        cluster["properties"]["provisioningState"] = "Succeeded"
        put(sb, cluster)


def status_document(op: dict[str, Any], path: str) -> dict[str, Any]:
    """An Azure-AsyncOperation status body: {id, name, status, startTime[, endTime][, error]}."""
    body: dict[str, Any] = {"id": path, "name": op["id"], "status": op["status"], "startTime": now_iso(op["started"])}
    if op.get("ended"):
        body["endTime"] = now_iso(op["ended"])
    if op.get("error"):
        body["error"] = op["error"]
    return body


# No RBAC action: an RG-scoped Contributor polls this subscription-level URL; the operation id protects it.
@router.route("GET", OPERATIONS, operation="arm_get")
def operation_status(sb, req: Request) -> Response:
    op = lro.poll(sb, req.params["op"])
    if op is None or op["kind"] != "aks_create":
        raise ArmError(404, "NotFound", f"Operation '{req.params['op']}' was not found.")
    return Response(200, status_document(op, req.path))


# ---- routes ------------------------------------------------------------------------------------------------
@router.route("PUT", BASE + "/{name}", operation="aks_create", action=NS + "/write")
def create_or_update(sb, req: Request) -> Response:
    body = req.json_object()
    require_resource_group(sb, req.params["sub"], req.params["rg"])
    with sb.store.transaction():
        existing = _settled(sb, cluster_id(req))
        cluster = build_cluster(sb, req, body, existing)
        duration = sb.realism.lro_duration("aks_create")
        op = lro.start(sb, "aks_create", cluster["id"], duration)
        cluster["_sandbox"]["operation"] = op["id"]
        if not lro.done(op):
            cluster["properties"]["provisioningState"] = "Updating" if existing else "Creating"
        put(sb, cluster)
    url = (f"{sb.arm_url}/subscriptions/{req.params['sub']}/providers/Microsoft.ContainerService/locations/"
           f"{cluster['location']}/operations/{op['id']}?api-version={req.api_version}")
    return Response(200 if existing else 201, public(cluster), headers={"Azure-AsyncOperation": url,
                                                                         **lro.retry_after(sb)})


@router.route("GET", BASE + "/{name}", operation="arm_get", action=NS + "/read")
def get_cluster(sb, req: Request) -> Response:
    require_resource_group(sb, req.params["sub"], req.params["rg"])
    return Response(200, public(require_cluster_by_id(sb, cluster_id(req))))


@router.route("GET", BASE, operation="arm_get", action=NS + "/read")
def list_by_group(sb, req: Request) -> Response:
    group = require_resource_group(sb, req.params["sub"], req.params["rg"])
    parent = f"{group['id']}/providers/Microsoft.ContainerService"
    return Response(200, {"value": [public(_settled(sb, c["id"])) for c in list_children(sb, parent, NS)]})


@router.route("GET", "/subscriptions/{sub}/providers/Microsoft.ContainerService/managedClusters",
              operation="arm_get", action=NS + "/read")
def list_by_subscription(sb, req: Request) -> Response:
    clusters = list_in_subscription(sb, req.params["sub"], NS)
    return Response(200, {"value": [public(_settled(sb, c["id"])) for c in clusters]})


# ---- demo ---------------------------------------------------------------------------------------------------
def _seed_demo(sb) -> None:
    """aks-apps in rg-aks-apps (westus2): OIDC issuer and workload identity on, as the AKS tutorial sets up."""
    req = Request("PUT", "", {}, {}, b"", params={"sub": sb.subscription_ids[0], "rg": "rg-aks-apps",
                                                  "name": "aks-apps"})
    body = {"location": "westus2", "identity": {"type": "SystemAssigned"},
            "properties": {"kubernetesVersion": DEFAULT_VERSION, "dnsPrefix": "aks-apps-dns",
                           "agentPoolProfiles": [{"name": "nodepool1", "count": 2, "vmSize": "Standard_D4ds_v5",
                                                  "mode": "System"}],
                           "oidcIssuerProfile": {"enabled": True},
                           "securityProfile": {"workloadIdentity": {"enabled": True}}}}
    put(sb, build_cluster(sb, req, body, None))


from ..seed import demo_seeders  # noqa: E402 - registered when the provider is imported

demo_seeders.append(_seed_demo)

from . import aks_credentials  # noqa: E402,F401 - the credential routes, registered after the helpers they use
