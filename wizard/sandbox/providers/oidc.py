"""OIDC issuers for workload identity federation: each AKS cluster's issuer and a GitHub Actions stand-in.

An AKS cluster with `oidcIssuerProfile.enabled` gets an issuer URL served by the sandbox itself,
`{arm_url}/oidc/{tenant}/{guid}/` (real ones look like https://{region}.oic.prod-aks.azure.com/{tenant}/{guid}/),
with its discovery document and JWKS at `{issuer}.well-known/openid-configuration` and `{issuer}openid/v1/jwks`.
The URL is fixed when the issuer is created, like a real cluster's, so federated credentials written against it
keep matching after the sandbox restarts on another port (the documents stay reachable by path).
GitHub's issuer is `https://token.actions.githubusercontent.com`; the sandbox holds a key for it.

Each issuer signs with its own RSA key (RS256 through PyJWT), kept in the store so tokens verify after a restart.
Entra checks a federated assertion as it does a real issuer's: against the issuer's JWKS document, by key id.
The sandbox-only endpoints that mint these tokens, and who may call them, are in oidc_mint.py; the GitHub
repositories whose tokens carry immutable subjects (repo:ORG@ID/REPO@ID:...), in github_repos.py.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any
from weakref import WeakKeyDictionary

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from ..arm import get
from ..router import ARM, LOGIN, ArmError, Request, Response, router
from ..tokens import EXCHANGE_AUDIENCE, b64url

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
ISSUER_KEY = "oidc_issuer_key"
"""Kind: issuer URL -> {"issuer", "pem"}."""
AKS_ISSUER = "aks_oidc_issuer"
"""Kind: issuer GUID -> {"guid", "issuer", "clusterId"}."""
SA_TOKEN_LIFETIME_S = 3600  # the workload identity webhook's default projected-token expiry
GITHUB_TOKEN_LIFETIME_S = 300
_SIGNATURE_ONLY = {"verify_signature": True, "verify_exp": False, "verify_nbf": False, "verify_iat": False,
                   "verify_aud": False, "verify_iss": False}
"""Entra judges an assertion's times, issuer and audience itself (login.py), with its own error for each."""


