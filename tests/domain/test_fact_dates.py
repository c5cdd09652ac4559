"""When a fact happened: its own date, else the envelope's occurred_on, else the time it was
recorded (``kam_domain.dates.fact_time``), in the aggregates' state and on replay."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any

from kam_domain.account_plans import AccountPlan, PlanReview
from kam_domain.base import REPLAY_MARK, replay
from kam_domain.dates import event_fact_time, fact_time
from kam_domain.key_accounts import KeyAccount, ManagerTenure, RelationshipAssessment
from kam_domain.values import (
    EngagementLevel,
    Envelope,
    KpiStatus,
    ReevaluationDecision,
    ServiceProfile,
)

RECORDED = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
OCCURRED = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
ANN = Envelope(actor="ann")


def test_a_facts_own_date_beats_occurred_on_which_beats_the_recorded_time() -> None:
    assert fact_time(date(2026, 2, 1), OCCURRED, RECORDED) == datetime(2026, 2, 1, tzinfo=UTC)
    assert fact_time(None, OCCURRED, RECORDED) == OCCURRED
    assert fact_time(None, None, RECORDED) == RECORDED


def test_stored_events_are_dated_by_their_own_date_field_where_they_have_one() -> None:
    meta = Envelope(actor="ann", occurred_on=OCCURRED)
    interaction = {"on": date(2026, 2, 1), "meta": meta}
    handover = {"effective_on": date(2026, 9, 1), "meta": meta}
    departure = {"left_on": date(2026, 1, 31), "meta": meta}

    assert event_fact_time("Relationship.InteractionLogged", interaction, RECORDED).date() == date(
        2026, 2, 1
    )
    assert event_fact_time("KeyAccount.HandedOver", handover, RECORDED).date() == date(2026, 9, 1)
    assert event_fact_time("Relationship.LeftCompany", departure, RECORDED).date() == date(
        2026, 1, 31
    )
    assert event_fact_time("KeyAccount.Classified", {"meta": meta}, RECORDED) == OCCURRED
    assert event_fact_time("KeyAccount.Classified", {"meta": ANN}, RECORDED) == RECORDED
    assert event_fact_time("KeyAccount.Classified", {}, RECORDED) == RECORDED


def undated_account() -> KeyAccount:
    """Given: an account registered, managed and assessed with no date given anywhere."""
    account = KeyAccount.register_account(
        name="Acme", industry="Retail", region="NA", service_profile=ServiceProfile.LIGHT, meta=ANN
    )
    account.assign_manager(manager="ann", meta=ANN)
    account.record_feedback(nps=8, csat=None, respondent_id=None, comment=None, meta=ANN)
    account.assess_relationship(
        engagement=EngagementLevel.ENGAGED,
        trust=4,
        satisfaction=4,
        partner_rating=7,
        notes=None,
        meta=ANN,
    )
    account.reevaluate_account(decision=ReevaluationDecision.RETAIN, rationale="fine", meta=ANN)
    return account


def test_facts_given_no_date_are_dated_when_they_were_recorded() -> None:
    account = undated_account()
    events = account.collect_events()
    stamp = {type(e).__name__: e.timestamp for e in events}

    assert account.registered_on == stamp["Registered"].date()
    assert account.manager_history == [ManagerTenure("ann", stamp["ManagerAssigned"].date(), None)]
    assert account.latest_feedback is not None
    assert account.latest_feedback.occurred_on == stamp["FeedbackRecorded"]
    assert account.latest_assessment == RelationshipAssessment(
        EngagementLevel.ENGAGED, 4, 4, 7, None, "ann", stamp["RelationshipAssessed"]
    )
    assert account.last_reevaluation is not None
    assert account.last_reevaluation.occurred_on == stamp["Reevaluated"]


def test_events_stored_without_a_date_replay_with_their_recorded_time_not_the_replay_time() -> None:
    # Given events stored long ago without occurred_on
    events = [
        dataclasses.replace(e, timestamp=RECORDED) for e in undated_account().collect_events()
    ]

    # When they are replayed today
    account = replay(events)

    # Then every date in the state is the recorded time of its own event
    assert isinstance(account, KeyAccount)
    assert account.registered_on == RECORDED.date()
    assert account.manager_history[0].since == RECORDED.date()
    assert account.latest_assessment is not None
    assert account.latest_assessment.occurred_on == RECORDED
    assert account.latest_feedback is not None and account.latest_feedback.occurred_on == RECORDED
    assert account.modified_on == RECORDED


def test_occurred_on_still_dates_a_fact_when_given() -> None:
    account = KeyAccount.register_account(
        name="Acme",
        industry="Retail",
        region="NA",
        service_profile=ServiceProfile.LIGHT,
        meta=Envelope(actor="ann", occurred_on=OCCURRED),
    )
    account.assign_manager(manager="ann", meta=Envelope(actor="ann", occurred_on=OCCURRED))

    assert account.registered_on == OCCURRED.date()
    assert account.manager_history[0].since == OCCURRED.date()


def test_an_undated_plan_review_is_dated_when_it_was_recorded() -> None:
    plan = AccountPlan.draft_plan(
        account_id=KeyAccount.create_id(), period="2026", title=None, meta=ANN
    )
    plan.review_plan(notes="On track", kpi_status=KpiStatus.ON_TRACK, meta=ANN)
    reviewed = plan.collect_events()[-1]

    assert plan.reviews == [PlanReview("On track", KpiStatus.ON_TRACK, "ann", reviewed.timestamp)]


def v4_state(**changes: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "_created_on": RECORDED,
        "registered_on": None,
        "manager_history": [ManagerTenure("ann", date(2026, 5, 4), None)],
        "latest_feedback": None,
        "latest_assessment": None,
        "last_reevaluation": None,
    }
    return state | changes


def test_a_version_4_snapshot_gets_the_registration_day_it_was_recorded() -> None:
    state = v4_state()

    KeyAccount.upcast_v4_v5(state)

    assert state["registered_on"] == RECORDED.date()
    assert REPLAY_MARK not in state


def test_a_version_4_snapshot_missing_a_date_it_cannot_know_is_marked_for_replay() -> None:
    undated = v4_state(manager_history=[ManagerTenure("ann", None, None)])  # type: ignore[arg-type]
    assessed = v4_state(
        latest_assessment=RelationshipAssessment(
            EngagementLevel.ENGAGED,
            4,
            4,
            7,
            None,
            "ann",
            None,  # type: ignore[arg-type]
        )
    )

    KeyAccount.upcast_v4_v5(undated)
    KeyAccount.upcast_v4_v5(assessed)

    assert undated[REPLAY_MARK] is True and assessed[REPLAY_MARK] is True


def test_a_version_1_plan_snapshot_with_an_undated_review_is_marked_for_replay() -> None:
    undated: dict[str, Any] = {
        "reviews": [PlanReview("x", KpiStatus.ON_TRACK, "ann", None)]  # type: ignore[arg-type]
    }
    dated: dict[str, Any] = {"reviews": [PlanReview("x", KpiStatus.ON_TRACK, "ann", RECORDED)]}

    AccountPlan.upcast_v1_v2(undated)
    AccountPlan.upcast_v1_v2(dated)

    assert undated[REPLAY_MARK] is True and REPLAY_MARK not in dated
