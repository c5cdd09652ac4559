"""Event summaries: real events from commands on the three aggregates, one line each."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import CanMutateAggregate
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    UUIDAsHex,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from kam_domain.account_plans import AccountPlan
from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship
from kam_domain.transcodings import register_kam_transcodings
from kam_domain.values import (
    AccountKind,
    BuyingRole,
    Disposition,
    EngagementLevel,
    Envelope,
    FocusWeights,
    InteractionKind,
    KamRole,
    KpiStatus,
    OpportunityKind,
    PersonalData,
    ReevaluationDecision,
    SelectionCriteria,
    ServiceProfile,
    Stage,
    ThreatLevel,
    Tier,
)
from kam_projections.summaries import EVENT_NAMES, MAX_LENGTH, introduced_label, summarize

ACCOUNT = UUID("00000000-0000-4000-8000-00000000000a")
BOSS = UUID("00000000-0000-4000-8000-00000000000b")
SUCCESSOR = UUID("00000000-0000-4000-8000-00000000000c")
PLAIN = Envelope(actor="ann", occurred_on=datetime(2026, 11, 2, 9, 30))
ZELDA = PersonalData(
    name="Zelda Quartermaine",
    email="zelda.q@customer.example",
    phone="+44 20 7946 0958",
    notes="Prefers early calls; daughter starts university in October",
)
#: Fragments of the personal data that must never reach a summary.
PERSONAL_FRAGMENTS = [
    "Zelda",
    "Quartermaine",
    "zelda.q",
    "customer.example",
    "7946",
    "early calls",
    "daughter",
]
_NOT_DATA = {"originator_id", "originator_version", "timestamp", "originator_topic"}

Named = tuple[str, dict[str, Any]]


def why(reason: str, actor: str = "ann") -> Envelope:
    return Envelope(actor=actor, occurred_on=datetime(2026, 11, 2, 9, 30), reason=reason)


def key_account_events() -> Sequence[CanMutateAggregate[UUID]]:
    account = KeyAccount.register_account(
        name="Acme Industrial",
        industry="Manufacturing",
        region="EMEA",
        service_profile=ServiceProfile.PREMIUM,
        meta=PLAIN,
    )
    account.classify(
        tier=Tier.STRATEGIC,
        kind=AccountKind.EXISTING,
        rationale="largest customer",
        tier_at_cap=False,
        meta=PLAIN,
    )
    account.score_criteria(criteria=SelectionCriteria(5, 4, 5, 3, 2, 4, 5, 4), meta=PLAIN)
    account.assign_manager(manager="ann", meta=PLAIN)
    account.hand_over(to="eve", effective_on=date(2027, 1, 1), meta=why("ann leaves the company"))
    account.acknowledge_handover(notes="read the plan", meta=Envelope(actor="eve"))
    account.hand_over(to="kim", effective_on=date(2027, 2, 1), meta=why("eve moves to sales"))
    account.cancel_handover(meta=why("kim declined", actor="dora"))
    account.add_team_member(
        member="bob", roles=[KamRole.TECHNICAL_EXPERT, KamRole.INNOVATOR], meta=PLAIN
    )
    account.change_team_roles(
        member="bob", roles=[KamRole.PROJECT_MANAGER], meta=why("runs the rollout now")
    )
    account.remove_team_member(member="bob", meta=why("moved to another account"))
    account.set_focus(focus=FocusWeights(50, 30, 20), meta=PLAIN)
    account.advance_stage(to=Stage.RESEARCH, meta=PLAIN)
    account.advance_stage(to=Stage.ACTION_PLAN, meta=PLAIN)
    account.record_financials(
        period="2026",
        revenue=Decimal("1200000.50"),
        gross_margin=Decimal("0.31"),
        revenue_target=Decimal("1500000"),
        currency="EUR",
        meta=PLAIN,
    )
    account.record_feedback(nps=9, csat=4, respondent_id=None, comment="great", meta=PLAIN)
    account.assess_relationship(
        engagement=EngagementLevel.ENGAGED,
        trust=4,
        satisfaction=3,
        partner_rating=7,
        notes=None,
        meta=PLAIN,
    )
    account.note_competitor(name="Globex", threat=ThreatLevel.HIGH, notes=None, meta=PLAIN)
    risk_id = account.raise_risk(
        title="Sponsor retires",
        severity=ThreatLevel.HIGH,
        revenue_at_risk=Decimal("250000"),
        meta=PLAIN,
    )
    account.mitigate_risk(risk_id=risk_id, mitigation="Met the successor twice", meta=PLAIN)
    account.reevaluate_account(
        decision=ReevaluationDecision.RETAIN, rationale="growth is on track", meta=PLAIN
    )
    account.change_service_profile(service_profile=ServiceProfile.LIGHT, meta=why("smaller spend"))
    account.exit_account(meta=why("customer acquired by a competitor"))
    return account.collect_events()


def plan_events() -> Sequence[CanMutateAggregate[UUID]]:
    plan = AccountPlan.draft_plan(
        account_id=ACCOUNT, period="2027", title="Grow in the Nordics", meta=PLAIN
    )
    plan.state_direction(
        direction="Become the preferred supplier for automation",
        priorities=["Win the Oslo site", "Renew the framework"],
        meta=PLAIN,
    )
    plan.share_plan(agreed=True, notes=None, meta=PLAIN)
    plan.answer_research_question(
        question_id="competitors-01", answer="Globex supplies the sensors", meta=PLAIN
    )
    kept = plan.set_objective(
        statement="Grow wallet share",
        metric="share of spend %",
        baseline=Decimal(20),
        target=Decimal(35),
        due_on=date(2027, 12, 31),
        meta=PLAIN,
    )
    plan.record_progress(objective_id=kept, value=Decimal("24.5"), note="Q1 figure", meta=PLAIN)
    plan.achieve_objective(objective_id=kept, meta=PLAIN)
    missed = plan.set_objective(
        statement="Open the Oslo site",
        metric="sites",
        baseline=Decimal(0),
        target=Decimal(1),
        due_on=date(2027, 6, 30),
        meta=PLAIN,
    )
    plan.miss_objective(objective_id=missed, meta=why("site closed"))
    won = plan.identify_opportunity(
        kind=OpportunityKind.CROSS_SELL,
        title="Sensors for line 3",
        value=Decimal(250000),
        probability=40,
        meta=PLAIN,
    )
    plan.advance_opportunity(opportunity_id=won, probability=60, note=None, meta=PLAIN)
    plan.win_opportunity(opportunity_id=won, value=Decimal(240000), meta=PLAIN)
    lost = plan.identify_opportunity(
        kind=OpportunityKind.RENEWAL,
        title="Service renewal",
        value=Decimal(90000),
        probability=80,
        meta=PLAIN,
    )
    plan.lose_opportunity(opportunity_id=lost, meta=why("price"))
    qbr = plan.add_action(
        what="Run the QBR",
        owner="ann",
        due_on=date(2027, 3, 1),
        stakeholder_ids=[],
        success_measure=None,
        objective_id=kept,
        meta=PLAIN,
    )
    plan.start_action(action_id=qbr, meta=PLAIN)
    plan.block_action(action_id=qbr, meta=why("waiting for the sponsor"))
    plan.unblock_action(action_id=qbr, meta=PLAIN)
    plan.reschedule_action(action_id=qbr, due_on=date(2027, 4, 15), meta=why("customer asked"))
    plan.reassign_action(action_id=qbr, owner="eve", meta=PLAIN)
    plan.complete_action(action_id=qbr, outcome="Renewal agreed in principle", meta=PLAIN)
    demo = plan.add_action(
        what="Demo the new line",
        owner="bob",
        due_on=date(2027, 5, 1),
        stakeholder_ids=[],
        success_measure=None,
        objective_id=None,
        meta=PLAIN,
    )
    plan.cancel_action(action_id=demo, meta=why("line discontinued"))
    plan.review_plan(notes="Pipeline behind plan", kpi_status=KpiStatus.AT_RISK, meta=PLAIN)
    plan.close_plan(meta=PLAIN)
    return plan.collect_events()


def relationship_events() -> Sequence[CanMutateAggregate[UUID]]:
    stakeholder = Relationship.identify_stakeholder(
        account_id=ACCOUNT,
        personal=ZELDA,
        title="CFO",
        buying_role=BuyingRole.ECONOMIC_BUYER,
        influence=4,
        reports_to=BOSS,
        meta=PLAIN,
    )
    stakeholder.change_disposition(disposition=Disposition.SUPPORTER, meta=why("backed the pilot"))
    stakeholder.change_role(buying_role=BuyingRole.DECISION_MAKER, influence=5, meta=PLAIN)
    stakeholder.assign_relationship_owner(owner="ann", meta=PLAIN)
    stakeholder.correct_title(title="Chief Financial Officer", meta=why("was abbreviated"))
    stakeholder.correct_contact_details(
        email="zelda.quartermaine@customer.example", phone=None, meta=why("new address")
    )
    stakeholder.correct_reports_to(reports_to=SUCCESSOR, meta=why("reorganisation"))
    stakeholder.log_interaction(
        kind=InteractionKind.MEETING,
        on=date(2026, 11, 2),
        summary="Renewal kick-off",
        sentiment=2,
        meta=PLAIN,
    )
    promise = stakeholder.make_commitment(
        description="Send the roadmap", due_on=date(2026, 12, 1), meta=PLAIN
    )
    stakeholder.fulfil_commitment(commitment_id=promise, note=None, meta=PLAIN)
    stakeholder.record_departure(left_on=date(2027, 5, 31), successor_id=SUCCESSOR, meta=PLAIN)
    stakeholder.erase_personal_data(meta=why("erasure request"))
    return stakeholder.collect_events()


def _data(event: CanMutateAggregate[UUID]) -> dict[str, Any]:
    return {k: v for k, v in event.__dict__.items() if k not in _NOT_DATA}


@cache
def events() -> tuple[tuple[str, CanMutateAggregate[UUID]], ...]:
    """A full life of each aggregate, every event named "Aggregate.Event", in order."""
    return tuple(
        (f"{aggregate}.{type(e).__name__}", e)
        for aggregate, build in (
            ("KeyAccount", key_account_events),
            ("AccountPlan", plan_events),
            ("Relationship", relationship_events),
        )
        for e in build()
    )


def history() -> list[Named]:
    return [(name, _data(e)) for name, e in events()]


def first(event_name: str) -> dict[str, Any]:
    return next(data for name, data in history() if name == event_name)


def timeline() -> list[tuple[str, str]]:
    """(event name, summary) over the history, naming things as a timeline would."""
    labels: dict[UUID, str] = {}
    out = []
    for name, data in history():
        found = introduced_label(name, data)
        if found is not None:
            labels[found[0]] = found[1]
        out.append((name, summarize(name, data, labels=labels)))
    return out


def assert_well_formed(text: str) -> None:
    assert 0 < len(text) <= MAX_LENGTH, text
    assert len(text.splitlines()) == 1, text
    assert text[0].isupper(), text
    assert not text.endswith("."), text


# --- The event names ------------------------------------------------------------------


def defined_event_names() -> set[str]:
    """Every event class nested in the three aggregates, as "Aggregate.Event"."""
    names = set()
    for aggregate in (KeyAccount, AccountPlan, Relationship):
        for attribute in dir(aggregate):
            value = getattr(aggregate, attribute)
            if (
                inspect.isclass(value)
                and issubclass(value, CanMutateAggregate)
                and attribute not in ("Event", "Created")
            ):
                names.add(f"{aggregate.__name__}.{attribute}")
    return names


def test_event_names_are_exactly_the_events_the_aggregates_define() -> None:
    assert defined_event_names() == EVENT_NAMES


def test_the_history_here_holds_every_event_type() -> None:
    assert {name for name, _ in history()} == EVENT_NAMES


# --- Every event type -----------------------------------------------------------------

#: The summary of the first event of each type in the history, without labels.
EXPECTED = {
    "KeyAccount.Registered": (
        "Registered as a key account: Acme Industrial (Manufacturing, EMEA), "
        "premium service profile"
    ),
    "KeyAccount.Classified": "Classified as strategic (existing account)",
    "KeyAccount.CriteriaScored": "Selection criteria scored: attractiveness 75/100",
    "KeyAccount.ManagerAssigned": "Manager assigned: ann",
    "KeyAccount.HandedOver": (
        "Handed over from ann to eve, effective 2027-01-01 — reason: ann leaves the company"
    ),
    "KeyAccount.HandoverAcknowledged": "Handover acknowledged by eve",
    "KeyAccount.HandoverCancelled": (
        "Handover to kim cancelled; eve manages the account again — reason: kim declined"
    ),
    "KeyAccount.TeamMemberAdded": "Team member added: bob (technical expert, innovator)",
    "KeyAccount.TeamMemberRemoved": "Team member removed: bob — reason: moved to another account",
    "KeyAccount.TeamRolesChanged": (
        "Team roles of bob changed from technical expert, innovator to project manager — "
        "reason: runs the rollout now"
    ),
    "KeyAccount.FocusSet": "Focus set: penetration 50%, expansion 30%, protection 20%",
    "KeyAccount.StageAdvanced": "Stage advanced from strategy to research",
    "KeyAccount.FinancialsRecorded": (
        "Revenue for 2026: 1,200,000.50 EUR (target 1,500,000 EUR, margin 31%)"
    ),
    "KeyAccount.FeedbackRecorded": "NPS 9, CSAT 4 recorded",
    "KeyAccount.RelationshipAssessed": (
        "Relationship assessed: engaged, trust 4/5, satisfaction 3/5, partner rating 7/10"
    ),
    "KeyAccount.CompetitorNoted": "Competitor noted: Globex (high threat)",
    "KeyAccount.RiskRaised": (
        "Risk raised: 'Sponsor retires' (high severity, revenue at risk 250,000)"
    ),
    "KeyAccount.RiskMitigated": "Risk mitigated: Met the successor twice",
    "KeyAccount.Reevaluated": "Re-evaluated: retain (growth is on track)",
    "KeyAccount.ServiceProfileChanged": (
        "Service profile changed from premium to light — reason: smaller spend"
    ),
    "KeyAccount.Exited": (
        "Exited the key account programme — reason: customer acquired by a competitor"
    ),
    "AccountPlan.Drafted": "Plan for 2027 drafted: 'Grow in the Nordics'",
    "AccountPlan.DirectionStated": (
        "Direction stated with 2 priorities: Become the preferred supplier for automation"
    ),
    "AccountPlan.SharedWithCustomer": "Plan shared with the customer, agreed",
    "AccountPlan.ResearchQuestionAnswered": (
        "Research answer on competitors (competitors-01): Globex supplies the sensors"
    ),
    "AccountPlan.ObjectiveSet": (
        "Objective set: 'Grow wallet share' (share of spend % from 20 to 35 by 2027-12-31)"
    ),
    "AccountPlan.ObjectiveProgressRecorded": "Objective progress: 24.5 (Q1 figure)",
    "AccountPlan.ObjectiveAchieved": "Objective achieved",
    "AccountPlan.ObjectiveMissed": "Objective missed — reason: site closed",
    "AccountPlan.OpportunityIdentified": (
        "Opportunity identified: 'Sensors for line 3' (cross sell, value 250,000, probability 40%)"
    ),
    "AccountPlan.OpportunityAdvanced": "Opportunity probability now 60%",
    "AccountPlan.OpportunityWon": "Opportunity won at 240,000",
    "AccountPlan.OpportunityLost": "Opportunity lost — reason: price",
    "AccountPlan.ActionAdded": "Action 'Run the QBR' added for ann, due 2027-03-01",
    "AccountPlan.ActionStarted": "Action started",
    "AccountPlan.ActionBlocked": (
        "Action blocked (was in progress) — reason: waiting for the sponsor"
    ),
    "AccountPlan.ActionUnblocked": "Action unblocked, back to in progress",
    "AccountPlan.ActionRescheduled": (
        "Action rescheduled from 2027-03-01 to 2027-04-15 — reason: customer asked"
    ),
    "AccountPlan.ActionReassigned": "Action reassigned from ann to eve",
    "AccountPlan.ActionCompleted": "Action completed: Renewal agreed in principle",
    "AccountPlan.ActionCancelled": "Action cancelled — reason: line discontinued",
    "AccountPlan.Reviewed": "Plan reviewed, KPIs at risk: Pipeline behind plan",
    "AccountPlan.Closed": "Plan closed",
    "Relationship.Identified": "Stakeholder identified: CFO, economic buyer, influence 4/5",
    "Relationship.DispositionChanged": (
        "Disposition changed from neutral to supporter — reason: backed the pilot"
    ),
    "Relationship.RoleChanged": (
        "Buying role changed from economic buyer (influence 4/5) to decision maker (influence 5/5)"
    ),
    "Relationship.OwnerAssigned": "Relationship owner assigned: ann",
    "Relationship.TitleCorrected": (
        "Title corrected: Chief Financial Officer — reason: was abbreviated"
    ),
    "Relationship.ContactDetailsCorrected": (
        "Contact details corrected: email on record, no phone — reason: new address"
    ),
    "Relationship.ReportsToCorrected": (
        "Reporting line corrected: reports to another stakeholder of the account — "
        "reason: reorganisation"
    ),
    "Relationship.InteractionLogged": (
        "Meeting logged for 2026-11-02, sentiment +2: Renewal kick-off"
    ),
    "Relationship.CommitmentMade": "Commitment made: 'Send the roadmap', due 2026-12-01",
    "Relationship.CommitmentFulfilled": "Commitment fulfilled",
    "Relationship.LeftCompany": "Stakeholder left the company on 2027-05-31, successor named",
    "Relationship.PersonalDataErased": (
        "Stakeholder's personal data erased — reason: erasure request"
    ),
}


def test_every_event_type_has_an_expected_summary() -> None:
    assert set(EXPECTED) == EVENT_NAMES


@pytest.mark.parametrize("event_name", sorted(EVENT_NAMES))
def test_summary_of_each_event_type(event_name: str) -> None:
    assert summarize(event_name, first(event_name)) == EXPECTED[event_name]
    for name, data in history():
        if name == event_name:
            assert_well_formed(summarize(name, data))


def test_a_whole_topic_works_as_the_event_name() -> None:
    data = first("KeyAccount.FeedbackRecorded")
    assert summarize("kam_domain.key_accounts:KeyAccount.FeedbackRecorded", data) == (
        "NPS 9, CSAT 4 recorded"
    )


def test_the_event_class_and_its_name_give_the_same_summary_and_label() -> None:
    """The timeline passes the decoded event's class; history callers pass its name."""
    labels: dict[UUID, str] = {}
    for (name, event), (_, data) in zip(events(), history(), strict=True):
        assert introduced_label(type(event), data) == introduced_label(name, data)
        found = introduced_label(type(event), data)
        if found is not None:
            labels[found[0]] = found[1]
        by_class = summarize(type(event), data, labels=labels)
        assert by_class == summarize(name, data, labels=labels)


