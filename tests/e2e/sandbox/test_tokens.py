"""Entra and tokens in the sandbox, through the real clients over HTTPS: a token request for a resource the sandbox
does not serve is Entra's invalid_resource (AADSTS500011, naming the scopes to use) at the token endpoint and at
IMDS; the descriptor names every plane's scope and a ready `az cloud register` line; the published JWKS verifies
tokens with PyJWT; ARM, Key Vault and Batch refuse tokens that are not yet valid, from another issuer or tenant, or
that carry no object id, with 401 and their own error shapes (never 500); and only a caller with rights on the
cluster, or the sandbox's admin, mints AKS or GitHub OIDC tokens."""

from __future__ import annotations

import re
import shlex
import ssl
import time
import uuid

import jwt
import pytest
from azure.batch import BatchClient
from azure.core import PipelineClient
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.rest import HttpRequest
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient
from azure.mgmt.resource.resources import ResourceManagementClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from wizard.azure.clients import AzureClients, make_credential
from wizard.sandbox import directory
from wizard.sandbox.providers.imds import register_caller
from wizard.sandbox.providers.oidc_mint import AKS_MINT_ACTION
from wizard.sandbox.seed import assign

READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
ARM = "https://management.azure.com"
ENTRA_KEYS = {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"}


class StaticCredential:
    """Hands the SDK one prepared token, whatever it asks for: a client presenting a token it crafted."""

    def __init__(self, token: str):
        self.token = token

    def get_token(self, *scopes, **kwargs) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)

    def get_token_info(self, *scopes, options=None) -> AccessTokenInfo:
        return AccessTokenInfo(self.token, int(time.time()) + 3600)


def _resign(sandbox, token: str, drop: tuple[str, ...] = (), key=None, **changes) -> str:
    """`token`'s claims changed (and some dropped), signed again with the tenant's own key (or `key`)."""
    claims = {k: v for k, v in jwt.decode(token, options={"verify_signature": False}).items() if k not in drop}
    claims.update(changes)
    if key is None:
        key = serialization.load_pem_private_key((sandbox.data_dir / "signing.key").read_bytes(), password=None)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": sandbox.issuer.kid})


def _pipeline(profile, base_url: str) -> PipelineClient:
    return PipelineClient(base_url, **profile.transport_kwargs())


def _assert_entra_error(response, error: str, code: int, correlation_id: str) -> dict:
    body = response.json()
    assert response.status_code == 400 and ENTRA_KEYS <= body.keys(), body
    assert (body["error"], body["error_codes"], body["correlation_id"]) == (error, [code], correlation_id)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", body["timestamp"]) and uuid.UUID(body["trace_id"])
    assert body["error_uri"].endswith(f"?code={code}")
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert f"Trace ID: {body['trace_id']} Correlation ID: {correlation_id}" in body["error_description"]
    return body


# ---- which resources, which scopes ---------------------------------------------------------------------------------
def test_a_token_for_a_resource_the_sandbox_does_not_serve_is_invalid_resource(sandbox, profile, credential):
    # A blind client guesses that the sandbox's own URL is its audience: Entra's refusal names the scopes to use.
    with pytest.raises(ClientAuthenticationError) as err:
        credential.get_token(f"{sandbox.arm_url}/.default")
    message = str(err.value)
    assert "AADSTS500011" in message and f"The resource principal named {sandbox.arm_url} was not found" in message
    assert "arm_scope 'https://management.azure.com/.default'" in message
    assert "keyvault_scope 'https://vault.azure.net/.default'" in message
    # The body is Entra's, correlated with the client's request id as Entra does.
    correlation = str(uuid.uuid4())
    op = sandbox.operator()
    request = HttpRequest("POST", f"{sandbox.authority}/{sandbox.tenant_id}/oauth2/v2.0/token", headers={"client-request-id": correlation},
                          data={"grant_type": "client_credentials", "client_id": op["clientId"],
                                "client_secret": op["clientSecret"], "scope": "https://example.com/api/.default"})
    response = _pipeline(profile, sandbox.authority).send_request(request)
    body = _assert_entra_error(response, "invalid_resource", 500011, correlation)
    assert "https://example.com/api" in body["error_description"]


def test_imds_refuses_an_unknown_resource_in_entras_shape(sandbox, profile, az):
    identity = az.msi.user_assigned_identities.create_or_update("rg-prefect-demo", "id-imds-probe",
                                                               {"location": "eastus"})
    base = register_caller(sandbox, "test-caller", [identity.id])
    client = _pipeline(profile, base)
    correlation = str(uuid.uuid4())
    response = client.send_request(HttpRequest(
        "GET", f"{base}/metadata/identity/oauth2/token", headers={"Metadata": "true", "client-request-id": correlation},
        params={"api-version": "2018-02-01", "resource": sandbox.arm_url}))
    _assert_entra_error(response, "invalid_resource", 500011, correlation)
    known = client.send_request(HttpRequest("GET", f"{base}/metadata/identity/oauth2/token", headers={"Metadata": "true"},
                                            params={"api-version": "2018-02-01",
                                                    "resource": "https://batch.core.windows.net/"}))
    assert known.status_code == 200 and known.json()["client_id"] == identity.client_id


