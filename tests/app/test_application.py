"""The application service on both backends: every use case round-trips through the store."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from kam_domain.account_plans import AccountPlan
from kam_domain.application import CommandResult, KamApplication, VersionMismatchError
from kam_domain.errors import (
    AccountExitedError,
    AccountNameTakenError,
    AccountNotFoundError,
    ConflictError,
    PlanAlreadyExistsError,
    StakeholderNotFoundError,
    TierCapExceededError,
)
from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship
from kam_domain.values import (
    AccountKind,
    ActionStatus,
    BuyingRole,
    Disposition,
    EngagementLevel,
    Envelope,
    FocusWeights,
    InteractionKind,
    KamRole,
    KpiStatus,
    ObjectiveStatus,
    OpportunityKind,
    OpportunityStatus,
    PersonalData,
    ReevaluationDecision,
    SelectionCriteria,
    ServiceProfile,
    Stage,
    ThreatLevel,
    Tier,
)
from kam_store.features import store_features

ANN = Envelope(actor="ann", correlation_id="req-1")
WHY = Envelope(actor="ann", reason="agreed in the quarterly review")


def register(app: KamApplication, name: str = "Acme Industrial") -> CommandResult:
    return app.register_account(
        name=name,
        industry="Manufacturing",
        region="EMEA",
        service_profile=ServiceProfile.PREMIUM,
        meta=ANN,
    )


def identify(app: KamApplication, account_id: UUID, name: str = "Dana Smith") -> CommandResult:
    return app.identify_stakeholder(
        account_id,
        personal=PersonalData(name=name, email="dana@example.com"),
        title="CFO",
        buying_role=BuyingRole.ECONOMIC_BUYER,
        influence=4,
        reports_to=None,
        meta=ANN,
    )


def test_every_account_use_case_round_trips_through_the_store(app: KamApplication) -> None:
    account_id = register(app).id
    app.classify_account(
        account_id,
        tier=Tier.STRATEGIC,
        kind=AccountKind.EXISTING,
        rationale="largest customer",
        meta=ANN,
    )
    app.score_criteria(account_id, criteria=SelectionCriteria(5, 4, 4, 3, 2, 4, 5, 5), meta=ANN)
    app.assign_manager(account_id, manager="ann", meta=ANN)
    app.add_team_member(account_id, member="bob", roles=[KamRole.TECHNICAL_EXPERT], meta=ANN)
    app.add_team_member(account_id, member="cy", roles=[KamRole.INNOVATOR], meta=ANN)
    app.remove_team_member(account_id, member="cy", meta=ANN)
    app.set_focus(account_id, focus=FocusWeights(50, 30, 20), meta=ANN)
    app.advance_stage(account_id, to=Stage.RESEARCH, meta=ANN)
    app.record_financials(
        account_id,
        period="2026",
        revenue=Decimal("1200000.50"),
        gross_margin=Decimal("0.31"),
        revenue_target=Decimal("1500000"),
        currency="EUR",
        meta=ANN,
    )
    dana = identify(app, account_id).id
    app.record_feedback(account_id, nps=9, csat=4, respondent_id=dana, comment="good", meta=ANN)
    app.assess_relationship(
        account_id,
        engagement=EngagementLevel.ENGAGED,
        trust=4,
        satisfaction=4,
        partner_rating=8,
        notes=None,
        meta=ANN,
    )
    app.note_competitor(account_id, name="Globex", threat=ThreatLevel.HIGH, notes=None, meta=ANN)
    risk = app.raise_risk(
        account_id,
        title="Budget freeze",
        severity=ThreatLevel.MEDIUM,
        revenue_at_risk=Decimal("200000"),
        meta=ANN,
    )
    assert risk.entity_id is not None
    app.mitigate_risk(account_id, risk_id=risk.entity_id, mitigation="multi-year deal", meta=ANN)
    app.reevaluate_account(
        account_id, decision=ReevaluationDecision.RETAIN, rationale="still strategic", meta=ANN
    )
    handed = app.hand_over(account_id, to="eve", effective_on=date(2027, 1, 1), meta=WHY)
    acked = app.acknowledge_handover(
        account_id, notes="read the history", meta=Envelope(actor="eve")
    )

    account = app.get_account(account_id)
    assert account.version == acked.version == handed.version + 1
    assert acked.position > handed.position
    assert account.tier is Tier.STRATEGIC
    assert account.criteria == SelectionCriteria(5, 4, 4, 3, 2, 4, 5, 5)
    assert account.manager == "eve" and account.pending_handover is None
    assert set(account.team) == {"bob"}
    assert account.focus == FocusWeights(50, 30, 20)
    assert account.stage is Stage.RESEARCH
    assert account.financials["2026"].revenue == Decimal("1200000.50")
    assert account.competitors and account.risks
    assert app.find_account_by_name("ACME  industrial") == account_id

    exited = app.exit_account(account_id, meta=WHY)
    assert app.get_account(account_id).exited
    assert app.tier_counts()[Tier.STRATEGIC] == 0
    with pytest.raises(AccountExitedError):
        app.set_focus(account_id, focus=FocusWeights(100, 0, 0), meta=ANN)
    assert app.get_account(account_id).version == exited.version


def test_every_plan_use_case_round_trips_through_the_store(app: KamApplication) -> None:
    account_id = register(app).id
    dana = identify(app, account_id).id
    plan_id = app.draft_plan(account_id, period="2027", title="Grow", meta=ANN).id
    assert plan_id == AccountPlan.create_id(account_id, "2027")
    app.state_direction(
        plan_id,
        direction="Become the default supplier",
        priorities=["renewal", "expansion"],
        meta=ANN,
    )
    app.share_plan(plan_id, agreed=True, notes=None, meta=ANN)
    objective = app.set_objective(
        plan_id,
        statement="Grow revenue 10%",
        metric="revenue",
        baseline=Decimal(100),
        target=Decimal(110),
        due_on=date(2027, 12, 31),
        meta=ANN,
    ).entity_id
    assert objective is not None
    app.record_progress(plan_id, objective_id=objective, value=Decimal(104), note=None, meta=ANN)
    app.achieve_objective(plan_id, objective_id=objective, meta=ANN)
    opp = app.identify_opportunity(
        plan_id,
        kind=OpportunityKind.UPSELL,
        title="Analytics",
        value=Decimal(50000),
        probability=40,
        meta=ANN,
    ).entity_id
    lost = app.identify_opportunity(
        plan_id,
        kind=OpportunityKind.RENEWAL,
        title="Support",
        value=Decimal(9000),
        probability=80,
        meta=ANN,
    ).entity_id
    assert opp is not None and lost is not None
    app.advance_opportunity(plan_id, opportunity_id=opp, probability=70, note=None, meta=ANN)
    app.win_opportunity(plan_id, opportunity_id=opp, value=Decimal(55000), meta=ANN)
    app.lose_opportunity(plan_id, opportunity_id=lost, meta=WHY)
    actions = [
        app.add_action(
            plan_id,
            what=f"Action {i}",
            owner="ann",
            due_on=date(2027, 3, i + 1),
            stakeholder_ids=[dana],
            success_measure=None,
            objective_id=objective,
            meta=ANN,
        ).entity_id
        for i in range(3)
    ]
    a, b, c = (x for x in actions if x is not None)
    app.start_action(plan_id, action_id=a, meta=ANN)
    app.block_action(plan_id, action_id=a, meta=WHY)
    app.unblock_action(plan_id, action_id=a, meta=ANN)
    app.complete_action(plan_id, action_id=a, outcome="done", meta=ANN)
    app.reschedule_action(plan_id, action_id=b, due_on=date(2027, 6, 1), meta=WHY)
    app.reassign_action(plan_id, action_id=b, owner="bob", meta=ANN)
    app.cancel_action(plan_id, action_id=c, meta=WHY)
    app.answer_research_question(plan_id, question_id="needs-01", answer="Lower TCO", meta=ANN)
    app.review_plan(plan_id, notes="on track", kpi_status=KpiStatus.ON_TRACK, meta=ANN)
    app.close_plan(plan_id, meta=ANN)

    plan = app.get_plan(plan_id)
    assert plan.objectives[str(objective)].status is ObjectiveStatus.ACHIEVED
    assert plan.opportunities[str(opp)].status is OpportunityStatus.WON
    assert plan.opportunities[str(lost)].status is OpportunityStatus.LOST
    assert plan.actions[str(a)].status is ActionStatus.COMPLETED
    assert plan.actions[str(b)].owner == "bob" and plan.actions[str(b)].due_on == date(2027, 6, 1)
    assert plan.actions[str(c)].status is ActionStatus.CANCELLED
    assert plan.research_answers == {"needs-01": "Lower TCO"}
    assert plan.closed
    with pytest.raises(PlanAlreadyExistsError):
        app.draft_plan(account_id, period="2027", title=None, meta=ANN)


def test_every_relationship_use_case_round_trips_through_the_store(app: KamApplication) -> None:
    account_id = register(app).id
    dana = identify(app, account_id).id
    successor = identify(app, account_id, name="Lee Park").id
    app.change_disposition(dana, disposition=Disposition.SUPPORTER, meta=WHY)
    app.change_role(dana, buying_role=BuyingRole.CHAMPION, influence=5, meta=ANN)
    app.assign_relationship_owner(dana, owner="bob", meta=ANN)
    app.log_interaction(
        dana,
        kind=InteractionKind.MEETING,
        on=date(2026, 11, 2),
        summary="Renewal kick-off",
        sentiment=2,
        meta=ANN,
    )
    commitment = app.make_commitment(
        dana, description="Send the roadmap", due_on=date(2026, 12, 1), meta=ANN
    ).entity_id
    assert commitment is not None
    app.fulfil_commitment(dana, commitment_id=commitment, note=None, meta=ANN)
    app.record_departure(dana, left_on=date(2027, 2, 1), successor_id=successor, meta=ANN)
    app.erase_personal_data(dana, meta=WHY)

    relationship = app.get_stakeholder(dana)
    assert relationship.account_id == account_id
    assert relationship.disposition is Disposition.SUPPORTER
    assert relationship.buying_role is BuyingRole.CHAMPION and relationship.influence == 5
    assert relationship.owner == "bob"
    assert relationship.last_interaction_on == date(2026, 11, 2)
    assert relationship.successor_id == successor
    assert relationship.erased and relationship.personal is None


def test_every_event_records_its_envelope(app: KamApplication) -> None:
    occurred = datetime(2026, 10, 1, 9, 30, tzinfo=UTC)
    account_id = register(app).id
    app.set_focus(
        account_id,
        focus=FocusWeights(40, 40, 20),
        meta=Envelope(actor="bob", occurred_on=occurred, correlation_id="req-9"),
    )
    events = list(app.events.get(account_id))
    assert [e.meta.actor for e in events] == ["ann", "bob"]  # type: ignore[attr-defined]
    assert events[-1].meta.occurred_on == occurred  # type: ignore[attr-defined]
    assert events[-1].meta.correlation_id == "req-9"  # type: ignore[attr-defined]


def test_a_stale_save_raises_conflict_and_writes_nothing(app: KamApplication) -> None:
    account_id = register(app).id
    first = app.get_account(account_id)
    second = app.get_account(account_id)
    first.set_focus(focus=FocusWeights(100, 0, 0), meta=ANN)
    app.save(first)
    position = app.recorder.max_notification_id()
    second.set_focus(focus=FocusWeights(0, 100, 0), meta=ANN)
    second.advance_stage(to=Stage.RESEARCH, meta=ANN)
    with pytest.raises(ConflictError):
        app._save(second)
    assert app.recorder.max_notification_id() == position
    stored = app.get_account(account_id)
    assert stored.focus == FocusWeights(100, 0, 0) and stored.stage is Stage.STRATEGY


def test_an_expected_version_that_no_longer_matches_is_refused(app: KamApplication) -> None:
    result = register(app)
    app.set_focus(result.id, focus=FocusWeights(100, 0, 0), meta=ANN)
    with pytest.raises(VersionMismatchError):
        app.set_focus(
            result.id, focus=FocusWeights(0, 0, 100), meta=ANN, expected_version=result.version
        )
    assert app.get_account(result.id).focus == FocusWeights(100, 0, 0)


def test_account_names_are_unique_case_insensitively(app: KamApplication) -> None:
    register(app, "Acme Industrial")
    position = app.recorder.max_notification_id()
    with pytest.raises(AccountNameTakenError):
        register(app, "  ACME   industrial ")
    assert app.recorder.max_notification_id() == position


def test_two_writers_registering_the_same_name_at_once_one_succeeds(
    app: KamApplication,
) -> None:
    outcomes: list[object] = []
    barrier = threading.Barrier(2)

    def attempt(name: str) -> None:
        barrier.wait()
        try:
            outcomes.append(register(app, name))
        except (AccountNameTakenError, ConflictError) as error:
            outcomes.append(error)

    for _round in range(5):
        outcomes.clear()
        suffix = uuid4().hex[:6]
        threads = [
            threading.Thread(target=attempt, args=(n,))
            for n in (f"Twin {suffix}", f"TWIN {suffix}")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [o for o in outcomes if isinstance(o, CommandResult)]
        assert len(winners) == 1, outcomes
        assert isinstance(next(o for o in outcomes if o not in winners), AccountNameTakenError)


def test_classifying_beyond_the_tier_cap_needs_an_override_reason(
    store_env: dict[str, str],
) -> None:
    app = KamApplication(
        env=store_env,
        tier_caps={Tier.STRATEGIC: 1, Tier.KEY: 5, Tier.EMERGING: 5},
        store_features=store_features,
    )
    try:
        first, second = register(app, "One").id, register(app, "Two").id
        app.classify_account(
            first, tier=Tier.STRATEGIC, kind=AccountKind.EXISTING, rationale="r", meta=ANN
        )
        with pytest.raises(TierCapExceededError):
            app.classify_account(
                second, tier=Tier.STRATEGIC, kind=AccountKind.EXISTING, rationale="r", meta=ANN
            )
        app.classify_account(
            second, tier=Tier.STRATEGIC, kind=AccountKind.EXISTING, rationale="r", meta=WHY
        )
        last = list(app.events.get(second))[-1]
        assert last.override_reason == WHY.reason  # type: ignore[attr-defined]
        assert app.tier_counts()[Tier.STRATEGIC] == 2
        # Moving an account out of a tier frees its place.
        app.classify_account(
            first, tier=Tier.KEY, kind=AccountKind.EXISTING, rationale="r", meta=ANN
        )
        assert app.tier_counts() == {Tier.STRATEGIC: 1, Tier.KEY: 1, Tier.EMERGING: 0}
    finally:
        app.close()


def test_unknown_ids_raise_typed_not_found_errors(app: KamApplication) -> None:
    with pytest.raises(AccountNotFoundError):
        app.get_account(uuid4())
    with pytest.raises(StakeholderNotFoundError):
        app.log_interaction(
            uuid4(),
            kind=InteractionKind.CALL,
            on=date(2026, 1, 1),
            summary="x",
            sentiment=0,
            meta=ANN,
        )
    account_id = register(app).id
    dana = identify(app, account_id).id
    with pytest.raises(AccountNotFoundError):
        app.get_account(dana)  # an id of another aggregate type is not an account


def test_snapshots_are_taken_every_n_events_and_loading_uses_them(app: KamApplication) -> None:
    account_id = register(app).id
    for i in range(12):
        app.note_competitor(
            account_id, name=f"C{i % 3}", threat=ThreatLevel.LOW, notes=str(i), meta=ANN
        )
    assert app.snapshots is not None
    snapshots = list(app.snapshots.get(account_id))
    assert [s.originator_version for s in snapshots] == [5, 10]
    replayed = app.repository.get(account_id, version=13)
    assert app.get_account(account_id) == replayed
    assert app.get_account(account_id).version == 13
    # A snapshot-only load gives the same state as replaying every event from the start.
    from kam_domain.base import replay

    assert replay(app.events.get(account_id)) == app.get_account(account_id)


def test_a_stored_version_1_financials_event_is_upcast_on_read(app: KamApplication) -> None:
    account_id = register(app).id
    app.record_financials(
        account_id,
        period="2025",
        revenue=Decimal(10),
        gross_margin=None,
        revenue_target=Decimal(12),
        currency="EUR",
        meta=ANN,
    )
    stored = app.recorder.select_events(account_id, gt=1)[0]
    state = app.mapper.transcoder.decode(stored.state)
    assert state["revenue_target"] == Decimal(12)
    # Write what version 1 of the event looked like: no class_version, no revenue_target.
    del state["revenue_target"]
    state.pop("class_version", None)
    state["period"] = "2024"
    from eventsourcing.persistence import StoredEvent

    old = StoredEvent(
        originator_id=account_id,
        originator_version=3,
        topic=stored.topic,
        state=app.mapper.transcoder.encode(state),
    )
    app.recorder.insert_events([old])
    account = app.get_account(account_id)
    assert account.version == 3
    assert account.financials["2024"].revenue_target is None
    assert account.financials["2025"].revenue_target == Decimal(12)


def test_a_stakeholder_left_is_replaced_by_a_successor_of_the_same_account(
    app: KamApplication,
) -> None:
    acme, other = register(app, "Acme").id, register(app, "Other").id
    dana, stranger = identify(app, acme).id, identify(app, other).id
    from kam_domain.errors import InvalidValueError

    with pytest.raises(InvalidValueError):
        app.record_departure(dana, left_on=date(2027, 1, 1), successor_id=stranger, meta=ANN)
    assert app.get_stakeholder(dana).left_on is None


def test_aggregates_keep_their_types(app: KamApplication) -> None:
    account_id = register(app).id
    dana = identify(app, account_id).id
    plan = app.draft_plan(account_id, period="2027", title=None, meta=ANN).id
    assert isinstance(app.get_account(account_id), KeyAccount)
    assert isinstance(app.get_stakeholder(dana), Relationship)
    assert isinstance(app.get_plan(plan), AccountPlan)