def test_an_event_class_no_summary_knows_falls_back_to_its_name() -> None:
    class Archived:  # e.g. an index aggregate's event
        pass

    assert summarize(Archived, {"meta": why("duplicate")}) == ("Archived — reason: duplicate")


# --- Labels: naming what an event refers to by id -------------------------------------


def test_a_timeline_names_actions_objectives_opportunities_risks_and_commitments() -> None:
    texts = [text for _, text in timeline()]
    for expected in (
        "Action 'Run the QBR' rescheduled from 2027-03-01 to 2027-04-15 — reason: customer asked",
        "Action 'Run the QBR' started",
        "Action 'Demo the new line' cancelled — reason: line discontinued",
        "Objective 'Grow wallet share' achieved",
        "Objective 'Open the Oslo site' missed — reason: site closed",
        "Opportunity 'Sensors for line 3' won at 240,000",
        "Risk 'Sponsor retires' mitigated: Met the successor twice",
        "Commitment 'Send the roadmap' fulfilled",
    ):
        assert expected in texts
    for text in texts:
        assert_well_formed(text)


def test_only_events_that_introduce_something_give_a_label() -> None:
    introducing = {name for name, data in history() if introduced_label(name, data)}
    assert introducing == {
        "AccountPlan.ActionAdded",
        "AccountPlan.ObjectiveSet",
        "AccountPlan.OpportunityIdentified",
        "KeyAccount.RiskRaised",
        "Relationship.CommitmentMade",
    }
    assert introduced_label("Relationship.Identified", first("Relationship.Identified")) is None


