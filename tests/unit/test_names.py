"""Azure naming rules: valid names pass, each kind of invalid name gets a message that names the problem."""

from __future__ import annotations

import random

import pytest

from wizard.azure import names as n

CASES = {
    n.validate_resource_group_name: (
        ["r", "x" * 90, "rg-demo_1.(prod)", "Ressourcengruppe-ü"],
        [("", "empty"), ("x" * 91, "91 characters"), ("rg.", "ends with a period"), ("rg demo", "' '"),
         ("rg/x", "'/'")],
    ),
    n.validate_identity_name: (
        ["id1", "x" * 128, "1id", "id_prefect-worker"],
        [("id", "only 2 characters"), ("x" * 129, "129 characters"), ("_id", "starts with '_'"),
         ("-id", "starts with '-'"), ("id.x", "'.'")],
    ),
    n.validate_vault_name: (
        ["kv1", "a" * 24, "Kv-Demo-1", "k-v-1"],
        [("kv", "only 2 characters"), ("a" * 25, "25 characters"), ("1kv", "starts with '1'"),
         ("-kv", "starts with '-'"), ("kv-", "ends with a hyphen"), ("kv--x", "two hyphens in a row"),
         ("kv_x", "'_'"), ("", "empty")],
    ),
    n.validate_secret_name: (
        ["s", "x" * 127, "git-token", "GitToken2"],
        [("", "empty"), ("x" * 128, "128 characters"), ("git_token", "use hyphens"), ("a.b", "'.'")],
    ),
    n.validate_container_group_name: (
        ["c", "x" * 63, "cg-prefect-1"],
        [("", "empty"), ("x" * 64, "64 characters"), ("-cg", "starts with a hyphen"),
         ("cg-", "ends with a hyphen"), ("cg--x", "two hyphens"), ("Cg-X", "try 'cg-x'"), ("cg_x", "'_'")],
    ),
    n.validate_batch_account_name: (
        ["abc", "a1" * 12],
        [("ab", "only 2"), ("a" * 25, "25 characters"), ("my-batch", "try 'mybatch'"), ("Batch1", "'B'")],
    ),
    n.validate_pool_name: (
        ["p", "x" * 64, "Pool_1-a"],
        [("", "empty"), ("x" * 65, "65 characters"), ("pool.1", "'.'")],
    ),
    n.validate_federated_credential_name: (
        ["gh1", "x" * 120, "github-main_ref", "9abc"],
        [("gh", "only 2"), ("x" * 121, "121 characters"), ("_gh", "starts with '_'"), ("gh.main", "'.'")],
    ),
    n.validate_location: (
        ["westeurope", "eastus2"],
        [("", "Choose a location"), ("West Europe", "'westeurope'"), ("east-us", "'eastus'")],
    ),
}

VALID = [(f, name) for f, (good, _) in CASES.items() for name in good]
INVALID = [(f, name, part) for f, (_, bad) in CASES.items() for name, part in bad]


@pytest.mark.parametrize("validate, name", VALID, ids=lambda v: getattr(v, "__name__", str(v)[:12]))
def test_valid_names_pass(validate, name):
    assert validate(name) is None


@pytest.mark.parametrize("validate, name, part", INVALID, ids=lambda v: getattr(v, "__name__", str(v)[:12]))
def test_invalid_names_say_what_is_wrong(validate, name, part):
    message = validate(name)
    assert message is not None
    assert part in message
    assert message.endswith(".") and "\n" not in message
    assert len(message) < 300  # long names are shortened in the message


def test_vault_message_states_the_rule():
    message = n.validate_vault_name("kv--x")
    assert message.startswith("Vault names are 3-24 characters")
    assert "'kv--x' has two hyphens in a row" in message


@pytest.mark.parametrize("base", ["kv-prefect", "", "123 My Vault__name that is far too long!!", "kv--",
                                  "a" * 24, "-"])
def test_suggestions_are_valid_distinct_and_new(base):
    taken = {"kv-prefect-aaaa"}
    got = n.suggest_vault_names(base, taken, count=5)
    assert len(got) == 5 and len(set(got)) == 5
    for name in got:
        assert n.validate_vault_name(name) is None, name
        assert name not in taken and name != base


def test_suggestions_avoid_taken_names_case_insensitively():
    first = n.suggest_vault_names("kv-demo", count=3, rng=random.Random(7))
    assert first == n.suggest_vault_names("kv-demo", count=3, rng=random.Random(7))  # rng makes it repeatable
    again = n.suggest_vault_names("kv-demo", {x.upper() for x in first}, count=3, rng=random.Random(7))
    assert again and not set(again) & set(first)
    assert all(x.startswith("kv-demo-") for x in first + again)


def test_secret_value_limits():
    assert n.secret_value_problem("") is not None and "empty" in n.secret_value_problem("")
    assert n.secret_value_problem("x" * 25_600) is None
    message = n.secret_value_problem("x" * 25_601)
    assert message is not None and "25,601 bytes" in message and "xxxx" not in message
    assert n.secret_value_problem("é" * 12_801) is not None  # 25,602 bytes in UTF-8, though 12,801 characters
    assert n.secret_value_problem("é" * 12_800) is None


def test_secret_value_blank_and_not_utf8():
    for blank in (" ", "\t\n", "   \r\n  "):
        message = n.secret_value_problem(blank)
        assert message == ("The secret value is blank (only spaces, tabs or newlines); type or paste the value to "
                           "store.")
    assert n.secret_value_problem(" x ") is None  # surrounding spaces are kept: they may be part of the value
    assert n.secret_value_problem("", fix="set it in GIT_TOKEN") == "The secret value is empty; set it in GIT_TOKEN."
    message = n.secret_value_problem("ab\udcffcd")  # what os.environ holds for a non-UTF-8 byte
    assert message is not None and "not valid UTF-8 text" in message and "base64" in message
