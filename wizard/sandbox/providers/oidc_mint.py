"""The sandbox-only endpoints that mint what a federated workload presents to Entra ID, and who may call them.

- `/_sandbox/aks/token?clusterId=&namespace=&serviceAccount=[&audience=&expirationSeconds=]` mints what the
  kubelet projects into a pod using workload identity; answers {"token", "expirationTimestamp"} (a TokenRequest
  status).
- `/_sandbox/github/token?repository=ORG/REPO[&ref=refs/heads/B|refs/tags/T][&environment=E]
  [&eventName=pull_request][&audience=]` mints a GitHub Actions OIDC token; answers {"value"} as the runner's
  ACTIONS_ID_TOKEN_REQUEST_URL does. Its subject is in the form the repository emits: repo:ORG@ID/REPO@ID:... for
  a repository marked as opted in to immutable subjects (github_repos.py), else repo:ORG/REPO:... .

Such a token is a key to every identity that trusts its issuer and subject, so the endpoints ask what the real
systems would ask (both need an ARM token; a refusal is ARM's 403 AuthorizationFailed):
- AKS: whoever can create a service-account token in the cluster. In Azure that is whoever may read the cluster's
  admin kubeconfig (`Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action` on the cluster):
  the admin credential is cluster-admin, and cluster-admin may create a TokenRequest for any service account. So an
  Owner or Contributor of the cluster may mint (as in Azure: Contributor there can impersonate its workloads), a
  Reader, or an operator with rights elsewhere only, may not.
- GitHub: whoever can run a workflow in the repository. The sandbox has no GitHub and no repositories, so that
  right belongs to the sandbox's admin: the operator its descriptor names by default (`operator`), or a principal
  given the right explicitly (`directory.grant_sandbox_admin`). Any other operator, Contributor or not, is refused.
"""

from __future__ import annotations

import re
import time

from .. import directory
from ..authz import require_action
from ..router import ARM, ArmError, Principal, Request, Response, router
from .oidc import (
    EXCHANGE_AUDIENCE,
    GITHUB_TOKEN_LIFETIME_S,
    SA_TOKEN_LIFETIME_S,
    mint_github_token,
    mint_service_account_token,
)

AKS_MINT_ACTION = "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action"
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SA_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def _params(req: Request) -> dict[str, str]:
    """Query parameters (keys lower-cased), overlaid by a JSON object body on POST."""
    params = dict(req.query)
    if req.method == "POST" and req.body:
        params.update({str(k).lower(): str(v) for k, v in req.json_object().items() if v is not None})
    return params


def _bad(message: str) -> ArmError:
    return ArmError(400, "InvalidParameter", message)


def _lifetime(raw: str | None, default: float) -> float:
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value <= 2**32:  # Kubernetes' TokenRequest limit; also refuses nan and inf
        raise _bad(f"expirationSeconds '{raw}' must be a positive number of seconds, at most 2^32.")
    return value


def _caller(req: Request) -> Principal:
    assert req.principal is not None, "the minting routes are authenticated"
    return req.principal


def _mint_aks(sb, req: Request) -> Response:
    params = _params(req)
    cluster_id, namespace, account = (params.get(k, "") for k in ("clusterid", "namespace", "serviceaccount"))
    if not cluster_id or not namespace or not account:
        raise _bad("clusterId, namespace and serviceAccount are required.")
    if not _K8S_NAME.match(namespace) or not _SA_NAME.match(account):
        raise _bad(f"'{namespace}/{account}' is not a valid Kubernetes namespace/service account name (lower-case "
                   "letters, digits and '-', starting and ending with a letter or digit).")
    # As ARM does: no rights on the scope asked for is a 403, whether or not the cluster exists.
    require_action(sb.store, _caller(req), AKS_MINT_ACTION, cluster_id.rstrip("/"))
    from .aks import require_cluster_by_id
    cluster = require_cluster_by_id(sb, cluster_id)
    if cluster["id"].lower() != cluster_id.rstrip("/").lower():  # judged on the cluster found, never a spelling
        require_action(sb.store, _caller(req), AKS_MINT_ACTION, cluster["id"])
    props = cluster["properties"]
    if not (props.get("oidcIssuerProfile") or {}).get("enabled"):
        raise ArmError(400, "OIDCIssuerNotEnabled", f"The cluster '{cluster['name']}' has no OIDC issuer: set "
                       "properties.oidcIssuerProfile.enabled=true, then read its issuerURL.")
    if not ((props.get("securityProfile") or {}).get("workloadIdentity") or {}).get("enabled"):
        raise ArmError(400, "WorkloadIdentityNotEnabled", f"The cluster '{cluster['name']}' does not run the workload "
                       "identity webhook, so no pod gets a projected token: set "
                       "properties.securityProfile.workloadIdentity.enabled=true.")
    token, exp = mint_service_account_token(sb, cluster, namespace, account,
                                            audience=params.get("audience") or EXCHANGE_AUDIENCE,
                                            lifetime_s=_lifetime(params.get("expirationseconds"), SA_TOKEN_LIFETIME_S))
    return Response(200, {"token": token, "expirationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp))})


def _mint_github(sb, req: Request) -> Response:
    params = _params(req)
    repository, ref = params.get("repository", ""), params.get("ref") or None
    caller = _caller(req)
    if not directory.is_sandbox_admin(sb.store, caller.object_id):
        raise ArmError(403, "AuthorizationFailed",
                       f"The client '{caller.app_id}' with object id '{caller.object_id}' does not have authorization "
                       f"to mint GitHub Actions tokens for repository '{repository}': in this sandbox only its admin "
                       "(the descriptor's default operator, or a principal granted sandbox admin) runs workflows.")
    if not _REPOSITORY.match(repository):
        raise _bad(f"repository '{repository}' must be ORG/REPO.")
    if ref is not None and not ref.startswith(("refs/heads/", "refs/tags/", "refs/pull/")):
        raise _bad(f"ref '{ref}' must be a full ref: refs/heads/BRANCH, refs/tags/TAG or refs/pull/N/merge.")
    token, _ = mint_github_token(sb, repository, ref=ref, environment=params.get("environment") or None,
                                 event_name=params.get("eventname") or "push",
                                 audience=params.get("audience") or EXCHANGE_AUDIENCE,
                                 lifetime_s=_lifetime(params.get("expirationseconds"), GITHUB_TOKEN_LIFETIME_S))
    return Response(200, {"value": token})


for _method in ("GET", "POST"):
    router.route(_method, "/_sandbox/aks/token", operation="sandbox_token_mint", plane=ARM,
                 needs_api_version=False)(_mint_aks)
    router.route(_method, "/_sandbox/github/token", operation="sandbox_token_mint", plane=ARM,
                 needs_api_version=False)(_mint_github)