# --- No personal data -----------------------------------------------------------------


def test_no_summary_contains_the_stakeholders_personal_data() -> None:
    texts = [summarize(name, data) for name, data in history()]
    texts += [text for _, text in timeline()]
    for text in texts:
        for fragment in PERSONAL_FRAGMENTS:
            assert fragment.casefold() not in text.casefold(), text


def test_identified_without_a_title_still_names_no_one() -> None:
    data = first("Relationship.Identified") | {"title": None}
    assert summarize("Relationship.Identified", data) == (
        "Stakeholder identified: economic buyer, influence 4/5"
    )


# --- Decoded from storage -------------------------------------------------------------


def test_events_decoded_by_the_kam_transcoder_summarise_the_same() -> None:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    register_kam_transcodings(transcoder)
    mapper: Mapper[UUID] = Mapper(transcoder=transcoder)
    for name, event in events():
        stored = mapper.to_stored_event(event)
        assert stored.topic.endswith(f":{name}")
        decoded = mapper.transcoder.decode(stored.state)
        assert summarize(name, decoded) == summarize(name, _data(event))


# --- Details: signs, amounts, truncation ----------------------------------------------


@pytest.mark.parametrize(
    ("sentiment", "shown"), [(2, "+2"), (1, "+1"), (0, "0"), (-1, "-1"), (-2, "-2")]
)
def test_sentiment_is_signed(sentiment: int, shown: str) -> None:
    data = first("Relationship.InteractionLogged") | {"sentiment": sentiment}
    assert f"sentiment {shown}:" in summarize("Relationship.InteractionLogged", data)