def test_the_descriptor_names_each_planes_scope_and_an_az_cloud_register_line(sandbox, profile, sub_id):
    d = sandbox.descriptor()
    assert (d["arm_scope"], d["keyvault_scope"], d["batch_scope"], d["storage_scope"]) == (
        "https://management.azure.com/.default", "https://vault.azure.net/.default",
        "https://batch.core.windows.net//.default", "https://storage.azure.com/.default")
    credential = ClientSecretCredential(d["tenant_id"], d["client_id"], d["client_secret"], authority=d["authority_url"],
                                        disable_instance_discovery=True,
                                        connection_verify=d["ca_bundle"])
    expected = {"arm_scope": ARM, "keyvault_scope": "https://vault.azure.net", "storage_scope": "https://storage.azure.com",
                "batch_scope": "https://batch.core.windows.net/"}
    for name, audience in expected.items():
        assert jwt.decode(credential.get_token(d[name]).token, options={"verify_signature": False})["aud"] == audience
    argv = shlex.split(d["az_cloud_register"])
    flags = dict(zip(argv[3::2], argv[4::2], strict=True))
    assert argv[:3] == ["az", "cloud", "register"] and flags["--endpoint-resource-manager"] == f"{d['arm_url']}/"
    assert flags["--endpoint-active-directory"] == d["authority_url"]
    assert d["az_env"] == {"REQUESTS_CA_BUNDLE": d["ca_bundle"], "AZURE_CORE_INSTANCE_DISCOVERY": "false"}
    # az asks for its active-directory resource id + "/.default": ARM accepts that token.
    az_scope = flags["--endpoint-active-directory-resource-id"] + "/.default"
    client = ResourceManagementClient(credential, sub_id, base_url=d["arm_url"], credential_scopes=[az_scope],
                                      connection_verify=d["ca_bundle"])
    assert any(g.name == "rg-prefect-demo" for g in client.resource_groups.list())


def test_the_published_jwks_verifies_the_tenants_tokens_with_pyjwt(sandbox, profile, credential):
    discovery = _pipeline(profile, sandbox.authority).send_request(
        HttpRequest("GET", f"{sandbox.authority}/{sandbox.tenant_id}/v2.0/.well-known/openid-configuration")).json()
    ctx = ssl.create_default_context(cafile=str(sandbox.ca_path))
    token = credential.get_token(f"{ARM}/.default").token
    key = jwt.PyJWKClient(discovery["jwks_uri"], ssl_context=ctx).get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key, algorithms=["RS256"], audience=ARM,
                        issuer=f"https://sts.windows.net/{sandbox.tenant_id}/")
    assert (claims["oid"], claims["tid"]) == (sandbox.operator()["objectId"], sandbox.tenant_id)


# ---- what ARM, Key Vault and Batch accept ----------------------------------------------------------------------------
def test_arm_refuses_tokens_not_yet_valid_from_another_issuer_or_tenant_or_without_an_object_id(
        sandbox, profile, credential, sub_id):
    good = credential.get_token(f"{ARM}/.default").token
    other_tenant = str(uuid.uuid4())
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    cases = {
        "not yet valid": (_resign(sandbox, good, nbf=now + 3600), "InvalidAuthenticationToken", "not valid yet"),
        "other issuer": (_resign(sandbox, good, iss=f"https://sts.windows.net/{other_tenant}/"),
                         "InvalidAuthenticationTokenTenant", "from the wrong issuer"),
        "other tenant": (_resign(sandbox, good, tid=other_tenant), "InvalidAuthenticationTokenTenant",
                         f"'https://sts.windows.net/{sandbox.tenant_id}/' associated with this subscription"),
        "no oid": (_resign(sandbox, good, drop=("oid",)), "InvalidAuthenticationToken",
                   "at least one of the claims 'puid' or 'altsecid' or 'oid' should be present"),
        "no tid": (_resign(sandbox, good, drop=("tid",)), "InvalidAuthenticationToken", "no 'tid' claim"),
        "forged": (_resign(sandbox, good, key=stranger), "InvalidAuthenticationToken", "signature"),
    }
    for case, (token, code, words) in cases.items():
        client = ResourceManagementClient(StaticCredential(token), sub_id, base_url=sandbox.arm_url,
                                          credential_scopes=[f"{ARM}/.default"], **profile.transport_kwargs())
        with pytest.raises(ClientAuthenticationError) as err:
            list(client.resource_groups.list())
        assert (err.value.status_code, err.value.error.code) == (401, code), case
        assert words in err.value.error.message, (case, err.value.error.message)
        challenge = err.value.response.headers["WWW-Authenticate"]
        assert challenge.startswith(f'Bearer authorization_uri="{sandbox.authority}"') and 'error="invalid_token"' \
            in challenge, case
    # Clocks differ by a little: a token valid from a minute from now is accepted, as Azure allows 5 minutes' skew.
    skewed = ResourceManagementClient(StaticCredential(_resign(sandbox, good, nbf=now + 60)), sub_id,
                                      base_url=sandbox.arm_url, credential_scopes=[f"{ARM}/.default"],
                                      **profile.transport_kwargs())
    assert any(g.name == "rg-prefect-demo" for g in skewed.resource_groups.list())


