"""Holds: a test keeps a propagation window or a long-running operation open for as long as it likes, then lets
it go, instead of racing a wall-clock window (`Realism.hold`). Each hold is shown through the real SDK clients:
the sandbox answers "not yet" every time it is asked while the hold is on (with no time window configured at all),
`hold.wait_reached()` tells the test it has been asked, and the first request after `release()` sees it done.
Nothing here sleeps; the only timeouts are failure bounds.
"""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

from wizard.azure.clients import AzureClients
from wizard.sandbox.providers import oidc
from wizard.sandbox.realism import Realism
from wizard.sandbox.seed import assign

from .test_aci import _body
from .test_aks_federation import EXCHANGE, VAULT_SCOPE, _assertion_credential, _mint_github, _refusal
from .test_keyvault_data import IssuedCredential

RG, LOC = "rg-prefect-demo", "eastus"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def _assignment(sub_id: str, role: str, principal_id: str, principal_type: str | None = None) -> dict:
    props = {"roleDefinitionId": f"/subscriptions/{sub_id}/providers/Microsoft.Authorization/roleDefinitions/{role}",
             "principalId": principal_id}
    if principal_type:
        props["principalType"] = principal_type
    return {"properties": props}


def _vault_with_secret(az, sandbox, name: str, **props) -> object:
    params = {"location": LOC, "properties": {"tenantId": sandbox.tenant_id, "sku": {"family": "A", "name": "standard"},
                                              **props}}
    vault = az.keyvault.vaults.begin_create_or_update(RG, name, params).result()
    az.keyvault.secrets.create_or_update(RG, name, "git-token", {"properties": {"value": "t0ken"}})
    return vault


def _workload(az, profile, sandbox, name: str):
    identity = az.msi.user_assigned_identities.create_or_update(RG, name, {"location": LOC})
    return identity, AzureClients(profile, IssuedCredential(sandbox, identity.principal_id, identity.client_id),
                                  az.subscription_id)


def _inner(err: pytest.ExceptionInfo) -> str:
    return (err.value.error.innererror or {}).get("code", "")


# ---- the mechanism itself ---------------------------------------------------------------------------------------
def test_pending_judges_windows_and_holds_in_one_place():
    realism, t0 = Realism(), 1_000.0
    assert realism.pending("rbac_propagation", t0, 30.0, now=t0 + 29) and not realism.pending(
        "rbac_propagation", t0, 30.0, now=t0 + 30)  # nothing held: the seconds alone, as before
    hold = realism.hold("rbac_propagation", key="AAAA", since=t0 + 10)
    assert realism.pending("rbac_propagation", t0, 30.0, key="aaaa", now=t0 + 10_000)  # not effective by `since`
    assert not realism.pending("rbac_propagation", t0 - 50, 30.0, key="aaaa", now=t0 + 31)  # effective before it
    assert not realism.pending("rbac_propagation", t0, 30.0, key="bbbb", now=t0 + 31)  # another principal
    assert not realism.pending("principal_not_found", t0, 30.0, key="aaaa", now=t0 + 31)  # another window
    assert realism.pending("rbac_propagation", t0, 30.0, key="aaaa", now=t0 + 31, observe=False) and hold.times == 1
    assert hold.wait_reached(timeout=0) and not hold.wait_reached(timeout=0, times=2)
    hold.release()
    hold.release()  # idempotent
    assert not realism.pending("rbac_propagation", t0, 30.0, key="aaaa", now=t0 + 31)
    with realism.hold("lro:aci_create", since=0) as everything:
        assert realism.held("lro:aci_create") and realism.pending("lro:aci_create", 0.0, 0.0)
    assert everything.released.is_set() and not realism.held("lro:aci_create")


@pytest.mark.parametrize(("name", "message"), [
    ("rbac_propogation", "cannot hold 'rbac_propogation': use one of rbac_propagation"),
    ("lro:aci_creat", "an operation among keyvault_create"),
    ("lro:", "cannot hold 'lro:'"),
])
def test_hold_names_are_checked(name, message):
    with pytest.raises(ValueError) as err:
        Realism().hold(name)
    assert message in str(err.value)


