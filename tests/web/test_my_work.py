"""My work: what needs the signed-in manager's attention (the digest, "soon" = 14 days),
each item with its inline form; post/redirect/get with a notice, refusals shown beside the
item with the values kept, stale forms refused with what changed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from html import escape

import pytest
from fastapi.testclient import TestClient

from kam_api.digest.build import manager_digest
from kam_api.settings import Settings
from kam_domain.commands import AddAction, CompleteAction, HandOver, RescheduleAction
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
PAGE = "/app/my-work"


@pytest.fixture
def web_settings(database_url: str) -> Settings:
    return web_settings_for(database_url, today=TODAY)


def _complete(plan_id: object, action_id: object) -> str:
    return f"/app/my-work/actions/{plan_id}/{action_id}/complete"


def test_my_work_lists_what_needs_the_managers_attention(web: TestClient, as_user: Client) -> None:
    seeded = seed_account(web)
    theirs = seed_account(web, name="Globex", manager="max", what="Max's own action")
    handle(
        web,
        HandOver(account_id=theirs.account_id, to="mia", effective_on=TODAY),
        reason="Max moves to APAC",
    )
    page = as_user("mia").get(PAGE)
    assert page.status_code == 200
    text = page.text
    overdue = text.split('id="h-overdue"')[1].split('id="h-soon"')[0]
    soon = text.split('id="h-soon"')[1].split('id="h-contacts"')[0]
    assert "Run the retrofit workshop" in overdue and "3 days late" in overdue
    assert "Send the pilot proposal" in soon and "in 5 days" in soon
    assert "Plan the QBR" not in text  # due in 30 days: beyond "soon" (14 days)
    assert "Actions due within 14 days" in text
    # Max's overdue action came with the account handed over to mia.
    assert "Max&#39;s own action" in overdue
    # The key people never contacted, with the log-an-interaction form.
    contacts = text.split('id="h-contacts"')[1].split('id="h-handovers"')[0]
    assert "Grace Hopper" in contacts and "never contacted" in contacts
    assert f"/app/my-work/people/{seeded.stakeholder_id}/interaction" in contacts
    handovers = text.split('id="h-handovers"')[1].split('id="h-due"')[0]
    assert "Globex" in handovers and "by max" in handovers
    assert f"/app/my-work/handovers/{theirs.account_id}/acknowledge" in handovers
    # Every item of the digest is on the page, counted as the digest counts it.
    digest = manager_digest(state(web).kam, state(web).views, "mia", today=TODAY, within_days=14)
    assert f"({len(digest.overdue_actions)})" in text.split('id="h-overdue"')[1][:80]
    for due in [*digest.reviews_due, *digest.reevaluations_due]:
        assert escape(due.account_name) in text.split('id="h-due"')[1]
    plan = state(web).kam.get_plan(seeded.plan_id)
    fields = hidden_fields(text, _complete(seeded.plan_id, seeded.overdue_id))
    assert fields["version"] == str(plan.version) and fields["csrf_token"] == csrf_of(text)
    # max no longer manages Globex: his work keeps only the action he still owns.
    theirs_page = as_user("max").get(PAGE).text
    assert "Max&#39;s own action" in theirs_page
    assert f"/app/my-work/people/{theirs.stakeholder_id}/interaction" not in theirs_page
    assert "Run the retrofit workshop" not in theirs_page


def test_completing_an_action_redirects_back_with_a_notice(
    web: TestClient, as_user: Client
) -> None:
    seeded = seed_account(web)
    mia = as_user("mia")
    before = log_head(web)
    target = _complete(seeded.plan_id, seeded.overdue_id)
    answer = post(mia, PAGE, target, {"outcome": "Scope agreed"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/app/my-work?done=complete"
    after = mia.get(answer.headers["location"]).text
    assert "Action completed." in after
    assert "Run the retrofit workshop" not in after
    written = [e for e in history(web, seeded.account_id) if e["position"] > before]
    assert [(e["event_type"], e["actor"]) for e in written] == [("ActionCompleted", "mia")]
    assert "Scope agreed" in written[0]["summary"]


def test_rescheduling_needs_a_reason_and_keeps_the_values(web: TestClient, as_user: Client) -> None:
    seeded = seed_account(web)
    mia = as_user("mia")
    target = f"/app/my-work/actions/{seeded.plan_id}/{seeded.overdue_id}/reschedule"
    before = log_head(web)
    refused = post(mia, PAGE, target, {"due_on": "2026-04-15"})
    assert refused.status_code == 409
    box = refused.text.split('class="refusal" role="alert"')[1].split("</div>")[0]
    assert "needs a reason" in box
    assert 'value="2026-04-15"' in refused.text
    assert log_head(web) == before
    bad_day = post(mia, PAGE, target, {"due_on": "15/04/2026", "reason": "Leave"})
    assert bad_day.status_code == 422
    assert "Please check the form — due on:" in bad_day.text
    assert 'value="15/04/2026"' in bad_day.text and 'value="Leave"' in bad_day.text
    assert log_head(web) == before
    answer = post(mia, PAGE, target, {"due_on": "2026-04-15", "reason": "Plant shut"})
    assert answer.status_code == 303
    assert "Action rescheduled." in mia.get(answer.headers["location"]).text
    last = history(web, seeded.account_id)[-1]
    assert (last["event_type"], last["actor"], last["reason"]) == (
        "ActionRescheduled",
        "mia",
        "Plant shut",
    )


def test_logging_an_interaction_and_acknowledging_a_handover(
    web: TestClient, as_user: Client
) -> None:
    seeded = seed_account(web)
    theirs = seed_account(web, name="Globex", manager="max", person="Hank Scorpio")
    handle(
        web,
        HandOver(account_id=theirs.account_id, to="mia", effective_on=TODAY),
        reason="Max moves to APAC",
    )
    mia = as_user("mia")
    target = f"/app/my-work/people/{seeded.stakeholder_id}/interaction"
    fields = {"kind": "call", "on": "2026-03-09", "summary": "Renewal call", "sentiment": "1"}
    answer = post(mia, PAGE, target, fields)
    assert answer.status_code == 303
    page = mia.get(answer.headers["location"]).text
    assert "Interaction logged." in page
    assert target not in page  # contacted now: within the cadence
    last = history(web, seeded.account_id)[-1]
    assert (last["event_type"], last["actor"]) == ("InteractionLogged", "mia")
    acknowledge = f"/app/my-work/handovers/{theirs.account_id}/acknowledge"
    answer = post(mia, PAGE, acknowledge, {"notes": "Met the team"})
    assert answer.status_code == 303
    assert "Handover acknowledged." in mia.get(answer.headers["location"]).text
    assert state(web).kam.get_account(theirs.account_id).pending_handover is None
    last = history(web, theirs.account_id)[-1]
    assert (last["event_type"], last["actor"]) == ("HandoverAcknowledged", "mia")


def test_a_stale_form_is_refused_with_what_changed(web: TestClient, as_user: Client) -> None:
    seeded = seed_account(web)
    mia = as_user("mia")
    opened = mia.get(PAGE).text
    # Meanwhile dora adds an action to the same plan (its version moves on).
    handle(
        web,
        AddAction(
            plan_id=seeded.plan_id, what=SCRIPT, owner="dora", due_on=TODAY + timedelta(days=60)
        ),
    )
    handle(
        web,
        RescheduleAction(
            plan_id=seeded.plan_id, action_id=seeded.soon_id, due_on=TODAY + timedelta(days=9)
        ),
        reason="Customer asked",
    )
    before = log_head(web)
    target = _complete(seeded.plan_id, seeded.overdue_id)
    stale = mia.post(target, data={**hidden_fields(opened, target), "outcome": "Done it"})
    assert stale.status_code == 409
    assert "Someone changed this account since you opened the page; nothing was saved." in (
        stale.text
    )
    changes = stale.text.split("Here is what changed:")[1].split("</ol>")[0]
    assert escape(SCRIPT, quote=False) in changes and SCRIPT not in stale.text
    assert "Customer asked" in changes
    assert 'value="Done it"' in stale.text
    assert log_head(web) == before
    again = mia.post(target, data={**hidden_fields(stale.text, target), "outcome": "Done it"})
    assert again.status_code == 303


def test_an_action_someone_else_completed_is_refused_at_the_top(
    web: TestClient, as_user: Client
) -> None:
    seeded = seed_account(web)
    mia = as_user("mia")
    target = _complete(seeded.plan_id, seeded.overdue_id)
    opened = hidden_fields(mia.get(PAGE).text, target)
    handle(web, CompleteAction(plan_id=seeded.plan_id, action_id=seeded.overdue_id, outcome="Done"))
    # Without the page's version the command itself refuses: the action is completed.
    unversioned = {k: v for k, v in opened.items() if k != "version"}
    before = log_head(web)
    answer = mia.post(target, data={**unversioned, "outcome": "Me too"})
    assert answer.status_code == 409
    assert "Not done:" in answer.text and 'class="refusal"' in answer.text
    assert log_head(web) == before


@pytest.mark.parametrize("name", ["audrey", "vic"])
def test_auditors_and_viewers_have_no_work_here(
    web: TestClient, as_user: Client, name: str
) -> None:
    seeded = seed_account(web)
    client = as_user(name)
    shown = client.get(PAGE)
    assert shown.status_code == 403
    assert "cannot change anything" in shown.text
    before = log_head(web)
    answer = client.post(
        _complete(seeded.plan_id, seeded.overdue_id),
        data={"csrf_token": csrf_of(shown.text), "outcome": "Sneaky"},
    )
    assert answer.status_code == 403
    assert log_head(web) == before


def test_a_manager_cannot_complete_another_managers_action(
    web: TestClient, as_user: Client
) -> None:
    seeded = seed_account(web)
    max_ = as_user("max")
    page = max_.get(PAGE)
    assert "Nothing needs your attention today." in page.text
    before = log_head(web)
    answer = max_.post(
        _complete(seeded.plan_id, seeded.overdue_id),
        data={"csrf_token": csrf_of(page.text), "outcome": "Not mine"},
    )
    assert answer.status_code == 403
    assert "You may not do this: max neither manages account" in answer.text
    assert log_head(web) == before
    no_token = max_.post(_complete(seeded.plan_id, seeded.overdue_id), data={"outcome": "x"})
    assert no_token.status_code == 403 and log_head(web) == before


def test_names_and_actions_are_shown_as_text(web: TestClient, as_user: Client) -> None:
    seed_account(web, name=SCRIPT, person=SCRIPT, what=SCRIPT)
    page = as_user("mia").get(PAGE)
    assert page.status_code == 200
    assert SCRIPT not in page.text
    assert page.text.count(escape(SCRIPT, quote=False)) >= 3
    assert as_user("mia").get(f"{PAGE}?done=hacked").status_code == 422


def test_every_demo_manager_sees_their_work_and_every_account_its_forms(
    web: TestClient, as_user: Client
) -> None:
    from kam_api.demo.words import MANAGERS
    from tests.web.support import load_demo_into, password_of

    summary = load_demo_into(web, accounts=6)
    listed = 0
    for manager in MANAGERS:
        # Some demo managers are the tests' colleagues already (added without a password).
        state(web).users.set_password(manager, password_of(manager), actor="test")
        page = as_user(manager).get(PAGE)
        assert page.status_code == 200, (manager, page.text)
        digest = manager_digest(
            state(web).kam, state(web).views, manager, today=TODAY, within_days=14
        )
        assert f'Overdue actions <span class="count">({len(digest.overdue_actions)})' in page.text
        listed += digest.items
    assert listed > 0  # the demo gives its managers work to do
    dora = as_user("dora")
    for name in summary.account_names:
        account_id = state(web).kam.find_account_by_name(name)
        page = dora.get(f"/app/accounts/{account_id}/update")
        assert page.status_code == 200, (name, page.text)
        assert f'action="/app/accounts/{account_id}/update/feedback"' in page.text