def test_qbr_and_other_interactions() -> None:
    data = first("Relationship.InteractionLogged")
    qbr = summarize("Relationship.InteractionLogged", data | {"kind": InteractionKind.QBR})
    other = summarize("Relationship.InteractionLogged", data | {"kind": InteractionKind.OTHER})
    assert qbr.startswith("QBR logged for 2026-11-02")
    assert other.startswith("Interaction logged for 2026-11-02")


def test_financials_without_target_or_margin() -> None:
    data = first("KeyAccount.FinancialsRecorded") | {
        "revenue": Decimal("980000"),
        "revenue_target": None,
        "gross_margin": None,
        "currency": "USD",
    }
    assert summarize("KeyAccount.FinancialsRecorded", data) == "Revenue for 2026: 980,000 USD"


def test_feedback_with_only_one_score() -> None:
    data = first("KeyAccount.FeedbackRecorded")
    assert summarize("KeyAccount.FeedbackRecorded", data | {"csat": None}) == "NPS 9 recorded"
    assert summarize("KeyAccount.FeedbackRecorded", data | {"nps": None}) == "CSAT 4 recorded"


def test_reclassification_over_the_cap_says_so() -> None:
    data = first("KeyAccount.Classified") | {
        "tier": Tier.KEY,
        "previous_tier": Tier.STRATEGIC,
        "override_reason": "board decision",
        "meta": why("board decision"),
    }
    assert summarize("KeyAccount.Classified", data) == (
        "Classified as key (existing account, was strategic, over the tier cap)"
        " — reason: board decision"
    )


