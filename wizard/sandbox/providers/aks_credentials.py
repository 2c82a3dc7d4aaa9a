"""AKS cluster credentials: POST .../managedClusters/{name}/listClusterUserCredential (what `az aks get-credentials`
calls) and listClusterAdminCredential (`--admin`).

The answer has Azure's shape, {"kubeconfigs": [{"name": "clusterUser", "value": <base64 kubeconfig>}]}, but the
sandbox does not run Kubernetes: the kubeconfig says so in a comment, and its server is the cluster's FQDN under the
reserved `.invalid` domain (RFC 6761), which never resolves, so kubectl fails at once instead of reaching anything.
Workload identity itself is served without an API server (oidc.py mints the service-account tokens).
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from ..arm import put
from ..router import Request, Response, router
from .aks import BASE, NS, cluster_id, require_cluster_by_id

NOT_SERVED = "sandbox-not-served.invalid"
"""Appended to the cluster's FQDN in a kubeconfig's server: a name that never resolves."""


def server_url(cluster: dict[str, Any]) -> str:
    return f"https://{cluster['properties']['fqdn']}.{NOT_SERVED}:443"


def kubeconfig(cluster: dict[str, Any], user: str, token: str) -> str:
    """A kubeconfig as AKS writes one for a cluster with local accounts, plus the comment that it is not served."""
    name = cluster["name"]
    return (
        "# mi-wizard sandbox: this kubeconfig has the shape Azure gives, but the sandbox does not serve this\n"
        "# cluster's Kubernetes API. The server below is under the reserved .invalid domain and never resolves.\n"
        "apiVersion: v1\n"
        "clusters:\n"
        "- cluster:\n"
        f"    server: {server_url(cluster)}\n"
        f"  name: {name}\n"
        "contexts:\n"
        "- context:\n"
        f"    cluster: {name}\n"
        f"    user: {user}\n"
        f"  name: {name}\n"
        f"current-context: {name}\n"
        "kind: Config\n"
        "preferences: {}\n"
        "users:\n"
        f"- name: {user}\n"
        "  user:\n"
        f"    token: {token}\n"
    )


def _credentials(sb, req: Request, role: str) -> Response:
    with sb.store.transaction():
        cluster = require_cluster_by_id(sb, cluster_id(req))
        tokens = cluster.setdefault("_sandbox", {}).setdefault("kubeTokens", {})
        if role not in tokens:  # one token per role for the cluster's life, as AKS's local accounts keep theirs
            tokens[role] = secrets.token_hex(64)
            put(sb, cluster)
    user = f"{role}_{req.params['rg']}_{cluster['name']}"
    text = kubeconfig(cluster, user, tokens[role])
    return Response(200, {"kubeconfigs": [{"name": role, "value": base64.b64encode(text.encode()).decode()}]})


@router.route("POST", BASE + "/{name}/listClusterUserCredential", operation="arm_get",
              action=NS + "/listClusterUserCredential/action")
def list_user_credential(sb, req: Request) -> Response:
    return _credentials(sb, req, "clusterUser")


@router.route("POST", BASE + "/{name}/listClusterAdminCredential", operation="arm_get",
              action=NS + "/listClusterAdminCredential/action")
def list_admin_credential(sb, req: Request) -> Response:
    return _credentials(sb, req, "clusterAdmin")