def test_key_vault_and_batch_refuse_a_token_without_an_object_id_with_401(sandbox, profile, credential, az):
    vault_token = _resign(sandbox, credential.get_token("https://vault.azure.net/.default").token, drop=("oid",))
    secrets = SecretClient(sandbox.vault_url("kv-legacy-ap"), StaticCredential(vault_token),
                           verify_challenge_resource=False, **profile.transport_kwargs())
    with pytest.raises(ClientAuthenticationError) as err:
        secrets.get_secret("anything")
    assert err.value.status_code == 401 and err.value.response.json()["error"]["code"] == "Unauthorized"
    assert "'oid' should be present" in err.value.response.json()["error"]["message"]
    assert err.value.response.headers["WWW-Authenticate"].startswith("Bearer authorization=")
    batch_token = _resign(sandbox, credential.get_token("https://batch.core.windows.net//.default").token, drop=("oid",))
    endpoint = az.batch.batch_account.get("rg-batch-jobs", "contosobatch").account_endpoint
    batch = BatchClient(f"https://{endpoint}", StaticCredential(batch_token), **profile.transport_kwargs())
    with pytest.raises(HttpResponseError) as err:
        list(batch.list_pools())
    body = err.value.response.json()
    assert err.value.status_code == 401 and body["code"] == "AuthenticationFailed"
    assert "'oid' should be present" in {v["key"]: v["value"] for v in body["values"]}["AuthenticationErrorDetail"]


# ---- who may mint federated tokens --------------------------------------------------------------------------------
def _operator_clients(sandbox, profile, sub_id, name: str, role: str, scope: str) -> tuple[AzureClients, dict]:
    op = sandbox.add_operator(name, f"mi-wizard operator ({name})")
    assign(sandbox, scope, role, op["objectId"], f"{name}:{scope}")
    prof = profile.with_operator(op["clientId"], op["clientSecret"])
    return AzureClients(prof, make_credential(prof), sub_id), op


def _mint(clients: AzureClients, kind: str, **params):
    return clients.resources.send_request(HttpRequest("GET", f"/_sandbox/{kind}/token", params=params))


def test_only_callers_with_rights_on_the_cluster_mint_its_service_account_tokens(sandbox, profile, sub_id, az,
                                                                                  contributor_az):
    rg = f"/subscriptions/{sub_id}/resourceGroups/rg-aks-apps"
    cluster = f"{rg}/providers/Microsoft.ContainerService/managedClusters/aks-apps"
    reader, _ = _operator_clients(sandbox, profile, sub_id, "reader", READER, f"/subscriptions/{sub_id}")
    elsewhere, _ = _operator_clients(sandbox, profile, sub_id, "elsewhere", CONTRIBUTOR,
                                     f"/subscriptions/{sub_id}/resourceGroups/rg-platform")
    for clients, target in ((reader, cluster), (elsewhere, cluster), (reader, f"{rg}/providers/"
                            "Microsoft.ContainerService/managedClusters/aks-missing")):  # 403, not 404: no leak
        response = _mint(clients, "aks", clusterId=target, namespace="apps", serviceAccount="api")
        error = response.json()["error"]
        assert (response.status_code, error["code"]) == (403, "AuthorizationFailed"), response.text()
        assert f"perform action '{AKS_MINT_ACTION}' over scope '{target}'" in error["message"]
    # Whoever may read the cluster's admin kubeconfig may create a token for any of its service accounts, in Azure
    # as here: the Owner, and a Contributor of the cluster.
    for clients in (az, contributor_az):
        response = _mint(clients, "aks", clusterId=cluster, namespace="apps", serviceAccount="api")
        assert response.status_code == 200 and response.json()["token"].count(".") == 2


def test_only_the_sandbox_admin_mints_github_tokens(sandbox, profile, sub_id, az, contributor_az):
    reader, reader_op = _operator_clients(sandbox, profile, sub_id, "reader", READER, f"/subscriptions/{sub_id}")
    for clients in (contributor_az, reader):
        response = _mint(clients, "github", repository="contoso/app")
        error = response.json()["error"]
        assert (response.status_code, error["code"]) == (403, "AuthorizationFailed"), response.text()
        assert "to mint GitHub Actions tokens for repository 'contoso/app'" in error["message"]
    assert _mint(az, "github", repository="contoso/app").status_code == 200  # the descriptor's default operator
    directory.grant_sandbox_admin(sandbox.store, reader_op["objectId"])
    granted = _mint(reader, "github", repository="contoso/app", ref="refs/heads/main")
    claims = jwt.decode(granted.json()["value"], options={"verify_signature": False})
    assert granted.status_code == 200 and claims["sub"] == "repo:contoso/app:ref:refs/heads/main"