def test_long_free_text_and_reason_are_truncated() -> None:
    data = first("Relationship.InteractionLogged") | {
        "summary": "Walked through the renewal terms line by line. " * 40,
        "meta": why("The customer asked for a second meeting because of the budget freeze. " * 20),
    }
    text = summarize("Relationship.InteractionLogged", data)
    assert_well_formed(text)
    assert text.startswith("Meeting logged for 2026-11-02, sentiment +2: Walked through")
    assert "… — reason: The customer asked" in text
    assert text.endswith("…")


def test_research_answer_names_the_category_from_the_question_bank() -> None:
    data = first("AccountPlan.ResearchQuestionAnswered") | {
        "question_id": "value-02",
        "answer": "Predictive maintenance that cuts unplanned downtime across all plants " * 5,
    }
    text = summarize("AccountPlan.ResearchQuestionAnswered", data)
    assert text.startswith("Research answer on value we offer (value-02): Predictive")
    assert text.endswith("…")
    assert_well_formed(text)


def test_a_reason_with_a_trailing_period_loses_it() -> None:
    data = first("AccountPlan.OpportunityLost") | {"meta": why("Too expensive.")}
    assert summarize("AccountPlan.OpportunityLost", data) == (
        "Opportunity lost — reason: Too expensive"
    )