# ---- rbac_propagation -----------------------------------------------------------------------------------------
def test_a_held_rbac_grant_is_refused_until_released(az, profile, sandbox, sub_id):
    vault = _vault_with_secret(az, sandbox, "kv-held-grant")
    identity, workload = _workload(az, profile, sandbox, "id-held-grant")
    client = workload.secrets(vault.properties.vault_uri)
    assert sandbox.realism.rbac_propagation_s == 0  # no time window: only the hold keeps the grant out
    with sandbox.realism.hold("rbac_propagation") as hold:
        az.authorization.role_assignments.create(vault.id, str(uuid.uuid4()), _assignment(
            sub_id, SECRETS_USER, identity.principal_id, "ServicePrincipal"))
        for _ in range(3):  # however often it is asked
            with pytest.raises(HttpResponseError) as err:
                client.get_secret("git-token")
            assert err.value.status_code == 403 and _inner(err) == "ForbiddenByRbac"
            assert "please observe propagation time" in err.value.error.message
        assert hold.wait_reached(timeout=10, times=3)
    assert client.get_secret("git-token").value == "t0ken"


def test_a_held_access_policy_change_keeps_the_old_permissions(az, profile, sandbox):
    identity, workload = _workload(az, profile, sandbox, "id-held-policy")
    vault = _vault_with_secret(az, sandbox, "kv-held-policy", enableRbacAuthorization=False, accessPolicies=[])
    client = workload.secrets(vault.properties.vault_uri)
    hold = sandbox.realism.hold("rbac_propagation", key=identity.principal_id)
    az.keyvault.vaults.update_access_policy(RG, "kv-held-policy", "add", {"properties": {"accessPolicies": [
        {"tenantId": sandbox.tenant_id, "objectId": identity.principal_id, "permissions": {"secrets": ["get"]}}]}})
    with pytest.raises(HttpResponseError) as err:
        client.get_secret("git-token")
    assert _inner(err) == "AccessDenied" and hold.wait_reached(timeout=10)
    hold.release()
    assert client.get_secret("git-token").value == "t0ken"


# ---- principal_not_found ----------------------------------------------------------------------------------------
def test_a_held_identity_is_unknown_to_role_assignments_until_released(az, sandbox, sub_id):
    ras, scope = az.authorization.role_assignments, f"/subscriptions/{sub_id}/resourceGroups/{RG}"
    earlier = az.msi.user_assigned_identities.create_or_update(RG, "id-earlier", {"location": LOC})
    with sandbox.realism.hold("principal_not_found") as hold:
        fresh = az.msi.user_assigned_identities.create_or_update(RG, "id-held", {"location": LOC})
        for _ in range(2):
            with pytest.raises(HttpResponseError) as err:
                ras.create(scope, str(uuid.uuid4()), _assignment(sub_id, READER, fresh.principal_id))
            assert (err.value.status_code, err.value.error.code) == (400, "PrincipalNotFound")
        assert hold.wait_reached(timeout=10, times=2)
        # Azure's documented fix still works while held, and is not counted as a refusal.
        typed = ras.create(scope, str(uuid.uuid4()), _assignment(sub_id, SECRETS_USER, fresh.principal_id,
                                                                 "ServicePrincipal"))
        assert typed.principal_type == "ServicePrincipal" and hold.times == 2
        # An identity that had replicated before the hold is not touched by it.
        ras.create(scope, str(uuid.uuid4()), _assignment(sub_id, READER, earlier.principal_id))
    assert ras.create(scope, str(uuid.uuid4()), _assignment(sub_id, READER, fresh.principal_id)).principal_type == \
        "ServicePrincipal"


def test_a_hold_reaches_back_to_an_identity_created_before_it(az, sandbox, sub_id):
    ras, scope = az.authorization.role_assignments, f"/subscriptions/{sub_id}/resourceGroups/{RG}"
    target = az.msi.user_assigned_identities.create_or_update(RG, "id-target", {"location": LOC})
    other = az.msi.user_assigned_identities.create_or_update(RG, "id-untouched", {"location": LOC})
    with sandbox.realism.hold("principal_not_found", key=target.principal_id, since=0) as hold:
        with pytest.raises(HttpResponseError) as err:
            ras.create(scope, str(uuid.uuid4()), _assignment(sub_id, READER, target.principal_id))
        assert err.value.error.code == "PrincipalNotFound" and hold.reached.is_set()
        ras.create(scope, str(uuid.uuid4()), _assignment(sub_id, READER, other.principal_id))
    ras.create(scope, str(uuid.uuid4()), _assignment(sub_id, READER, target.principal_id))


