"""AKS workload identity and GitHub OIDC federation in the sandbox, over HTTPS with the real SDK: managed clusters
through azure-mgmt-resource's generic client (OIDC issuer, workload identity, kubelet identity, LRO), the issuer's
discovery documents, the sandbox's token minting, and Entra's federated token exchange driven by azure-identity's
WorkloadIdentityCredential / ClientAssertionCredential (match, AADSTS70021 on subject/audience/issuer mismatch,
AADSTS700024 expired, AADSTS700027 forged, propagation window, deleted cluster)."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from azure.identity import ClientAssertionCredential, WorkloadIdentityCredential
from azure.keyvault.secrets import SecretClient
from cryptography.hazmat.primitives.asymmetric import rsa

from wizard.azure.clients import AzureClients, make_credential
from wizard.azure.profiles import sandbox_profile
from wizard.sandbox import running_sandbox
from wizard.sandbox.providers import oidc
from wizard.sandbox.seed import assign
from wizard.sandbox.tokens import b64url

AKS_API, RG, LOC = "2025-07-01", "rg-aks-apps", "westus2"
EXCHANGE = "api://AzureADTokenExchange"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
VAULT_SCOPE = "https://vault.azure.net/.default"


def _cluster_id(sub_id: str, name: str, rg: str = RG) -> str:
    return f"/subscriptions/{sub_id}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}"


def _cluster_body(oidc_on: bool = True, workload: bool = True, pools=None) -> dict:
    props = {"kubernetesVersion": "1.33", "dnsPrefix": "apps",
             "agentPoolProfiles": pools or [{"name": "system", "count": 1, "vmSize": "Standard_D2s_v5",
                                             "mode": "System"}],
             "oidcIssuerProfile": {"enabled": oidc_on}, "securityProfile": {"workloadIdentity": {"enabled": workload}}}
    return {"location": LOC, "identity": {"type": "SystemAssigned"}, "properties": props}


def _put_cluster(az, sub_id, name, body, rg=RG):
    return az.resources.resources.begin_create_or_update_by_id(_cluster_id(sub_id, name, rg), body,
                                                               api_version=AKS_API).result()


def _send(az, method: str, path: str, **params):
    return az.resources.send_request(HttpRequest(method, path, params=params))


def _mint_sa(az, cluster_id: str, namespace: str = "apps", account: str = "api", **extra) -> str:
    response = _send(az, "GET", "/_sandbox/aks/token", clusterId=cluster_id, namespace=namespace,
                     serviceAccount=account, **extra)
    assert response.status_code == 200, response.text()
    return response.json()["token"]


def _mint_github(az, **params) -> str:
    response = _send(az, "POST", "/_sandbox/github/token", **params)
    assert response.status_code == 200, response.text()
    return response.json()["value"]


def _claims(token: str) -> dict:
    return oidc.decode_unverified(token)[1]


def _federated_identity(az, name: str, issuer: str, subject: str, audiences=(EXCHANGE,), fic: str = "fic-main"):
    identity = az.msi.user_assigned_identities.create_or_update(RG, name, {"location": LOC})
    az.msi.federated_identity_credentials.create_or_update(
        RG, name, fic, {"properties": {"issuer": issuer, "subject": subject, "audiences": list(audiences)}})
    return identity


def _seeded_issuer(az, sub_id) -> str:
    cluster = az.resources.resources.get_by_id(_cluster_id(sub_id, "aks-apps"), api_version=AKS_API)
    return cluster.properties["oidcIssuerProfile"]["issuerURL"]


def _assertion_credential(sandbox, profile, client_id: str, token: str) -> ClientAssertionCredential:
    return ClientAssertionCredential(sandbox.tenant_id, client_id, lambda: token, authority=sandbox.authority,
                                     **profile.transport_kwargs())


def _refusal(sandbox, profile, client_id: str, token: str) -> str:
    with pytest.raises(ClientAuthenticationError) as err:
        _assertion_credential(sandbox, profile, client_id, token).get_token(VAULT_SCOPE)
    return str(err.value)


def _https_json(sandbox, url: str) -> tuple[int, dict]:
    ctx = ssl.create_default_context(cafile=str(sandbox.ca_path))
    try:
        with urllib.request.urlopen(url, context=ctx) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


# ---- managed clusters -----------------------------------------------------------------------------------
def test_cluster_create_is_lro_with_oidc_issuer_workload_identity_and_kubelet_identity(sandbox, az, sub_id):
    cid = _cluster_id(sub_id, "aks-new")
    with sandbox.realism.hold("lro:aks_create"):  # in progress for as long as the test looks
        poller = az.resources.resources.begin_create_or_update_by_id(cid, _cluster_body(), api_version=AKS_API)
        assert az.resources.resources.get_by_id(cid, api_version="2024-02-01").properties["provisioningState"] == \
            "Creating"
    cluster = poller.result()
    props = cluster.properties
    assert (cluster.type, props["provisioningState"]) == ("Microsoft.ContainerService/ManagedClusters", "Succeeded")
    issuer = props["oidcIssuerProfile"]["issuerURL"]
    assert props["oidcIssuerProfile"]["enabled"] is True
    assert issuer.startswith(f"{sandbox.arm_url}/oidc/{sandbox.tenant_id}/") and issuer.endswith("/")
    assert props["securityProfile"]["workloadIdentity"] == {"enabled": True}
    assert props["fqdn"].endswith(f".hcp.{LOC}.azmk8s.io") and props["currentKubernetesVersion"].startswith("1.33.")
    assert cluster.identity.type == "SystemAssigned" and cluster.identity.principal_id
    kubelet = props["identityProfile"]["kubeletidentity"]
    node_group = props["nodeResourceGroup"]
    assert node_group == f"MC_{RG}_aks-new_{LOC}"
    assert az.msi.user_assigned_identities.get(node_group, "aks-new-agentpool").client_id == kubelet["clientId"]
    first = [c for c in sandbox.arm_calls() if c.method == "PUT"][-1]
    assert first.status == 201
    # An update keeps the issuer (AKS never changes it) and answers 200.
    again = _put_cluster(az, sub_id, "aks-new", _cluster_body())
    assert again.properties["oidcIssuerProfile"]["issuerURL"] == issuer
    assert [c for c in sandbox.arm_calls() if c.method == "PUT"][-1].status == 200
    by_group = _send(az, "GET", f"/subscriptions/{sub_id}/resourceGroups/{RG}/providers/Microsoft.ContainerService/"
                     "managedClusters", **{"api-version": AKS_API}).json()
    by_sub = _send(az, "GET", f"/subscriptions/{sub_id}/providers/Microsoft.ContainerService/managedClusters",
                   **{"api-version": AKS_API}).json()
    assert {c["name"] for c in by_group["value"]} == {"aks-apps", "aks-new"} and "nextLink" not in by_group
    assert {"aks-apps", "aks-new"} <= {c["name"] for c in by_sub["value"]}


def test_cluster_issuer_discovery_and_jwks_verify_minted_tokens(sandbox, az, sub_id):
    issuer = _seeded_issuer(az, sub_id)
    status, discovery = _https_json(sandbox, issuer + ".well-known/openid-configuration")
    assert status == 200 and discovery["issuer"] == issuer
    assert discovery["jwks_uri"] == issuer + "openid/v1/jwks"
    status, jwks = _https_json(sandbox, discovery["jwks_uri"])
    token = _mint_sa(az, _cluster_id(sub_id, "aks-apps"), "payments", "worker")
    header, claims = oidc.decode_unverified(token)
    assert status == 200 and header["kid"] in {k["kid"] for k in jwks["keys"]} and header["alg"] == "RS256"
    assert claims["iss"] == issuer and claims["sub"] == "system:serviceaccount:payments:worker"
    assert claims["aud"] == [EXCHANGE] and claims["exp"] - claims["iat"] == 3600
    assert claims["kubernetes.io"]["namespace"] == "payments"
    assert claims["kubernetes.io"]["serviceaccount"]["name"] == "worker"
    unknown = f"{sandbox.arm_url}/oidc/{sandbox.tenant_id}/00000000-0000-0000-0000-000000000000/"
    assert _https_json(sandbox, unknown + ".well-known/openid-configuration")[0] == 404


def test_cluster_rules(az, sub_id):
    with pytest.raises(HttpResponseError) as err:
        _put_cluster(az, sub_id, "aks-wi", _cluster_body(oidc_on=False, workload=True))
    assert err.value.error.code == "InvalidParameter"
    with pytest.raises(HttpResponseError) as err:
        _put_cluster(az, sub_id, "aks-user", _cluster_body(pools=[{"name": "user", "count": 1, "mode": "User"}]))
    assert err.value.error.code == "MustDefineAtLeastOneSystemPool"
    with pytest.raises(HttpResponseError) as err:
        _put_cluster(az, sub_id, "aks-apps", _cluster_body(oidc_on=False, workload=False))
    assert err.value.error.code == "OIDCIssuerFeatureCannotBeDisabled"
    with pytest.raises(HttpResponseError) as err:
        _put_cluster(az, sub_id, "-bad-", _cluster_body())
    assert err.value.error.code == "InvalidParameter"
    with pytest.raises(ResourceNotFoundError) as err:
        az.resources.resources.get_by_id(_cluster_id(sub_id, "aks-missing"), api_version=AKS_API)
    assert err.value.error.code == "ResourceNotFound"


def test_token_mint_refusals(sandbox, az, sub_id):
    _put_cluster(az, sub_id, "aks-plain", _cluster_body(oidc_on=False, workload=False))
    _put_cluster(az, sub_id, "aks-nowi", _cluster_body(oidc_on=True, workload=False))
    cases = [({"clusterId": _cluster_id(sub_id, "aks-apps"), "namespace": "apps"}, 400, "InvalidParameter"),
             ({"clusterId": _cluster_id(sub_id, "aks-apps"), "namespace": "Apps", "serviceAccount": "x"}, 400,
              "InvalidParameter"),
             ({"clusterId": _cluster_id(sub_id, "aks-gone"), "namespace": "a", "serviceAccount": "b"}, 404,
              "ResourceNotFound"),
             ({"clusterId": _cluster_id(sub_id, "aks-plain"), "namespace": "a", "serviceAccount": "b"}, 400,
              "OIDCIssuerNotEnabled"),
             ({"clusterId": _cluster_id(sub_id, "aks-nowi"), "namespace": "a", "serviceAccount": "b"}, 400,
              "WorkloadIdentityNotEnabled")]
    for params, status, code in cases:
        response = _send(az, "GET", "/_sandbox/aks/token", **params)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), params
    github = _send(az, "GET", "/_sandbox/github/token", repository="not-a-repo")
    assert (github.status_code, github.json()["error"]["code"]) == (400, "InvalidParameter")
    ctx = ssl.create_default_context(cafile=str(sandbox.ca_path))
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{sandbox.arm_url}/_sandbox/github/token?repository=a/b", context=ctx)
    assert err.value.code == 401


# ---- the federated exchange --------------------------------------------------------------------------------
def test_workload_identity_credential_reads_a_secret_end_to_end(sandbox, profile, az, sub_id, tmp_path):
    issuer = _seeded_issuer(az, sub_id)
    identity = _federated_identity(az, "id-api", issuer, "system:serviceaccount:apps:api")
    vault = az.keyvault.vaults.begin_create_or_update("rg-shared-secrets", "kv-wi-e2e", {
        "location": "eastus", "properties": {"tenantId": sandbox.tenant_id,
                                             "sku": {"family": "A", "name": "standard"}}}).result()
    assign(sandbox, vault.id, SECRETS_OFFICER, sandbox.operator()["objectId"], "officer:kv-wi-e2e")
    assign(sandbox, vault.id, SECRETS_USER, identity.principal_id, "user:kv-wi-e2e")
    az.secrets(vault.properties.vault_uri).set_secret("db-password", "s3cret-value")
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text(_mint_sa(az, _cluster_id(sub_id, "aks-apps"), "apps", "api"))
    credential = WorkloadIdentityCredential(tenant_id=sandbox.tenant_id, client_id=identity.client_id,
                                            token_file_path=str(token_file), authority=sandbox.authority,
                                            **profile.transport_kwargs())
    access = _claims(credential.get_token(VAULT_SCOPE).token)
    assert (access["oid"], access["appid"]) == (identity.principal_id, identity.client_id)
    assert access["xms_mirid"].lower() == identity.id.lower()
    secrets = SecretClient(vault.properties.vault_uri, credential, verify_challenge_resource=False,
                           **profile.transport_kwargs())
    assert secrets.get_secret("db-password").value == "s3cret-value"


def test_exchange_refuses_mismatches_forgeries_and_expired_assertions(sandbox, profile, az, sub_id):
    issuer = _seeded_issuer(az, sub_id)
    cid = _cluster_id(sub_id, "aks-apps")
    identity = _federated_identity(az, "id-strict", issuer, "system:serviceaccount:apps:api")
    client_id = identity.client_id
    message = _refusal(sandbox, profile, client_id, _mint_sa(az, cid, "apps", "other"))
    assert "AADSTS70021" in message and "Assertion Subject: 'system:serviceaccount:apps:other'" in message
    assert f"Assertion Issuer: '{issuer}'" in message
    message = _refusal(sandbox, profile, client_id, _mint_sa(az, cid, "apps", "api", audience="api://other"))
    assert "AADSTS70021" in message and "Assertion Audience: 'api://other'" in message
    cluster = {"properties": {"oidcIssuerProfile": {"issuerURL": issuer}}}
    expired, _ = oidc.mint_service_account_token(sandbox, cluster, "apps", "api", now=time.time() - 7200)
    assert "AADSTS700024" in _refusal(sandbox, profile, client_id, expired)
    # A token claiming the cluster's issuer but signed by another key; and an issuer the sandbox does not know.
    stranger = oidc.SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    forged = stranger.sign(dict(_claims(_mint_sa(az, cid, "apps", "api"))))
    assert "AADSTS700027" in _refusal(sandbox, profile, client_id, forged)
    foreign = stranger.sign({"iss": "https://oidc.example.com/", "sub": "system:serviceaccount:apps:api",
                             "aud": [EXCHANGE], "exp": int(time.time()) + 600, "iat": int(time.time())})
    assert "AADSTS70021" in _refusal(sandbox, profile, client_id, foreign)
    # The issuer is compared exactly: a credential written without AKS's trailing slash never matches.
    loose = _federated_identity(az, "id-noslash", issuer.rstrip("/"), "system:serviceaccount:apps:api")
    assert "AADSTS70021" in _refusal(sandbox, profile, loose.client_id, _mint_sa(az, cid, "apps", "api"))
    malformed = f"{b64url(b'{}')}.not-json"
    assert "AADSTS50027" in _refusal(sandbox, profile, client_id, malformed)
    # And the right assertion works for the same identity.
    token = _assertion_credential(sandbox, profile, client_id, _mint_sa(az, cid, "apps", "api")).get_token(VAULT_SCOPE)
    assert _claims(token.token)["oid"] == identity.principal_id


def test_a_deleted_clusters_issuer_is_no_longer_trusted(sandbox, profile, az, sub_id):
    az.resources.resource_groups.create_or_update("rg-aks-temp", {"location": LOC})
    cluster = _put_cluster(az, sub_id, "aks-temp", _cluster_body(), rg="rg-aks-temp")
    issuer = cluster.properties["oidcIssuerProfile"]["issuerURL"]
    identity = _federated_identity(az, "id-temp", issuer, "system:serviceaccount:apps:api")
    token = _mint_sa(az, cluster.id, "apps", "api")
    assert _assertion_credential(sandbox, profile, identity.client_id, token).get_token(VAULT_SCOPE).token
    az.resources.resource_groups.begin_delete("rg-aks-temp").result()
    assert "AADSTS90061" in _refusal(sandbox, profile, identity.client_id, token)


def test_github_oidc_branch_environment_tag_and_pull_request_subjects(sandbox, profile, az):
    identity = az.msi.user_assigned_identities.create_or_update(RG, "id-gh", {"location": LOC})
    fics = {"gh-main": "repo:contoso/app:ref:refs/heads/main", "gh-prod": "repo:contoso/app:environment:prod",
            "gh-pr": "repo:contoso/app:pull_request"}
    for name, subject in fics.items():
        az.msi.federated_identity_credentials.create_or_update(RG, "id-gh", name, {"properties": {
            "issuer": oidc.GITHUB_ISSUER, "subject": subject, "audiences": [EXCHANGE]}})
    main = _mint_github(az, repository="contoso/app", ref="refs/heads/main")
    assert _claims(main)["iss"] == "https://token.actions.githubusercontent.com"
    assert (_claims(main)["sub"], _claims(main)["aud"]) == ("repo:contoso/app:ref:refs/heads/main", EXCHANGE)
    prod = _mint_github(az, repository="contoso/app", ref="refs/heads/release", environment="prod")
    assert _claims(prod)["sub"] == "repo:contoso/app:environment:prod"
    pull = _mint_github(az, repository="contoso/app", eventName="pull_request")
    assert _claims(pull)["sub"] == "repo:contoso/app:pull_request"
    for token in (main, prod, pull):
        access = _claims(_assertion_credential(sandbox, profile, identity.client_id, token).get_token(
            "https://management.azure.com/.default").token)
        assert (access["oid"], access["appid"]) == (identity.principal_id, identity.client_id)
    tag = _mint_github(az, repository="contoso/app", ref="refs/tags/v1.2.0")
    assert _claims(tag)["sub"] == "repo:contoso/app:ref:refs/tags/v1.2.0"
    for refused in (tag, _mint_github(az, repository="contoso/app", ref="refs/heads/dev"),
                    _mint_github(az, repository="Contoso/App", ref="refs/heads/main")):  # matching is case-sensitive
        assert "AADSTS70021" in _refusal(sandbox, profile, identity.client_id, refused)
    status, jwks = _https_json(sandbox, f"{sandbox.arm_url}/_sandbox/github/.well-known/jwks")
    assert status == 200 and oidc.decode_unverified(main)[0]["kid"] in {k["kid"] for k in jwks["keys"]}


def test_a_new_federated_credential_is_honoured_only_after_propagation(sandbox, profile, az):
    identity = az.msi.user_assigned_identities.create_or_update(RG, "id-slow", {"location": LOC})
    body = {"properties": {"issuer": oidc.GITHUB_ISSUER, "subject": "repo:contoso/app:environment:prod",
                           "audiences": [EXCHANGE]}}
    token = _mint_github(az, repository="contoso/app", environment="prod")
    fics = az.msi.federated_identity_credentials
    with sandbox.realism.hold("federation_propagation", key=identity.id) as propagating:  # however long it takes
        fics.create_or_update(RG, "id-slow", "gh-prod", body)
        assert "AADSTS70021" in _refusal(sandbox, profile, identity.client_id, token)
        assert propagating.wait_reached(timeout=10)
    assert _assertion_credential(sandbox, profile, identity.client_id, token).get_token(VAULT_SCOPE).token
    # Re-writing the same credential does not restart its propagation; changing it (and back) does.
    with sandbox.realism.hold("federation_propagation", key=identity.id) as propagating:
        fics.create_or_update(RG, "id-slow", "gh-prod", body)
        assert _assertion_credential(sandbox, profile, identity.client_id, token).get_token(VAULT_SCOPE).token
        changed = {"properties": dict(body["properties"], subject="repo:contoso/app:pull_request")}
        fics.create_or_update(RG, "id-slow", "gh-prod", changed)
        fics.create_or_update(RG, "id-slow", "gh-prod", body)
        assert "AADSTS70021" in _refusal(sandbox, profile, identity.client_id, token)
        assert propagating.times == 1
    assert _assertion_credential(sandbox, profile, identity.client_id, token).get_token(VAULT_SCOPE).token


def test_issuer_url_keys_and_credentials_survive_a_restart(tmp_path):
    def clients(sb):
        prof = sandbox_profile(sb.descriptor())
        return prof, AzureClients(prof, make_credential(prof), sb.subscription_ids[0])

    with running_sandbox(tmp_path / "persistent", seed="demo") as first:
        _, az = clients(first)
        issuer = _seeded_issuer(az, first.subscription_ids[0])
        identity = _federated_identity(az, "id-lasting", issuer, "system:serviceaccount:apps:api")
        token = _mint_sa(az, _cluster_id(first.subscription_ids[0], "aks-apps"), "apps", "api")
    with running_sandbox(tmp_path / "persistent", seed="demo") as second:
        profile, az = clients(second)
        assert _seeded_issuer(az, second.subscription_ids[0]) == issuer  # a cluster's issuer never changes
        path = issuer.split("/oidc/", 1)[1]
        status, discovery = _https_json(second, f"{second.arm_url}/oidc/{path}.well-known/openid-configuration")
        assert status == 200 and discovery["issuer"] == issuer
        access = _assertion_credential(second, profile, identity.client_id, token).get_token(VAULT_SCOPE)
        assert _claims(access.token)["oid"] == identity.principal_id