class SigningKey:
    """One issuer's RSA key: signs RS256 JWTs and publishes its JWKS."""

    def __init__(self, key: rsa.RSAPrivateKey):
        self._key = key
        n = key.public_key().public_numbers().n
        self.kid = b64url(hashlib.sha256(n.to_bytes((n.bit_length() + 7) // 8, "big")).digest())[:43]

    def sign(self, claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
        # typ=None: PyJWT adds "typ": "JWT" unless told not to; Kubernetes' tokens carry only alg and kid.
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"typ": None, "kid": self.kid, **(header or {})})

    def verifies(self, token: str) -> bool:
        """True when `token` is signed by this key (by its JWKS entry, as a relying party checks it)."""
        return verify_with_jwks(token, self.jwks())

    def jwks(self) -> dict[str, Any]:
        key = RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": key["n"], "e": key["e"]}]}


def verify_with_jwks(token: str, jwks: dict[str, Any]) -> bool:
    """True when `token`'s signature verifies with the key its header's `kid` names in `jwks` (RS256 only)."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        keys = [k for k in jwt.PyJWKSet.from_dict(jwks).keys if k.key_id == kid]
        if not keys:
            return False
        jwt.decode(token, keys[0], algorithms=["RS256"], options=_SIGNATURE_ONLY)
    except (jwt.PyJWTError, ValueError):
        return False
    return True


_loaded: WeakKeyDictionary[Any, dict[str, SigningKey]] = WeakKeyDictionary()
"""Keys already parsed, per store (parsing a PEM key validates it, which is slow)."""


def signing_key(sb, issuer: str) -> SigningKey:
    """The key `issuer` signs with, created on first use and kept in the store."""
    cache = _loaded.setdefault(sb.store, {})
    if issuer in cache:
        return cache[issuer]
    with sb.store.transaction():
        record = sb.store.get(ISSUER_KEY, issuer)
        if record is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
            sb.store.put(ISSUER_KEY, issuer, {"issuer": issuer, "pem": pem})
        else:
            key = serialization.load_pem_private_key(record["pem"].encode(), password=None)
    cache[issuer] = SigningKey(key)
    return cache[issuer]


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a compact JWT, without checking anything; ValueError if it is not one."""
    try:
        token = token.strip()
        return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as err:
        raise ValueError(f"not a JWT: {err}") from None


# ---- AKS issuers -------------------------------------------------------------------------------------------
def new_aks_issuer(sb, cluster_id: str, guid: str | None = None) -> str:
    """Create the OIDC issuer of a cluster; returns its URL (with the trailing slash, as AKS reports it)."""
    guid = guid or str(uuid.uuid4())
    issuer = f"{sb.arm_url}/oidc/{sb.tenant_id}/{guid}/"
    sb.store.put(AKS_ISSUER, guid, {"guid": guid, "issuer": issuer, "clusterId": cluster_id})
    return issuer


def _live_cluster_issuer(sb, record: dict[str, Any] | None) -> dict[str, Any] | None:
    """The record if its cluster still exists and still publishes this issuer."""
    if record is None:
        return None
    cluster = get(sb, record["clusterId"])
    profile = (cluster or {}).get("properties", {}).get("oidcIssuerProfile") or {}
    return record if profile.get("enabled") and profile.get("issuerURL") == record["issuer"] else None


def known_issuer(sb, issuer: str) -> bool:
    """True for the issuers whose keys the sandbox holds: GitHub's and every live cluster's."""
    if issuer == GITHUB_ISSUER:
        return True
    return any(_live_cluster_issuer(sb, r) for r in sb.store.list(AKS_ISSUER) if r["issuer"] == issuer)


@router.route("GET", "/oidc/{tenant}/{guid}/.well-known/openid-configuration", operation="oidc_discovery",
              plane=LOGIN, needs_api_version=False, authenticated=False)
def aks_discovery(sb, req: Request) -> Response:
    record = _require_aks_issuer(sb, req)
    base = f"{sb.arm_url}/oidc/{req.params['tenant']}/{req.params['guid']}/"
    return Response(200, {"issuer": record["issuer"], "jwks_uri": base + "openid/v1/jwks",
                          "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
                          "id_token_signing_alg_values_supported": ["RS256"]})


@router.route("GET", "/oidc/{tenant}/{guid}/openid/v1/jwks", operation="oidc_discovery", plane=LOGIN,
              needs_api_version=False, authenticated=False)
def aks_jwks(sb, req: Request) -> Response:
    record = _require_aks_issuer(sb, req)
    return Response(200, signing_key(sb, record["issuer"]).jwks())


def _require_aks_issuer(sb, req: Request) -> dict[str, Any]:
    record = _live_cluster_issuer(sb, sb.store.get(AKS_ISSUER, req.params["guid"]))
    if record is None or req.params["tenant"].lower() != sb.tenant_id.lower():
        raise ArmError(404, "NotFound", "404 page not found", body={"error": "404 page not found"})
    return record


# ---- minting ----------------------------------------------------------------------------------------------
def mint_service_account_token(sb, cluster: dict[str, Any], namespace: str, service_account: str, *,
                               audience: str = EXCHANGE_AUDIENCE, lifetime_s: float = SA_TOKEN_LIFETIME_S,
                               now: float | None = None) -> tuple[str, int]:
    """A projected service-account token of `cluster` (its issuer must be enabled): (jwt, exp)."""
    issuer = cluster["properties"]["oidcIssuerProfile"]["issuerURL"]
    now = time.time() if now is None else now
    exp = int(now + lifetime_s)
    pod = f"{service_account}-{uuid.uuid4().hex[:5]}"
    claims = {"aud": [audience], "exp": exp, "iat": int(now), "nbf": int(now), "iss": issuer,
              "jti": str(uuid.uuid4()),
              "kubernetes.io": {"namespace": namespace,
                                "node": {"name": "aks-nodepool1-00000000-vmss000000", "uid": str(uuid.uuid4())},
                                "pod": {"name": pod, "uid": str(uuid.uuid4())},
                                "serviceaccount": {"name": service_account, "uid": str(uuid.uuid5(
                                    uuid.NAMESPACE_URL, f"{issuer}{namespace}/{service_account}"))}},
              "sub": f"system:serviceaccount:{namespace}:{service_account}"}
    return signing_key(sb, issuer).sign(claims), exp


def github_subject(repository: str, *, ref: str | None = None, environment: str | None = None,
                   event_name: str = "push") -> str:
    """GitHub's default `sub`: an environment wins, then a pull_request event, then the ref. `repository` is
    ORG/REPO, or ORG@ID/REPO@ID for a repository with immutable subjects (github_repos.subject_repository)."""
    if environment:
        return f"repo:{repository}:environment:{environment}"
    if event_name == "pull_request":
        return f"repo:{repository}:pull_request"
    return f"repo:{repository}:ref:{ref or 'refs/heads/main'}"


def mint_github_token(sb, repository: str, *, ref: str | None = None, environment: str | None = None,
                      event_name: str = "push", audience: str = EXCHANGE_AUDIENCE,
                      lifetime_s: float = GITHUB_TOKEN_LIFETIME_S, now: float | None = None) -> tuple[str, int]:
    """A GitHub Actions OIDC token for a job of `repository` (ORG/REPO): (jwt, exp). Its subject is in the form
    the repository emits: immutable (with the ids) when it is marked so, else the name form."""
    from .github_repos import repository_record, subject_repository
    now = time.time() if now is None else now
    exp = int(now + lifetime_s)
    ref = ref or ("refs/pull/1/merge" if event_name == "pull_request" else "refs/heads/main")
    owner = repository.split("/", 1)[0]
    record = repository_record(sb, repository)
    workflow_ref = f"{repository}/.github/workflows/deploy.yml@{ref}"
    claims = {"jti": str(uuid.uuid4()), "sub": github_subject(subject_repository(sb, repository), ref=ref,
                                                              environment=environment, event_name=event_name),
              "aud": audience, "ref": ref, "sha": uuid.uuid4().hex + uuid.uuid4().hex[:8],
              "repository": repository, "repository_owner": owner, "repository_visibility": "private",
              "repository_id": str(record["repositoryId"]), "repository_owner_id": str(record["ownerId"]),
              "run_id": str(int(now)), "run_number": "1", "run_attempt": "1", "actor": "sandbox-user",
              "actor_id": "1", "workflow": "deploy", "workflow_ref": workflow_ref, "job_workflow_ref": workflow_ref,
              "event_name": event_name, "ref_type": "tag" if ref.startswith("refs/tags/") else "branch",
              "ref_protected": "false", "head_ref": "", "base_ref": "", "runner_environment": "github-hosted",
              "iss": GITHUB_ISSUER, "nbf": int(now) - 5, "exp": exp, "iat": int(now)}
    if environment:
        claims["environment"] = environment
    key = signing_key(sb, GITHUB_ISSUER)
    return key.sign(claims, {"typ": "JWT", "x5t": key.kid[:27]}), exp


@router.route("GET", "/_sandbox/github/.well-known/openid-configuration", operation="oidc_discovery", plane=ARM,
              needs_api_version=False, authenticated=False)
def github_discovery(sb, req: Request) -> Response:
    return Response(200, {"issuer": GITHUB_ISSUER, "jwks_uri": f"{sb.arm_url}/_sandbox/github/.well-known/jwks",
                          "subject_types_supported": ["public", "pairwise"], "response_types_supported": ["id_token"],
                          "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository",
                                               "environment", "event_name", "ref_type", "job_workflow_ref"],
                          "id_token_signing_alg_values_supported": ["RS256"],
                          "scopes_supported": ["openid", "repo", "repository_owner", "environment"]})


@router.route("GET", "/_sandbox/github/.well-known/jwks", operation="oidc_discovery", plane=ARM,
              needs_api_version=False, authenticated=False)
def github_jwks(sb, req: Request) -> Response:
    return Response(200, signing_key(sb, GITHUB_ISSUER).jwks())


# GitHub's repositories (ids, immutable subjects) and the minting endpoints (they use this module's functions).
from . import github_repos, oidc_mint  # noqa: E402,F401
