"""Microsoft.Authorization in the sandbox through the real AuthorizationManagementClient over HTTPS:
role definitions, role assignments, their filters and errors, the PrincipalNotFound window and RBAC on writes."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from wizard.azure.clients import AzureClients, make_credential
from wizard.sandbox import authz
from wizard.sandbox.seed import assign

READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
UAA = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
MI_OPERATOR = "f1a07417-d97a-45cb-824c-7a7467783830"
RG = "rg-platform"


def _role_id(sub_id: str, guid: str) -> str:
    return f"/subscriptions/{sub_id}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def _params(sub_id: str, guid: str, principal_id: str, principal_type: str | None = "ServicePrincipal") -> dict:
    props = {"roleDefinitionId": _role_id(sub_id, guid), "principalId": principal_id}
    if principal_type:
        props["principalType"] = principal_type
    return {"properties": props}


def _identity(az, name: str, group: str = RG):
    return az.msi.user_assigned_identities.create_or_update(group, name, {"location": "northeurope"})


def _statuses(sandbox, method: str) -> list[int]:
    return [c.status for c in sandbox.arm_calls() if c.method == method and "/roleAssignments/" in c.path]


def _clients_for(sandbox, profile, sub_id: str, name: str, role_guid: str) -> AzureClients:
    """Clients signed in as a new operator holding `role_guid` on the subscription."""
    op = sandbox.add_operator(name, f"operator with role {role_guid}")
    assign(sandbox, f"/subscriptions/{sub_id}", role_guid, op["objectId"], f"{name}:{sub_id}")
    prof = profile.with_operator(op["clientId"], op["clientSecret"])
    return AzureClients(prof, make_credential(prof), sub_id)


# ---- role definitions -------------------------------------------------------------------------------------
def test_role_definitions_get_at_every_scope_list_filter_and_by_id(az, sub_id):
    defs = az.authorization.role_definitions
    identity = _identity(az, "id-defs")
    tenant = defs.get("", SECRETS_USER)
    assert tenant.id == f"/providers/Microsoft.Authorization/roleDefinitions/{SECRETS_USER}"
    assert (tenant.role_name, tenant.role_type) == ("Key Vault Secrets User", "BuiltInRole")
    assert tenant.permissions[0].data_actions == ["Microsoft.KeyVault/vaults/secrets/getSecret/action",
                                                  "Microsoft.KeyVault/vaults/secrets/readMetadata/action"]
    for scope in (f"/subscriptions/{sub_id}", f"/subscriptions/{sub_id}/resourceGroups/{RG}", identity.id):
        assert defs.get(scope, SECRETS_USER).id == _role_id(sub_id, SECRETS_USER)
    named = list(defs.list(f"/subscriptions/{sub_id}", filter="roleName eq 'Key Vault Secrets User'"))
    assert [d.name for d in named] == [SECRETS_USER]
    everything = {d.role_name: d.name for d in defs.list(f"/subscriptions/{sub_id}")}
    assert everything["Storage Blob Data Contributor"] == "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
    assert everything["Storage Blob Data Reader"] == "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
    assert everything["Managed Identity Operator"] == MI_OPERATOR
    assert {"Owner", "Contributor", "Reader", "User Access Administrator"} <= set(everything)
    assert {d.name for d in defs.list("")} == set(everything.values())
    assert defs.get_by_id(_role_id(sub_id, READER)).role_name == "Reader"
    missing = "00000000-1111-2222-3333-444444444444"
    with pytest.raises(ResourceNotFoundError) as err:
        defs.get(f"/subscriptions/{sub_id}", missing)
    assert err.value.error.code == "RoleDefinitionDoesNotExist"
    assert err.value.error.message == f"The specified role definition with ID '{missing}' does not exist."


# ---- role assignments: lifecycle -------------------------------------------------------------------------
def test_assignment_create_201_identical_reput_200_get_delete(sandbox, az, sub_id):
    ras = az.authorization.role_assignments
    identity = _identity(az, "id-life")
    scope, name = f"/subscriptions/{sub_id}/resourceGroups/{RG}", str(uuid.uuid4())
    created = ras.create(scope, name, _params(sub_id, SECRETS_USER, identity.principal_id))
    assert created.id == f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
    assert (created.scope, created.principal_id, created.principal_type) == (scope, identity.principal_id,
                                                                             "ServicePrincipal")
    assert created.role_definition_id == _role_id(sub_id, SECRETS_USER)
    assert created.created_by is None  # Azure answers a create with createdBy null; reads show the creator
    assert ras.get(scope, name).created_by == sandbox.operator()["objectId"]
    again = ras.create(scope, name, _params(sub_id, SECRETS_USER, identity.principal_id))
    assert (again.id, again.created_on) == (created.id, created.created_on)
    assert _statuses(sandbox, "PUT") == [201, 200]
    assert ras.get(scope, name).principal_id == identity.principal_id
    assert ras.get_by_id(created.id).name == name
    deleted = ras.delete(scope, name)
    assert deleted is not None and deleted.id == created.id
    assert ras.delete(scope, name) is None
    assert _statuses(sandbox, "DELETE") == [200, 204]
    with pytest.raises(ResourceNotFoundError) as err:
        ras.get(scope, name)
    assert err.value.error.code == "RoleAssignmentNotFound"


def test_assignment_by_id_at_resource_scope_and_the_store_format_authz_reads(sandbox, az, sub_id):
    ras = az.authorization.role_assignments
    target, workload = _identity(az, "id-target"), _identity(az, "id-workload")
    ra_id = f"{target.id}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    created = ras.create_by_id(ra_id, _params(sub_id, MI_OPERATOR, workload.principal_id))
    assert (created.id, created.scope) == (ra_id, target.id)
    listed = ras.list_for_resource(RG, "Microsoft.ManagedIdentity", "userAssignedIdentities", "id-target",
                                   filter=f"principalId eq '{workload.principal_id}'")
    assert [r.id for r in listed] == [ra_id]
    # The record authz.permitted evaluates: scope inheritance, "/*/" wildcards, and `created` for propagation.
    assign_action = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
    assert authz.permitted(sandbox.store, workload.principal_id, assign_action, target.id)["name"] == created.name
    assert authz.permitted(sandbox.store, workload.principal_id, assign_action, target.id, delay_s=600) is None
    assert ras.delete_by_id(ra_id).id == ra_id
    assert ras.delete_by_id(ra_id) is None
    assert authz.permitted(sandbox.store, workload.principal_id, assign_action, target.id) is None


# ---- role assignments: errors ----------------------------------------------------------------------------
def test_invalid_ids_unknown_role_and_unknown_principal(sandbox, az, sub_id):
    ras = az.authorization.role_assignments
    scope = f"/subscriptions/{sub_id}/resourceGroups/{RG}"
    identity = _identity(az, "id-errors")
    with pytest.raises(HttpResponseError) as err:
        ras.create(scope, "not-a-guid", _params(sub_id, SECRETS_USER, identity.principal_id))
    assert (err.value.status_code, err.value.error.code) == (400, "InvalidRoleAssignmentId")
    assert err.value.error.message == ("The role assignment ID 'not-a-guid' is not valid. The role assignment ID "
                                       "must be a GUID.")
    with pytest.raises(HttpResponseError) as err:
        ras.create(scope, str(uuid.uuid4()), _params(sub_id, SECRETS_USER, "someone"))
    assert (err.value.status_code, err.value.error.code) == (400, "InvalidPrincipalId")
    with pytest.raises(HttpResponseError) as err:
        ras.create(scope, str(uuid.uuid4()), _params(sub_id, "00000000-1111-2222-3333-444444444444",
                                                     identity.principal_id))
    assert (err.value.status_code, err.value.error.code) == (400, "RoleDefinitionDoesNotExist")
    stranger = str(uuid.uuid4())
    with pytest.raises(HttpResponseError) as err:
        ras.create(scope, str(uuid.uuid4()), _params(sub_id, SECRETS_USER, stranger))
    assert (err.value.status_code, err.value.error.code) == (400, "PrincipalNotFound")
    assert err.value.error.message.startswith(
        f"Principal {stranger.replace('-', '')} does not exist in the directory {sandbox.tenant_id}. Check that you "
        "have the correct principal ID.")
    assert err.value.error.message.endswith("See https://aka.ms/docs-principaltype")
    with pytest.raises(HttpResponseError) as err:
        ras.create(scope, str(uuid.uuid4()), _params(sub_id, SECRETS_USER, identity.principal_id, "User"))
    assert err.value.error.code == "UnmatchedPrincipalType"


def test_exists_under_another_name_and_update_not_permitted(az, sub_id):
    ras = az.authorization.role_assignments
    identity, other = _identity(az, "id-dup"), _identity(az, "id-other")
    scope, first = f"/subscriptions/{sub_id}/resourceGroups/{RG}", str(uuid.uuid4())
    ras.create(scope, first, _params(sub_id, SECRETS_USER, identity.principal_id))
    with pytest.raises(ResourceExistsError) as err:
        ras.create(scope, str(uuid.uuid4()), _params(sub_id, SECRETS_USER, identity.principal_id))
    assert err.value.error.code == "RoleAssignmentExists"
    assert err.value.error.message == ("The role assignment already exists. The ID of the existing role assignment "
                                       f"is {first.replace('-', '')}.")
    changes = [(scope, _params(sub_id, SECRETS_USER, other.principal_id)),
               (scope, _params(sub_id, SECRETS_OFFICER, identity.principal_id)),
               (f"/subscriptions/{sub_id}", _params(sub_id, SECRETS_USER, identity.principal_id))]
    for where, params in changes:
        with pytest.raises(HttpResponseError) as err:
            ras.create(where, first, params)
        assert (err.value.status_code, err.value.error.code) == (400, "RoleAssignmentUpdateNotPermitted")
        assert err.value.error.message == ("Tenant ID, application ID, principal ID, and scope are not allowed to be "
                                           "updated.")


def test_scope_must_exist(az, sub_id):
    ras = az.authorization.role_assignments
    identity = _identity(az, "id-scope")
    with pytest.raises(ResourceNotFoundError) as err:
        ras.create(f"/subscriptions/{sub_id}/resourceGroups/rg-nowhere", str(uuid.uuid4()),
                   _params(sub_id, SECRETS_USER, identity.principal_id))
    assert err.value.error.code == "ResourceGroupNotFound"
    missing_vault = f"/subscriptions/{sub_id}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/kv-none"
    with pytest.raises(ResourceNotFoundError) as err:
        ras.create(missing_vault, str(uuid.uuid4()), _params(sub_id, SECRETS_USER, identity.principal_id))
    assert err.value.error.code == "ResourceNotFound"


def test_principal_not_found_window_and_principal_type_fix(sandbox, az, sub_id):
    ras = az.authorization.role_assignments
    scope = f"/subscriptions/{sub_id}/resourceGroups/{RG}"
    with sandbox.realism.hold("principal_not_found"):  # the new identity has not replicated, however long this takes
        identity = _identity(az, "id-fresh")
        with pytest.raises(HttpResponseError) as err:
            ras.create(scope, str(uuid.uuid4()), _params(sub_id, SECRETS_USER, identity.principal_id, None))
        assert (err.value.status_code, err.value.error.code) == (400, "PrincipalNotFound")
        assert identity.principal_id.replace("-", "") in err.value.error.message
        assert _statuses(sandbox, "PUT") == [400]  # the SDK does not retry it: the caller must
        with_type = ras.create(scope, str(uuid.uuid4()), _params(sub_id, SECRETS_USER, identity.principal_id))
        assert with_type.principal_type == "ServicePrincipal"
    without_type = ras.create(scope, str(uuid.uuid4()), _params(sub_id, READER, identity.principal_id, None))
    assert without_type.principal_type == "ServicePrincipal"  # filled in from the directory


# ---- RBAC on the authorization API itself ----------------------------------------------------------------
def test_contributor_may_read_but_not_write_or_delete_assignments(az, contributor_az, sub_id):
    identity = _identity(contributor_az, "id-by-contributor")  # Contributor may create identities
    scope, name = f"/subscriptions/{sub_id}/resourceGroups/{RG}", str(uuid.uuid4())
    with pytest.raises(HttpResponseError) as err:
        contributor_az.authorization.role_assignments.create(scope, name,
                                                             _params(sub_id, SECRETS_USER, identity.principal_id))
    assert (err.value.status_code, err.value.error.code) == (403, "AuthorizationFailed")
    assert "'Microsoft.Authorization/roleAssignments/write'" in err.value.error.message
    assert f"over scope '{scope}/providers/Microsoft.Authorization/roleAssignments/{name}'" in err.value.error.message
    az.authorization.role_assignments.create(scope, name, _params(sub_id, SECRETS_USER, identity.principal_id))
    with pytest.raises(HttpResponseError) as err:
        contributor_az.authorization.role_assignments.delete(scope, name)
    assert (err.value.status_code, err.value.error.code) == (403, "AuthorizationFailed")
    assert "'Microsoft.Authorization/roleAssignments/delete'" in err.value.error.message
    assert contributor_az.authorization.role_assignments.get(scope, name).name == name


def test_reader_and_user_access_administrator(sandbox, profile, az, sub_id):
    reader = _clients_for(sandbox, profile, sub_id, "reader", READER)
    uaa = _clients_for(sandbox, profile, sub_id, "uaa", UAA)
    identity = _identity(az, "id-rbac")
    scope = f"/subscriptions/{sub_id}/resourceGroups/{RG}"
    visible = reader.authorization.role_assignments.list_for_scope(f"/subscriptions/{sub_id}")
    assert sandbox.operator()["objectId"] in {r.principal_id for r in visible}  # Reader may read assignments
    with pytest.raises(HttpResponseError) as err:
        reader.authorization.role_assignments.create(scope, str(uuid.uuid4()),
                                                     _params(sub_id, SECRETS_USER, identity.principal_id))
    assert err.value.error.code == "AuthorizationFailed"
    granted = uaa.authorization.role_assignments.create(scope, str(uuid.uuid4()),
                                                        _params(sub_id, SECRETS_USER, identity.principal_id))
    assert granted.principal_id == identity.principal_id
    with pytest.raises(HttpResponseError) as err:  # User Access Administrator manages access, not resources
        uaa.resources.resource_groups.create_or_update("rg-by-uaa", {"location": "eastus"})
    assert err.value.error.code == "AuthorizationFailed"
    assert uaa.authorization.role_assignments.delete(scope, granted.name).name == granted.name


# ---- filters ---------------------------------------------------------------------------------------------
def test_list_filters_at_above_and_below(sandbox, az, sub_id):
    ras = az.authorization.role_assignments
    sub_scope, rg_scope = f"/subscriptions/{sub_id}", f"/subscriptions/{sub_id}/resourceGroups/{RG}"
    p, q = _identity(az, "id-p"), _identity(az, "id-q")
    made = {}
    for key, scope, role, who in [("p_sub", sub_scope, READER, p), ("p_rg", rg_scope, SECRETS_USER, p),
                                  ("p_res", p.id, MI_OPERATOR, p), ("q_rg", rg_scope, SECRETS_USER, q),
                                  ("q_other_rg", f"{sub_scope}/resourceGroups/rg-batch-jobs", SECRETS_USER, q)]:
        made[key] = ras.create(scope, str(uuid.uuid4()), _params(sub_id, role, who.principal_id)).name
    seeded = {r.name for r in ras.list_for_scope(sub_scope, filter="atScope()")} - set(made.values())
    assert len(seeded) == 2  # the Owner and Contributor operators

    def names(items) -> set[str]:
        return {r.name for r in items} - seeded

    def expect(*keys) -> set[str]:
        return {made[k] for k in keys}

    assert names(ras.list_for_resource_group(RG)) == expect("p_sub", "p_rg", "p_res", "q_rg")
    assert {r.name for r in ras.list_for_resource_group(RG)} >= seeded  # above includes the subscription
    assert names(ras.list_for_scope(rg_scope, filter="atScope()")) == expect("p_sub", "p_rg", "q_rg")
    assert names(ras.list_for_scope(rg_scope, filter=f"principalId eq '{p.principal_id}'")) == \
        expect("p_sub", "p_rg", "p_res")
    assert names(ras.list_for_scope(rg_scope, filter=f"assignedTo('{p.principal_id}')")) == \
        expect("p_sub", "p_rg", "p_res")
    assert names(ras.list_for_scope(rg_scope, filter=f"atScope() and assignedTo('{p.principal_id}')")) == \
        expect("p_sub", "p_rg")
    assert names(ras.list_for_resource(RG, "Microsoft.ManagedIdentity", "userAssignedIdentities", "id-p",
                                       filter="atScope()")) == expect("p_sub", "p_rg", "p_res", "q_rg")
    assert names(ras.list_for_subscription(filter=f"principalId eq '{q.principal_id}'")) == \
        expect("q_rg", "q_other_rg")
    assert names(ras.list_for_subscription()) == set(made.values())
    with pytest.raises(HttpResponseError) as err:
        list(ras.list_for_scope(rg_scope, filter="roleName eq 'Reader'"))
    assert (err.value.status_code, err.value.error.code) == (400, "UnsupportedQuery")