# --- Never raises ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_name", "expected"),
    [
        ("KeyAccount.SomeEventRecorded", "Some event recorded"),
        ("Widget.SomeEvent", "Some event recorded"),
        ("KeyAccount.QBRHeld", "QBR held"),
        ("", "Event recorded"),
        ("...", "Event recorded"),
    ],
)
def test_unknown_events_fall_back_to_their_name(event_name: str, expected: str) -> None:
    assert summarize(event_name, {}) == expected


def test_unknown_event_keeps_the_reason() -> None:
    assert summarize("Widget.Archived", {"meta": why("duplicate")}) == (
        "Archived — reason: duplicate"
    )


def test_known_event_with_data_that_does_not_fit_falls_back() -> None:
    assert summarize("KeyAccount.Classified", {}) == "Classified"
    assert summarize("AccountPlan.ActionRescheduled", {"meta": 42}) == "Action rescheduled"


@settings(max_examples=200, deadline=None)
@given(
    event_name=st.one_of(st.sampled_from(sorted(EVENT_NAMES)), st.text(max_size=60)),
    data=st.dictionaries(
        st.sampled_from(["meta", "tier", "kind", "summary", "on", "sentiment", "title", "x"]),
        st.one_of(st.none(), st.integers(), st.text(), st.dates(), st.decimals()),
    ),
)
def test_never_raises_and_stays_well_formed(event_name: str, data: dict[str, Any]) -> None:
    assert_well_formed(summarize(event_name, data))


@settings(max_examples=200, deadline=None)
@given(
    event_name=st.sampled_from(sorted(EVENT_NAMES)),
    text=st.text(min_size=1, max_size=400),
    # Envelopes refuse control characters in reasons (tested in tests/domain/test_base.py).
    reason=st.one_of(
        st.none(), st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=400)
    ),
)
def test_any_free_text_stays_within_the_rules(
    event_name: str, text: str, reason: str | None
) -> None:
    """Every text field of a real event replaced by arbitrary text, and any reason."""
    data = {k: text if isinstance(v, str) else v for k, v in first(event_name).items()}
    data["meta"] = Envelope(actor="ann", reason=reason)
    summary = summarize(event_name, data)
    assert_well_formed(summary)
