"""The account's Update tab: each form sends its command as the signed-in user; refused forms
say why, keep the values and write nothing; stale forms are refused with what changed; only
those who may change the account get forms."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from html import escape

import pytest
from fastapi.testclient import TestClient

from kam_api.settings import Settings
from kam_domain.commands import AssessRelationship, RecordDeparture
from kam_domain.values import EngagementLevel, InteractionKind
from tests.web.conftest import web_settings_for
from tests.web.support import csrf_of
from tests.web.work_seed import (
    SCRIPT,
    TODAY,
    handle,
    hidden_fields,
    history,
    log_head,
    post,
    seed_account,
    state,
)

Client = Callable[[str], TestClient]


@pytest.fixture
def web_settings(database_url: str) -> Settings:
    return web_settings_for(database_url, today=TODAY)


def _page(account_id: object) -> str:
    return f"/app/accounts/{account_id}/update"


def test_the_manager_sees_every_form_with_its_token_and_versions(
    web: TestClient, as_user: Client
) -> None:
    seeded = seed_account(web)
    page = as_user("mia").get(_page(seeded.account_id))
    assert page.status_code == 200
    for action in (
        "interaction",
        "departure",
        "action",
        "action/complete",
        "action/reschedule",
        "action/reassign",
        "feedback",
        "assessment",
        "handover",
    ):
        fields = hidden_fields(page.text, f"{_page(seeded.account_id)}/{action}")
        assert fields["csrf_token"] == csrf_of(page.text)
        assert int(fields["seen"]) == log_head(web)
    account = state(web).kam.get_account(seeded.account_id)
    feedback = hidden_fields(page.text, f"{_page(seeded.account_id)}/feedback")
    assert feedback["version"] == str(account.version)
    person = state(web).kam.get_stakeholder(seeded.stakeholder_id)
    interaction = hidden_fields(page.text, f"{_page(seeded.account_id)}/interaction")
    assert interaction[f"version.{seeded.stakeholder_id}"] == str(person.version)
    assert "Grace Hopper, Chief Procurement Officer" in page.text
    assert "Run the retrofit workshop" in page.text
    assert 'aria-current="page">Update' in page.text
    # No handover waits for mia: no acknowledgement form.
    assert "/update/handover/acknowledge" not in page.text


def test_each_form_writes_its_command_as_the_signed_in_user(
    web: TestClient, as_user: Client
) -> None:
    seeded = seed_account(web)
    mia, page = as_user("mia"), _page(seeded.account_id)
    a, p = seeded.account_id, seeded.plan_id
    posts = [
        (
            "interaction",
            {
                "stakeholder_id": str(seeded.stakeholder_id),
                "kind": "call",
                "on": "2026-03-09",
                "summary": "Talked renewal terms",
                "sentiment": "1",
            },
            "Interaction logged",
            "InteractionLogged",
        ),
        (
            "action",
            {
                "plan_id": str(p),
                "what": "Book the plant visit",
                "owner": "max",
                "due_on": "2026-04-01",
                "success_measure": "Visit booked",
            },
            "Action added",
            "ActionAdded",
        ),
        (
            "action/complete",
            {"action": f"{p}:{seeded.overdue_id}", "outcome": "Scope agreed"},
            "Action completed",
            "ActionCompleted",
        ),
        (
            "action/reschedule",
            {"action": f"{p}:{seeded.soon_id}", "due_on": "2026-03-30", "reason": "On leave"},
            "Action rescheduled",
            "ActionRescheduled",
        ),
        (
            "action/reassign",
            {"action": f"{p}:{seeded.later_id}", "owner": "max"},
            "Action reassigned",
            "ActionReassigned",
        ),
        (
            "feedback",
            {"nps": "9", "csat": "4", "respondent_id": str(seeded.stakeholder_id)},
            "Feedback recorded",
            "FeedbackRecorded",
        ),
        (
            "assessment",
            {"engagement": "engaged", "trust": "4", "satisfaction": "5", "partner_rating": "8"},
            "Assessment recorded",
            "RelationshipAssessed",
        ),
        (
            "departure",
            {
                "stakeholder_id": str(seeded.other_id),
                "left_on": "2026-03-01",
                "successor_id": str(seeded.stakeholder_id),
            },
            "Departure recorded",
            "LeftCompany",
        ),
        (
            "handover",
            {"to": "max", "effective_on": "2026-03-11", "reason": "Mia moves to APAC"},
            "Account handed over",
            "HandedOver",
        ),
    ]
    for action, fields, notice, event_type in posts:
        before = log_head(web)
        answer = post(mia, page, f"{page}/{action}", fields)
        assert answer.status_code == 303, (action, answer.text)
        assert answer.headers["location"].startswith(f"{page}?done=")
        assert f"{notice}." in mia.get(answer.headers["location"]).text
        written = [e for e in history(web, a) if e["position"] > before]
        assert [(e["event_type"], e["actor"]) for e in written] == [(event_type, "mia")], action
    plan = state(web).kam.get_plan(p)
    added = [x for x in plan.actions.values() if x.what == "Book the plant visit"]
    assert added and added[0].owner == "max" and added[0].success_measure == "Visit booked"
    assert plan.actions[str(seeded.later_id)].owner == "max"
    account = state(web).kam.get_account(a)
    assert account.latest_feedback is not None and account.latest_feedback.nps == 9
    assert account.manager == "max" and account.pending_handover is not None
    assert "mia" not in account.team  # keep_on_team was not ticked
    # max, the incoming manager, acknowledges on the same tab.
    max_ = as_user("max")
    assert "/update/handover/acknowledge" in max_.get(page).text
    answer = post(max_, page, f"{page}/handover/acknowledge", {"notes": "Taken over"})
    assert answer.status_code == 303
    assert history(web, a)[-1]["event_type"] == "HandoverAcknowledged"
    assert history(web, a)[-1]["actor"] == "max"


def test_a_refused_form_says_why_keeps_the_values_and_writes_nothing(
    web: TestClient, as_user: Client
) -> None:
    seeded = seed_account(web)
    mia, page = as_user("mia"), _page(seeded.account_id)
    p = seeded.plan_id
    handle(web, RecordDeparture(stakeholder_id=seeded.other_id, left_on=TODAY))
    cases = [
        # A day that does not exist.
        (
            "interaction",
            {
                "stakeholder_id": str(seeded.stakeholder_id),
                "kind": "call",
                "on": "2026-02-30",
                "summary": "Kept summary text",
                "sentiment": "1",
            },
            422,
            "Please check the form — on:",
            "Kept summary text",
        ),
        # The reason a reschedule needs.
        (
            "action/reschedule",
            {"action": f"{p}:{seeded.soon_id}", "due_on": "2026-04-30"},
            409,
            "needs a reason",
            'value="2026-04-30"',
        ),
        # A business rule: the person has left the company.
        (
            "interaction",
            {
                "stakeholder_id": str(seeded.other_id),
                "kind": "meeting",
                "on": "2026-03-09",
                "summary": "Said goodbye",
                "sentiment": "0",
            },
            409,
            "Not done: cannot log an interaction: the stakeholder has left the company.",
            "Said goodbye",
        ),
        # A handover to the manager who already has it.
        (
            "handover",
            {"to": "mia", "effective_on": "2026-03-11", "reason": "Because"},
            409,
            "mia already manages this account",
            "Because",
        ),
        # No handover to acknowledge.
        ("handover/acknowledge", {"notes": "Thanks"}, 409, "no handover to acknowledge", ""),
    ]
    for action, fields, status, message, kept in cases:
        opened = mia.get(page).text
        hidden = (
            hidden_fields(opened, f"{page}/{action}")
            if action != "handover/acknowledge"
            else {"csrf_token": csrf_of(opened)}
        )
        before = log_head(web)
        answer = mia.post(f"{page}/{action}", data={**hidden, **fields})
        assert answer.status_code == status, (action, answer.text)
        assert 'class="refusal" role="alert"' in answer.text
        assert escape(message, quote=False) in answer.text, (action, answer.text)
        assert kept in answer.text
        assert log_head(web) == before, action


def test_a_stale_form_is_refused_with_what_changed_and_nothing_written(
    web: TestClient, as_user: Client
) -> None:
    seeded = seed_account(web)
    first, second, page = as_user("mia"), as_user("dora"), _page(seeded.account_id)
    opened = first.get(page).text
    # Meanwhile dora logs a call with the same person.
    answer = post(
        second,
        page,
        f"{page}/interaction",
        {
            "stakeholder_id": str(seeded.stakeholder_id),
            "kind": "call",
            "on": "2026-03-09",
            "summary": f"Renewal call {SCRIPT}",
            "sentiment": "2",
        },
    )
    assert answer.status_code == 303
    before = log_head(web)
    fields = {
        "stakeholder_id": str(seeded.stakeholder_id),
        "kind": "meeting",
        "on": "2026-03-10",
        "summary": "My stale meeting notes",
        "sentiment": "1",
    }
    stale = first.post(
        f"{page}/interaction", data={**hidden_fields(opened, f"{page}/interaction"), **fields}
    )
    assert stale.status_code == 409
    assert (
        "Someone changed this account since you opened the page; nothing was saved. "
        "Here is what changed:" in stale.text
    )
    assert "Renewal call &lt;script&gt;alert(1)&lt;/script&gt;" in stale.text
    assert SCRIPT not in stale.text
    assert "dora" in stale.text.split("Here is what changed:")[1].split("</ol>")[0]
    assert "My stale meeting notes" in stale.text
    assert log_head(web) == before
    # The page shown again is current: sending it again works.
    again = first.post(
        f"{page}/interaction",
        data={**hidden_fields(stale.text, f"{page}/interaction"), **fields},
    )
    assert again.status_code == 303
    # A stale account form (feedback) after another change of the account itself.
    opened = first.get(page).text
    handle(
        web,
        AssessRelationship(
            account_id=seeded.account_id,
            engagement=EngagementLevel.DISENGAGED,
            trust=2,
            satisfaction=2,
            partner_rating=3,
        ),
    )
    before = log_head(web)
    stale = first.post(
        f"{page}/feedback", data={**hidden_fields(opened, f"{page}/feedback"), "nps": "7"}
    )
    assert stale.status_code == 409
    assert "Relationship assessed: disengaged, trust 2/5" in stale.text
    assert log_head(web) == before


def test_a_manager_of_another_account_is_refused_and_nothing_is_written(
    web: TestClient, as_user: Client
) -> None:
    seeded = seed_account(web)
    max_, page = as_user("max"), _page(seeded.account_id)
    shown = max_.get(page)
    assert shown.status_code == 200
    assert "You neither manage this account nor are on its team" in shown.text
    assert "/update/interaction" not in shown.text
    # A form made for mia, posted by max: the dispatcher refuses it.
    fields = hidden_fields(as_user("mia").get(page).text, f"{page}/feedback")
    before = log_head(web)
    answer = max_.post(
        f"{page}/feedback", data={**fields, "csrf_token": csrf_of(shown.text), "nps": "3"}
    )
    assert answer.status_code == 403
    assert "You may not do this: max neither manages account" in answer.text
    assert log_head(web) == before


@pytest.mark.parametrize("name", ["audrey", "vic"])
def test_auditors_and_viewers_get_no_forms_and_cannot_post(
    web: TestClient, as_user: Client, name: str
) -> None:
    seeded = seed_account(web)
    client, page = as_user(name), _page(seeded.account_id)
    shown = client.get(page)
    if name == "vic":
        assert shown.status_code == 403
        assert "the viewer role sees the portfolio and the read models only" in shown.text
    else:
        assert shown.status_code == 200
        assert "auditor role, which reads accounts but changes nothing" in shown.text
    assert f'action="{page}/' not in shown.text
    before = log_head(web)
    answer = client.post(f"{page}/feedback", data={"csrf_token": csrf_of(shown.text), "nps": "3"})
    assert answer.status_code == 403
    assert f"the {'viewer' if name == 'vic' else 'auditor'} role cannot change anything" in (
        answer.text
    )
    assert log_head(web) == before


def test_a_post_without_its_csrf_token_is_refused(web: TestClient, as_user: Client) -> None:
    seeded = seed_account(web)
    mia, page = as_user("mia"), _page(seeded.account_id)
    fields = hidden_fields(mia.get(page).text, f"{page}/feedback")
    before = log_head(web)
    for token in ({}, {"csrf_token": "forged"}):
        data = {k: v for k, v in fields.items() if k != "csrf_token"} | token | {"nps": "3"}
        answer = mia.post(f"{page}/feedback", data=data)
        assert answer.status_code == 403
        assert "This form has expired or did not come from this site." in answer.text
    assert log_head(web) == before


def test_names_are_shown_as_text(web: TestClient, as_user: Client) -> None:
    seeded = seed_account(web, name=SCRIPT, person=SCRIPT, what=SCRIPT)
    page = as_user("mia").get(_page(seeded.account_id))
    assert page.status_code == 200
    assert SCRIPT not in page.text
    assert escape(SCRIPT, quote=False) in page.text


def test_bad_addresses_are_readable_pages(web: TestClient, as_user: Client) -> None:
    seeded = seed_account(web)
    mia = as_user("mia")
    unknown = mia.get("/app/accounts/6f1c1d1e-3b7a-4c1e-9a57-2d1f0c9e8b11/update")
    assert unknown.status_code == 404 and "Not found" in unknown.text
    assert mia.get("/app/accounts/not-an-id/update").status_code == 422
    assert mia.get(f"{_page(seeded.account_id)}?done=whatever").status_code == 422
    assert mia.get(f"{_page(seeded.account_id)}?colour=red").status_code == 400
    # A stakeholder of another account chosen in the form is refused, nothing written.
    other = seed_account(web, name="Globex", person="Hank Scorpio")
    page = _page(seeded.account_id)
    before = log_head(web)
    answer = mia.post(
        f"{page}/interaction",
        data={
            **hidden_fields(mia.get(page).text, f"{page}/interaction"),
            "stakeholder_id": str(other.stakeholder_id),
            "kind": InteractionKind.CALL.value,
            "on": (TODAY - timedelta(days=1)).isoformat(),
            "summary": "Wrong account",
            "sentiment": "0",
        },
    )
    assert answer.status_code == 422
    assert "That person is not a stakeholder of this account." in answer.text
    assert log_head(web) == before