# ---- federation_propagation -------------------------------------------------------------------------------------
def test_a_held_federated_credential_does_not_match_until_released(az, profile, sandbox):
    identity = az.msi.user_assigned_identities.create_or_update("rg-aks-apps", "id-held-fic", {"location": "westus2"})
    token = _mint_github(az, repository="contoso/app", environment="prod")
    with sandbox.realism.hold("federation_propagation", key=identity.id) as hold:
        az.msi.federated_identity_credentials.create_or_update("rg-aks-apps", "id-held-fic", "gh-prod", {"properties": {
            "issuer": oidc.GITHUB_ISSUER, "subject": "repo:contoso/app:environment:prod", "audiences": [EXCHANGE]}})
        for _ in range(2):
            assert "AADSTS70021" in _refusal(sandbox, profile, identity.client_id, token)
        assert hold.wait_reached(timeout=10, times=2)
    assert _assertion_credential(sandbox, profile, identity.client_id, token).get_token(VAULT_SCOPE).token


def test_no_federated_credential_at_all_is_not_a_held_answer(az, profile, sandbox):
    identity = az.msi.user_assigned_identities.create_or_update("rg-aks-apps", "id-no-fic", {"location": "westus2"})
    token = _mint_github(az, repository="contoso/app", environment="prod")
    with sandbox.realism.hold("federation_propagation") as hold:
        with pytest.raises(ClientAuthenticationError):
            _assertion_credential(sandbox, profile, identity.client_id, token).get_token(VAULT_SCOPE)
        assert not hold.reached.is_set()  # refused for want of a credential, not because one is on its way


# ---- lro:<operation> ----------------------------------------------------------------------------------------------
def test_a_held_container_group_create_stays_in_progress_until_released(az, sandbox):
    assert sandbox.realism.lro_duration("aci_create") == 0  # it would finish at once without the hold
    with sandbox.realism.hold("lro:aci_create") as hold:
        poller = az.aci.container_groups.begin_create_or_update(RG, "cg-held", _body())
        assert hold.wait_reached(timeout=30, times=3)  # the create answer and two polls said "not yet"
        assert not poller.done()
        assert az.aci.container_groups.get(RG, "cg-held").provisioning_state == "Pending"
    group = poller.result()
    assert group.provisioning_state == "Succeeded" and group.instance_view.state == "Running"


def test_a_held_vault_create_registers_dns_until_released(az, sandbox):
    params = {"location": LOC, "properties": {"tenantId": sandbox.tenant_id, "sku": {"family": "A", "name": "standard"}}}
    hold = sandbox.realism.hold("lro:keyvault_create")
    poller = az.keyvault.vaults.begin_create_or_update(RG, "kv-held", params)
    assert hold.wait_reached(timeout=30, times=2) and not poller.done()
    assert az.keyvault.vaults.get(RG, "kv-held").properties.provisioning_state == "RegisteringDns"
    hold.release()
    assert poller.result().properties.provisioning_state == "Succeeded"


def test_a_held_container_group_delete_stays_deleting_until_released(az, sandbox, sub_id):
    created = az.aci.container_groups.begin_create_or_update(RG, "cg-doomed", _body()).result()
    other = az.aci.container_groups.begin_create_or_update(RG, "cg-free", _body()).result()
    with sandbox.realism.hold("lro:aci_delete", key=created.id) as hold:
        poller = az.aci.container_groups.begin_delete(RG, "cg-doomed")
        az.aci.container_groups.begin_delete(RG, other.name).result()  # the hold is keyed: this one goes at once
        assert az.aci.container_groups.get(RG, "cg-doomed").provisioning_state == "Deleting"
        assert hold.wait_reached(timeout=30, times=2) and not poller.done()
    poller.result()
    with pytest.raises(ResourceNotFoundError):
        az.aci.container_groups.get(RG, "cg-doomed")
