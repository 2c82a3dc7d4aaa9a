"""Screens hand each other typed results through the flow controller (screens/flow.py), never flags on the shared
services: what the review, the apply screen and a resumed sign-in hand on, and where it leads."""

from __future__ import annotations

from screens.flow import Applied, Resuming, ReviewConfirmed, following, preceding
from screens.place import AZURE, SANDBOX
from screens.services import Services


def services() -> Services:
    return Services(session_factory=lambda **_: None)


def test_services_carry_no_flags_between_screens():
    shared = vars(services())
    assert not {"confirmed", "report", "resume_to", "sandbox"} & set(shared), sorted(shared)


def test_a_resumed_sign_in_leads_where_the_setup_was_left_and_only_then():
    s = services()
    assert following("signin", s, Resuming("vault")) == "vault"
    assert following("signin", s) == "subscription"  # nothing remembered from the resume before
    assert preceding("signin", s) == "welcome"


def test_the_review_and_the_apply_hand_on_typed_results():
    s = services()
    assert following("review", s, ReviewConfirmed()) == "apply"
    assert following("apply", s, Applied({"passed": True, "links": []})) == "result"
    assert following("result", s) == "welcome"


def test_where_the_app_runs_is_data_not_branches():
    assert (SANDBOX.offers_sign_in_choice, SANDBOX.offers_sandbox, SANDBOX.cloud) == (False, False, "sandbox")
    assert (AZURE.offers_sign_in_choice, AZURE.offers_sandbox, AZURE.cloud) == (True, True, "public")
    assert SANDBOX.made_here("sandbox") and not SANDBOX.made_here("usgov")
    assert AZURE.made_here("usgov") and not AZURE.made_here("sandbox")
    assert AZURE.made_elsewhere.format(cloud="sandbox").endswith("start mi-wizard --sandbox to resume it.")
    s = services()
    s.use_sandbox()
    assert s.place is SANDBOX and s.cloud == "sandbox"
