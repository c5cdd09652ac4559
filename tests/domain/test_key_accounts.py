"""KeyAccount: given an account built by commands, when one command, then events and state."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)

from kam_domain.base import replay
from kam_domain.errors import (
    AccountExitedError,
    HandoverPendingError,
    IllegalStageTransitionError,
    InvalidValueError,
    KamError,
    ManagerAlreadyAssignedError,
    NoLowerTierError,
    NoManagerError,
    NoPendingHandoverError,
    NotClassifiedError,
    NotIncomingManagerError,
    ReasonRequiredError,
    RiskAlreadyMitigatedError,
    RiskNotFoundError,
    ServiceProfileUnchangedError,
    TeamMemberAlreadyPresentError,
    TeamMemberNotFoundError,
    TierCapExceededError,
)
from kam_domain.key_accounts import (
    AccountRisk,
    Competitor,
    KeyAccount,
    ManagerTenure,
    PendingHandover,
)
from kam_domain.transcodings import register_kam_transcodings
from kam_domain.values import (
    AccountKind,
    EngagementLevel,
    Envelope,
    Financials,
    FocusWeights,
    KamRole,
    ReevaluationDecision,
    SelectionCriteria,
    ServiceProfile,
    Stage,
    ThreatLevel,
    Tier,
)

WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


#: When the accounts of these tests were registered: before their handovers.
REGISTERED = datetime(2026, 1, 5, tzinfo=UTC)


def meta(actor: str = "ann", *, reason: str | None = None, on: datetime | None = None) -> Envelope:
    return Envelope(actor=actor, occurred_on=on, reason=reason, correlation_id="req-1")


def registered(**overrides: Any) -> KeyAccount:
    """Given: a freshly registered account whose Registered event is already collected."""
    args: dict[str, Any] = {
        "name": "Acme Industries",
        "industry": "Manufacturing",
        "region": "EMEA",
        "service_profile": ServiceProfile.PREMIUM,
        # Registered in the world before the handovers these tests make (else: the day the
        # test runs, and a handover before it is refused).
        "meta": meta(on=REGISTERED),
    }
    account = KeyAccount.register_account(**(args | overrides))
    account.collect_events()
    return account


def managed_by(manager: str = "bob") -> KeyAccount:
    account = registered()
    account.assign_manager(manager=manager, meta=meta())
    account.collect_events()
    return account


def handed_over(to: str = "cat") -> KeyAccount:
    account = managed_by("bob")
    account.hand_over(to=to, effective_on=date(2026, 4, 1), meta=meta(reason="bob moves to APAC"))
    account.collect_events()
    return account


def criteria(score: int = 4) -> SelectionCriteria:
    return SelectionCriteria(*([score] * 8))


def state(account: KeyAccount) -> dict[str, Any]:
    return copy.deepcopy({k: v for k, v in account.__dict__.items() if k != "_pending_events"})


def assert_refused(
    account: KeyAccount, error: type[KamError], command: Callable[[KeyAccount], object]
) -> None:
    """Then: the command raises ``error``, emits nothing and leaves the state as it was."""
    before = state(account)
    with pytest.raises(error):
        command(account)
    assert account.collect_events() == []
    assert state(account) == before


def only_event(account: KeyAccount, event_type: type[Any]) -> Any:
    events = account.collect_events()
    assert [type(e) for e in events] == [event_type]
    return events[0]


def kam_transcoder() -> JSONTranscoder:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    register_kam_transcodings(transcoder)
    return transcoder


# --- Registration -----------------------------------------------------------------------------


def test_registering_an_account_starts_it_in_the_strategy_stage_without_tier_or_manager() -> None:
    account = KeyAccount.register_account(
        name="  Acme Industries ",
        industry="Manufacturing",
        region="EMEA",
        service_profile=ServiceProfile.STANDARD,
        meta=meta(),
    )
    event = only_event(account, KeyAccount.Registered)
    assert (event.name, event.industry, event.region) == (
        "Acme Industries",
        "Manufacturing",
        "EMEA",
    )
    assert event.service_profile is ServiceProfile.STANDARD
    assert event.meta == meta()
    assert isinstance(account.id, UUID)
    assert account.name == "Acme Industries"
    assert account.stage is Stage.STRATEGY
    assert (account.tier, account.kind, account.manager) == (None, None, None)
    assert (account.team, account.financials, account.risks) == ({}, {}, {})
    assert not account.exited
    assert not account.is_pending_handover


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": "   "},
        {"name": "x" * 201},
        {"industry": ""},
        {"region": " "},
        {"service_profile": "premium"},
    ],
)
def test_registering_refuses_missing_or_malformed_details(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidValueError):
        registered(**overrides)


def test_registering_accepts_a_name_of_200_characters() -> None:
    assert registered(name="x" * 200).name == "x" * 200


# --- Classification ---------------------------------------------------------------------------


def test_classifying_below_the_tier_cap_records_no_override() -> None:
    account = registered()
    account.classify(
        tier=Tier.KEY,
        kind=AccountKind.EXISTING,
        rationale="big spender",
        tier_at_cap=False,
        meta=meta(reason="ignored"),
    )
    event = only_event(account, KeyAccount.Classified)
    assert (event.tier, event.kind, event.rationale) == (
        Tier.KEY,
        AccountKind.EXISTING,
        "big spender",
    )
    assert event.previous_tier is None
    assert event.override_reason is None
    assert (account.tier, account.kind, account.tier_rationale) == (
        Tier.KEY,
        AccountKind.EXISTING,
        "big spender",
    )


def test_classifying_beyond_the_tier_cap_needs_an_override_reason() -> None:
    assert_refused(
        registered(),
        TierCapExceededError,
        lambda a: a.classify(
            tier=Tier.STRATEGIC,
            kind=AccountKind.EXISTING,
            rationale="r",
            tier_at_cap=True,
            meta=meta(reason="  "),
        ),
    )


def test_classifying_beyond_the_tier_cap_with_a_reason_records_the_override() -> None:
    account = registered()
    account.classify(
        tier=Tier.STRATEGIC,
        kind=AccountKind.EMERGING,
        rationale="board wants it",
        tier_at_cap=True,
        meta=meta(reason="CEO sponsor"),
    )
    event = only_event(account, KeyAccount.Classified)
    assert event.override_reason == "CEO sponsor"
    assert account.tier is Tier.STRATEGIC


def test_reclassifying_records_the_previous_tier() -> None:
    account = registered()
    account.classify(
        tier=Tier.EMERGING,
        kind=AccountKind.EMERGING,
        rationale="new",
        tier_at_cap=False,
        meta=meta(),
    )
    account.collect_events()
    account.classify(
        tier=Tier.KEY, kind=AccountKind.EXISTING, rationale="grew", tier_at_cap=False, meta=meta()
    )
    assert only_event(account, KeyAccount.Classified).previous_tier is Tier.EMERGING
    assert account.tier is Tier.KEY


def test_reclassifying_into_the_same_tier_and_kind_updates_the_rationale() -> None:
    account = registered()
    for rationale in ("first", "second"):
        account.classify(
            tier=Tier.KEY,
            kind=AccountKind.EXISTING,
            rationale=rationale,
            tier_at_cap=False,
            meta=meta(),
        )
    events = account.collect_events()
    assert events[1].previous_tier is Tier.KEY
    assert account.tier_rationale == "second"


@pytest.mark.parametrize(
    ("tier", "kind", "rationale"),
    [
        (Tier.KEY, AccountKind.EXISTING, " "),
        ("key", AccountKind.EXISTING, "r"),
        (Tier.KEY, None, "r"),
    ],
)
def test_classifying_refuses_missing_values(tier: Any, kind: Any, rationale: str) -> None:
    assert_refused(
        registered(),
        InvalidValueError,
        lambda a: a.classify(
            tier=tier, kind=kind, rationale=rationale, tier_at_cap=False, meta=meta()
        ),
    )


# --- Selection criteria -----------------------------------------------------------------------


def test_scoring_the_criteria_sets_the_attractiveness() -> None:
    account = registered()
    scores = SelectionCriteria(5, 5, 5, 5, 1, 1, 1, 1)
    account.score_criteria(criteria=scores, meta=meta())
    event = only_event(account, KeyAccount.CriteriaScored)
    assert (event.criteria, event.attractiveness) == (scores, 50)
    assert (account.criteria, account.attractiveness) == (scores, 50)


def test_scoring_needs_selection_criteria() -> None:
    assert_refused(
        registered(),
        InvalidValueError,
        lambda a: a.score_criteria(criteria={"fit": 3}, meta=meta()),
    )


# --- Manager ----------------------------------------------------------------------------------


def test_assigning_the_first_manager_needs_no_reason() -> None:
    account = registered()
    account.assign_manager(manager=" bob ", meta=meta())
    event = only_event(account, KeyAccount.ManagerAssigned)
    assert (event.previous_manager, event.manager) == (None, "bob")
    assert account.manager == "bob"
    # No date given: the first tenure starts the day the assignment was recorded.
    assert account.manager_history == [ManagerTenure("bob", event.timestamp.date(), None)]


def test_assigning_a_manager_dates_the_tenure_from_when_it_happened() -> None:
    account = registered()
    account.assign_manager(manager="bob", meta=meta(on=WHEN))
    account.collect_events()
    assert account.manager_history == [ManagerTenure("bob", date(2026, 3, 2), None)]


def test_replacing_the_manager_needs_a_reason() -> None:
    assert_refused(
        managed_by("bob"),
        ReasonRequiredError,
        lambda a: a.assign_manager(manager="cat", meta=meta()),
    )


def test_replacing_the_manager_with_a_reason_records_the_previous_manager() -> None:
    account = managed_by("bob")
    account.assign_manager(manager="cat", meta=meta(reason="bob left"))
    event = only_event(account, KeyAccount.ManagerAssigned)
    assert (event.previous_manager, event.manager, event.meta.reason) == ("bob", "cat", "bob left")
    assert account.manager == "cat"
    assert account.manager_history[-1] == ManagerTenure("cat", event.timestamp.date(), "bob left")


def test_assigning_the_current_manager_again_is_refused() -> None:
    assert_refused(
        managed_by("bob"),
        ManagerAlreadyAssignedError,
        lambda a: a.assign_manager(manager="bob", meta=meta(reason="again")),
    )


def test_assigning_a_manager_while_a_handover_is_pending_is_refused() -> None:
    assert_refused(
        handed_over("cat"),
        HandoverPendingError,
        lambda a: a.assign_manager(manager="dan", meta=meta(reason="change")),
    )


def test_assigning_a_blank_manager_is_refused() -> None:
    assert_refused(
        registered(), InvalidValueError, lambda a: a.assign_manager(manager=" ", meta=meta())
    )


# --- Handover ---------------------------------------------------------------------------------


def test_handing_over_makes_the_new_manager_current_and_waits_for_acknowledgement() -> None:
    account = managed_by("bob")
    account.hand_over(to="cat", effective_on=date(2026, 4, 1), meta=meta(reason="reorg"))
    event = only_event(account, KeyAccount.HandedOver)
    assert (event.from_manager, event.to_manager) == ("bob", "cat")
    assert event.effective_on == date(2026, 4, 1)
    assert event.meta.reason == "reorg"
    assert account.manager == "cat"
    assert account.is_pending_handover
    assert account.pending_handover == PendingHandover("bob", "cat", date(2026, 4, 1), "reorg")
    assert account.manager_history[-1] == ManagerTenure("cat", date(2026, 4, 1), "reorg")


def test_handing_over_keeps_the_rest_of_the_team() -> None:
    account = managed_by("bob")
    account.add_team_member(member="dan", roles=[KamRole.INNOVATOR], meta=meta())
    account.hand_over(to="cat", effective_on=date(2026, 4, 1), meta=meta(reason="reorg"))
    assert account.team == {"dan": [KamRole.INNOVATOR]}


def test_the_outgoing_manager_leaves_the_team_on_handover() -> None:
    # Given Bob manages the account and leads its team, with Dan on it
    account = managed_by("bob")
    account.add_team_member(member="bob", roles=[KamRole.RELATIONSHIP_LEADER], meta=meta())
    account.add_team_member(member="dan", roles=[KamRole.INNOVATOR], meta=meta())
    account.collect_events()
    # When he hands it over to Cat
    account.hand_over(to="cat", effective_on=date(2026, 4, 1), meta=meta(reason="reorg"))
    # Then the event says he is not kept, and he is off the team; Dan stays
    assert only_event(account, KeyAccount.HandedOver).keep_on_team is False
    assert account.team == {"dan": [KamRole.INNOVATOR]}


def test_an_outgoing_manager_kept_on_purpose_stays_on_the_team() -> None:
    account = managed_by("bob")
    account.add_team_member(member="bob", roles=[KamRole.INNOVATOR], meta=meta())
    account.collect_events()
    account.hand_over(
        to="cat", effective_on=date(2026, 4, 1), keep_on_team=True, meta=meta(reason="reorg")
    )
    assert only_event(account, KeyAccount.HandedOver).keep_on_team is True
    assert account.team == {"bob": [KamRole.INNOVATOR]}


def test_keep_on_team_must_be_a_boolean() -> None:
    assert_refused(
        managed_by("bob"),
        InvalidValueError,
        lambda a: a.hand_over(
            to="cat", effective_on=date(2026, 4, 1), keep_on_team="no", meta=meta(reason="r")
        ),
    )


def test_a_stored_version_1_handover_still_keeps_the_team() -> None:
    # Given a handover stored before version 2: no keep_on_team, and the team stayed
    account = KeyAccount.register_account(
        name="Acme",
        industry="Retail",
        region="NA",
        service_profile=ServiceProfile.LIGHT,
        meta=meta(on=REGISTERED),  # before the handover (else: the day the test runs)
    )
    account.assign_manager(manager="bob", meta=meta())
    account.add_team_member(member="bob", roles=[KamRole.RELATIONSHIP_LEADER], meta=meta())
    account.hand_over(to="cat", effective_on=date(2026, 4, 1), meta=meta(reason="reorg"))
    *before, handover = account.collect_events()
    assert type(handover).class_version == 2
    mapper: Mapper[UUID] = Mapper(transcoder=kam_transcoder())
    stored = mapper.to_stored_event(handover)
    v1_state = mapper.transcoder.decode(stored.state)
    assert v1_state.pop("class_version") == 2
    del v1_state["keep_on_team"]
    v1 = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=mapper.transcoder.encode(v1_state),
    )
    # When it is read back
    upcast = mapper.to_domain_event(v1)
    # Then it means what it meant: Bob was kept on the team
    assert isinstance(upcast, KeyAccount.HandedOver)
    assert upcast.keep_on_team is True
    rebuilt = replay([*before, upcast])
    assert rebuilt is not None
    assert rebuilt.team == {"bob": [KamRole.RELATIONSHIP_LEADER]}
    assert rebuilt.manager == "cat"


def test_handing_over_needs_a_current_manager() -> None:
    assert_refused(
        registered(),
        NoManagerError,
        lambda a: a.hand_over(to="cat", effective_on=date(2026, 4, 1), meta=meta(reason="r")),
    )


def test_handing_over_needs_a_reason() -> None:
    assert_refused(
        managed_by("bob"),
        ReasonRequiredError,
        lambda a: a.hand_over(to="cat", effective_on=date(2026, 4, 1), meta=meta()),
    )


def test_handing_over_to_the_current_manager_is_refused() -> None:
    assert_refused(
        managed_by("bob"),
        ManagerAlreadyAssignedError,
        lambda a: a.hand_over(to="bob", effective_on=date(2026, 4, 1), meta=meta(reason="r")),
    )


def test_handing_over_again_before_acknowledgement_is_refused() -> None:
    assert_refused(
        handed_over("cat"),
        HandoverPendingError,
        lambda a: a.hand_over(to="dan", effective_on=date(2026, 5, 1), meta=meta(reason="r")),
    )


def test_handing_over_needs_a_calendar_date() -> None:
    assert_refused(
        managed_by("bob"),
        InvalidValueError,
        lambda a: a.hand_over(to="cat", effective_on=WHEN, meta=meta(reason="r")),
    )


def test_the_incoming_manager_acknowledges_the_handover() -> None:
    account = handed_over("cat")
    account.acknowledge_handover(notes="read the plan", meta=meta("cat"))
    event = only_event(account, KeyAccount.HandoverAcknowledged)
    assert (event.manager, event.notes, event.meta.actor) == ("cat", "read the plan", "cat")
    assert not account.is_pending_handover
    assert account.pending_handover is None
    assert account.manager == "cat"


@pytest.mark.parametrize("actor", ["bob", "ann", "Cat"])
def test_only_the_incoming_manager_can_acknowledge_the_handover(actor: str) -> None:
    assert_refused(
        handed_over("cat"),
        NotIncomingManagerError,
        lambda a: a.acknowledge_handover(notes=None, meta=meta(actor)),
    )


def test_acknowledging_without_a_pending_handover_is_refused() -> None:
    assert_refused(
        managed_by("bob"),
        NoPendingHandoverError,
        lambda a: a.acknowledge_handover(notes=None, meta=meta("bob")),
    )


def test_after_acknowledgement_the_account_can_be_handed_over_again() -> None:
    account = handed_over("cat")
    account.acknowledge_handover(notes=" ", meta=meta("cat"))
    assert account.collect_events()[0].notes is None
    account.hand_over(to="dan", effective_on=date(2026, 6, 1), meta=meta(reason="r"))
    assert only_event(account, KeyAccount.HandedOver).from_manager == "cat"


# --- Team -------------------------------------------------------------------------------------


def test_adding_a_team_member_with_roles() -> None:
    account = registered()
    roles = [KamRole.TECHNICAL_EXPERT, KamRole.PROJECT_MANAGER]
    account.add_team_member(member="dan", roles=roles, meta=meta())
    event = only_event(account, KeyAccount.TeamMemberAdded)
    assert (event.member, event.roles) == ("dan", roles)
    assert account.team == {"dan": roles}


@pytest.mark.parametrize(
    ("member", "roles"),
    [
        ("dan", []),
        ("dan", [KamRole.INNOVATOR, KamRole.INNOVATOR]),
        ("dan", ["innovator"]),
        ("dan", (KamRole.INNOVATOR,)),
        (" ", [KamRole.INNOVATOR]),
    ],
)
def test_adding_a_team_member_needs_a_name_and_distinct_roles(member: str, roles: Any) -> None:
    assert_refused(
        registered(),
        InvalidValueError,
        lambda a: a.add_team_member(member=member, roles=roles, meta=meta()),
    )


def test_adding_a_team_member_twice_is_refused() -> None:
    account = registered()
    account.add_team_member(member="dan", roles=[KamRole.INNOVATOR], meta=meta())
    account.collect_events()
    assert_refused(
        account,
        TeamMemberAlreadyPresentError,
        lambda a: a.add_team_member(member="dan", roles=[KamRole.COLLABORATOR], meta=meta()),
    )


def test_removing_a_team_member() -> None:
    account = registered()
    account.add_team_member(member="dan", roles=[KamRole.INNOVATOR], meta=meta())
    account.collect_events()
    account.remove_team_member(member="dan", meta=meta())
    assert only_event(account, KeyAccount.TeamMemberRemoved).member == "dan"
    assert account.team == {}


def test_removing_someone_not_on_the_team_is_refused() -> None:
    assert_refused(
        registered(),
        TeamMemberNotFoundError,
        lambda a: a.remove_team_member(member="dan", meta=meta()),
    )


# --- Focus and stage --------------------------------------------------------------------------


def test_setting_the_focus() -> None:
    account = registered()
    focus = FocusWeights(penetration=50, expansion=30, protection=20)
    account.set_focus(focus=focus, meta=meta())
    assert only_event(account, KeyAccount.FocusSet).focus == focus
    assert account.focus == focus


def test_setting_the_focus_needs_focus_weights() -> None:
    assert_refused(
        registered(), InvalidValueError, lambda a: a.set_focus(focus=(50, 30, 20), meta=meta())
    )


def test_advancing_to_the_next_stage() -> None:
    account = registered()
    account.advance_stage(to=Stage.RESEARCH, meta=meta())
    event = only_event(account, KeyAccount.StageAdvanced)
    assert (event.from_stage, event.to_stage) == (Stage.STRATEGY, Stage.RESEARCH)
    assert account.stage is Stage.RESEARCH


def test_the_cycle_returns_to_strategy_after_review() -> None:
    account = registered()
    for stage in [Stage.RESEARCH, Stage.ACTION_PLAN, Stage.EXECUTION, Stage.REVIEW, Stage.STRATEGY]:
        account.advance_stage(to=stage, meta=meta())
    assert account.stage is Stage.STRATEGY
    assert len(account.collect_events()) == 5


@pytest.mark.parametrize("to", [Stage.STRATEGY, Stage.ACTION_PLAN, Stage.REVIEW, "research"])
def test_skipping_or_repeating_a_stage_is_refused(to: Any) -> None:
    assert_refused(
        registered(), IllegalStageTransitionError, lambda a: a.advance_stage(to=to, meta=meta())
    )


# --- Financials -------------------------------------------------------------------------------


def record(account: KeyAccount, **overrides: Any) -> None:
    args: dict[str, Any] = {
        "period": "2026",
        "revenue": Decimal("1200000.00"),
        "gross_margin": Decimal("0.32"),
        "revenue_target": Decimal("1500000"),
        "currency": "EUR",
        "meta": meta(),
    }
    account.record_financials(**(args | overrides))


def test_recording_financials_for_a_period() -> None:
    account = registered()
    record(account, period=" 2026-Q1 ")
    event = only_event(account, KeyAccount.FinancialsRecorded)
    assert (
        event.period,
        event.revenue,
        event.gross_margin,
        event.revenue_target,
        event.currency,
    ) == (
        "2026-Q1",
        Decimal("1200000.00"),
        Decimal("0.32"),
        Decimal("1500000"),
        "EUR",
    )
    assert account.financials == {
        "2026-Q1": Financials(
            "2026-Q1", Decimal("1200000.00"), Decimal("0.32"), Decimal("1500000"), "EUR"
        )
    }


def test_recording_a_period_again_replaces_it() -> None:
    account = registered()
    record(account)
    record(account, revenue=Decimal(7), gross_margin=None, revenue_target=None, currency="USD")
    assert account.financials == {"2026": Financials("2026", Decimal(7), None, None, "USD")}


def test_recording_financials_allows_a_negative_gross_margin() -> None:
    account = registered()
    record(account, gross_margin=Decimal("-0.05"))
    assert account.financials["2026"].gross_margin == Decimal("-0.05")


@pytest.mark.parametrize(
    "overrides",
    [
        {"period": " "},
        {"period": "x" * 21},
        {"revenue": Decimal(-1)},
        {"revenue": 100.0},
        {"revenue": Decimal("NaN")},
        {"gross_margin": Decimal("Infinity")},
        {"revenue_target": Decimal("-0.01")},
        {"currency": "eur"},
        {"currency": "EURO"},
        {"currency": "E1R"},
    ],
)
def test_recording_financials_refuses_malformed_figures(overrides: dict[str, Any]) -> None:
    assert_refused(registered(), InvalidValueError, lambda a: record(a, **overrides))


def test_the_financials_upcaster_adds_an_empty_revenue_target() -> None:
    state: dict[str, Any] = {"period": "2025", "revenue": Decimal(1), "currency": "EUR"}
    KeyAccount.FinancialsRecorded.upcast_v1_v2(state)
    assert state["revenue_target"] is None


def test_a_stored_version_1_financials_event_is_read_as_version_2() -> None:
    account = KeyAccount.register_account(
        name="Acme",
        industry="Retail",
        region="NA",
        service_profile=ServiceProfile.LIGHT,
        meta=meta(),
    )
    record(account)
    created, current = account.collect_events()
    assert type(current).class_version == 2
    mapper: Mapper[UUID] = Mapper(transcoder=kam_transcoder())
    stored = mapper.to_stored_event(current)
    # Version 1 stored no revenue target and no class_version marker.
    v1_state = mapper.transcoder.decode(stored.state)
    assert v1_state.pop("class_version") == 2
    del v1_state["revenue_target"]
    v1 = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=mapper.transcoder.encode(v1_state),
    )

    upcast = mapper.to_domain_event(v1)

    assert isinstance(upcast, KeyAccount.FinancialsRecorded)
    assert upcast.revenue_target is None
    assert (upcast.period, upcast.revenue, upcast.meta) == ("2026", Decimal("1200000.00"), meta())
    rebuilt = replay([created, upcast])
    assert rebuilt is not None
    assert rebuilt.financials["2026"] == Financials(
        "2026", Decimal("1200000.00"), Decimal("0.32"), None, "EUR"
    )


# --- Customer voice ---------------------------------------------------------------------------


def test_recording_feedback_with_a_known_respondent() -> None:
    account = registered()
    respondent = uuid4()
    account.record_feedback(
        nps=9, csat=4, respondent_id=respondent, comment="great", meta=meta(on=WHEN)
    )
    event = only_event(account, KeyAccount.FeedbackRecorded)
    assert isinstance(event.feedback_id, UUID)
    assert (event.nps, event.csat, event.respondent_id, event.comment) == (
        9,
        4,
        respondent,
        "great",
    )
    assert account.feedback_count == 1
    feedback = account.latest_feedback
    assert feedback is not None
    assert (feedback.feedback_id, feedback.nps, feedback.occurred_on) == (
        event.feedback_id,
        9,
        WHEN,
    )


def test_the_account_keeps_only_the_latest_feedback_and_a_count() -> None:
    account = registered()
    account.record_feedback(nps=3, csat=None, respondent_id=None, comment="meh", meta=meta())
    account.record_feedback(nps=None, csat=5, respondent_id=None, comment="better", meta=meta())
    [_, latest] = account.collect_events()
    assert account.feedback_count == 2
    assert account.latest_feedback is not None
    assert account.latest_feedback.feedback_id == latest.feedback_id
    assert (account.latest_feedback.nps, account.latest_feedback.csat) == (None, 5)
    assert account.latest_feedback.comment == "better"


@pytest.mark.parametrize(("nps", "csat"), [(0, None), (10, None), (None, 1), (None, 5)])
def test_recording_feedback_needs_only_one_score(nps: int | None, csat: int | None) -> None:
    account = registered()
    account.record_feedback(nps=nps, csat=csat, respondent_id=None, comment=None, meta=meta())
    assert only_event(account, KeyAccount.FeedbackRecorded).respondent_id is None
    assert account.feedback_count == 1


@pytest.mark.parametrize(
    ("nps", "csat", "respondent"),
    [(None, None, None), (11, None, None), (-1, 3, None), (None, 0, None), (None, 6, None),
     (True, None, None), (5, None, "someone")],
)  # fmt: skip
def test_recording_feedback_refuses_missing_or_out_of_range_scores(
    nps: Any, csat: Any, respondent: Any
) -> None:
    assert_refused(
        registered(),
        InvalidValueError,
        lambda a: a.record_feedback(
            nps=nps, csat=csat, respondent_id=respondent, comment=None, meta=meta()
        ),
    )


def test_assessing_the_relationship() -> None:
    account = registered()
    account.assess_relationship(
        engagement=EngagementLevel.INDIFFERENT,
        trust=2,
        satisfaction=3,
        partner_rating=6,
        notes="cooling",
        meta=meta(),
    )
    event = only_event(account, KeyAccount.RelationshipAssessed)
    assert (
        event.engagement,
        event.trust,
        event.satisfaction,
        event.partner_rating,
        event.notes,
    ) == (
        EngagementLevel.INDIFFERENT,
        2,
        3,
        6,
        "cooling",
    )
    assert account.assessment_count == 1
    assessment = account.latest_assessment
    assert assessment is not None
    assert (assessment.engagement, assessment.partner_rating, assessment.assessed_by) == (
        EngagementLevel.INDIFFERENT,
        6,
        "ann",
    )


def test_the_account_keeps_only_the_latest_assessment_and_a_count() -> None:
    account = registered()
    for engagement, actor in (
        (EngagementLevel.ENGAGED, "ann"),
        (EngagementLevel.DISENGAGED, "bob"),
    ):
        account.assess_relationship(
            engagement=engagement,
            trust=3,
            satisfaction=3,
            partner_rating=5,
            notes=None,
            meta=meta(actor),
        )
    assert account.assessment_count == 2
    assert account.latest_assessment is not None
    assert (account.latest_assessment.engagement, account.latest_assessment.assessed_by) == (
        EngagementLevel.DISENGAGED,
        "bob",
    )


@pytest.mark.parametrize(
    ("engagement", "trust", "satisfaction", "partner_rating"),
    [
        (EngagementLevel.ENGAGED, 0, 3, 5),
        (EngagementLevel.ENGAGED, 6, 3, 5),
        (EngagementLevel.ENGAGED, 3, 0, 5),
        (EngagementLevel.ENGAGED, 3, 6, 5),
        (EngagementLevel.ENGAGED, 3, 3, -1),
        (EngagementLevel.ENGAGED, 3, 3, 11),
        ("engaged", 3, 3, 5),
    ],
)
def test_assessing_the_relationship_refuses_out_of_range_ratings(
    engagement: Any, trust: int, satisfaction: int, partner_rating: int
) -> None:
    assert_refused(
        registered(),
        InvalidValueError,
        lambda a: a.assess_relationship(
            engagement=engagement,
            trust=trust,
            satisfaction=satisfaction,
            partner_rating=partner_rating,
            notes=None,
            meta=meta(),
        ),
    )


# --- Competitors and risks --------------------------------------------------------------------


def test_noting_a_competitor() -> None:
    account = registered()
    account.note_competitor(name="Globex", threat=ThreatLevel.HIGH, notes="cheaper", meta=meta())
    event = only_event(account, KeyAccount.CompetitorNoted)
    assert (event.name, event.threat, event.notes) == ("Globex", ThreatLevel.HIGH, "cheaper")
    assert account.competitors == {"globex": Competitor("Globex", ThreatLevel.HIGH, "cheaper")}


def test_noting_a_competitor_again_updates_it_whatever_the_case() -> None:
    account = registered()
    account.note_competitor(name="Globex", threat=ThreatLevel.HIGH, notes="cheaper", meta=meta())
    account.note_competitor(name="GLOBEX", threat=ThreatLevel.LOW, notes=None, meta=meta())
    assert account.competitors == {"globex": Competitor("GLOBEX", ThreatLevel.LOW, None)}


@pytest.mark.parametrize(("name", "threat"), [(" ", ThreatLevel.LOW), ("Globex", "low")])
def test_noting_a_competitor_needs_a_name_and_threat(name: str, threat: Any) -> None:
    assert_refused(
        registered(),
        InvalidValueError,
        lambda a: a.note_competitor(name=name, threat=threat, notes=None, meta=meta()),
    )


def test_raising_a_risk_returns_its_id_and_keeps_it_open() -> None:
    account = registered()
    risk_id = account.raise_risk(
        title="Budget cut", severity=ThreatLevel.MEDIUM, revenue_at_risk=Decimal(50000), meta=meta()
    )
    event = only_event(account, KeyAccount.RiskRaised)
    assert (event.risk_id, event.title, event.severity, event.revenue_at_risk) == (
        risk_id,
        "Budget cut",
        ThreatLevel.MEDIUM,
        Decimal(50000),
    )
    risk = AccountRisk(risk_id, "Budget cut", ThreatLevel.MEDIUM, Decimal(50000))
    assert account.risks == {str(risk_id): risk}
    assert account.open_risks() == [risk]


@pytest.mark.parametrize(
    ("title", "severity", "revenue_at_risk"),
    [(" ", ThreatLevel.LOW, None), ("t", "low", None), ("t", ThreatLevel.LOW, Decimal(-1))],
)
def test_raising_a_risk_refuses_malformed_values(
    title: str, severity: Any, revenue_at_risk: Any
) -> None:
    assert_refused(
        registered(),
        InvalidValueError,
        lambda a: a.raise_risk(
            title=title, severity=severity, revenue_at_risk=revenue_at_risk, meta=meta()
        ),
    )


def with_risk() -> tuple[KeyAccount, UUID]:
    account = registered()
    risk_id = account.raise_risk(
        title="Budget cut", severity=ThreatLevel.HIGH, revenue_at_risk=None, meta=meta()
    )
    account.collect_events()
    return account, risk_id


def test_mitigating_a_risk_closes_it() -> None:
    account, risk_id = with_risk()
    account.mitigate_risk(risk_id=risk_id, mitigation="multi-year deal", meta=meta())
    event = only_event(account, KeyAccount.RiskMitigated)
    assert (event.risk_id, event.mitigation) == (risk_id, "multi-year deal")
    assert account.risks[str(risk_id)].mitigation == "multi-year deal"
    assert account.risks[str(risk_id)].is_mitigated
    assert account.open_risks() == []


def test_mitigating_an_unknown_risk_is_refused() -> None:
    account, _ = with_risk()
    assert_refused(
        account,
        RiskNotFoundError,
        lambda a: a.mitigate_risk(risk_id=uuid4(), mitigation="m", meta=meta()),
    )


def test_mitigating_a_risk_twice_is_refused() -> None:
    account, risk_id = with_risk()
    account.mitigate_risk(risk_id=risk_id, mitigation="first", meta=meta())
    account.collect_events()
    assert_refused(
        account,
        RiskAlreadyMitigatedError,
        lambda a: a.mitigate_risk(risk_id=risk_id, mitigation="again", meta=meta()),
    )


def test_mitigating_a_risk_needs_a_mitigation() -> None:
    account, risk_id = with_risk()
    assert_refused(
        account,
        InvalidValueError,
        lambda a: a.mitigate_risk(risk_id=risk_id, mitigation="", meta=meta()),
    )


# --- Re-evaluation and exit -------------------------------------------------------------------


def test_reevaluating_records_the_decision_without_exiting() -> None:
    account = registered()
    account.reevaluate_account(
        decision=ReevaluationDecision.EXIT, rationale="no growth", meta=meta(on=WHEN)
    )
    event = only_event(account, KeyAccount.Reevaluated)
    assert (event.decision, event.rationale) == (ReevaluationDecision.EXIT, "no growth")
    assert account.last_reevaluation is not None
    assert account.last_reevaluation.decision is ReevaluationDecision.EXIT
    assert account.last_reevaluation.occurred_on == WHEN
    assert not account.exited


@pytest.mark.parametrize(
    ("decision", "rationale"), [("retain", "r"), (ReevaluationDecision.RETAIN, "")]
)
def test_reevaluating_needs_a_decision_and_rationale(decision: Any, rationale: str) -> None:
    assert_refused(
        registered(),
        InvalidValueError,
        lambda a: a.reevaluate_account(decision=decision, rationale=rationale, meta=meta()),
    )


def classified(tier: Tier = Tier.STRATEGIC) -> KeyAccount:
    account = registered()
    account.classify(
        tier=tier, kind=AccountKind.EXISTING, rationale="r", tier_at_cap=False, meta=meta()
    )
    account.collect_events()
    return account


def test_a_downgrade_moves_the_account_to_the_next_tier_down_at_once() -> None:
    account = classified(Tier.STRATEGIC)
    account.reevaluate_account(
        decision=ReevaluationDecision.DOWNGRADE, rationale="growth stalled", meta=meta(on=WHEN)
    )
    reevaluated, classified_event = account.collect_events()
    assert isinstance(reevaluated, KeyAccount.Reevaluated)
    assert isinstance(classified_event, KeyAccount.Classified)
    assert (classified_event.tier, classified_event.previous_tier) == (Tier.KEY, Tier.STRATEGIC)
    assert classified_event.rationale == "growth stalled"
    assert (account.tier, account.kind) == (Tier.KEY, AccountKind.EXISTING)
    assert not account.exit_decided


def test_a_downgrade_may_name_a_lower_tier() -> None:
    account = classified(Tier.STRATEGIC)
    account.reevaluate_account(
        decision=ReevaluationDecision.DOWNGRADE, rationale="r", to_tier=Tier.EMERGING, meta=meta()
    )
    assert account.tier is Tier.EMERGING


@pytest.mark.parametrize(
    ("tier", "decision", "to_tier", "error"),
    [
        (None, ReevaluationDecision.DOWNGRADE, None, NotClassifiedError),
        (Tier.EMERGING, ReevaluationDecision.DOWNGRADE, None, NoLowerTierError),
        (Tier.KEY, ReevaluationDecision.DOWNGRADE, Tier.STRATEGIC, InvalidValueError),
        (Tier.KEY, ReevaluationDecision.DOWNGRADE, Tier.KEY, InvalidValueError),
        (Tier.KEY, ReevaluationDecision.RETAIN, Tier.EMERGING, InvalidValueError),
    ],
)
def test_a_downgrade_needs_a_lower_tier_to_go_to(
    tier: Tier | None, decision: ReevaluationDecision, to_tier: Tier | None, error: type[KamError]
) -> None:
    account = registered() if tier is None else classified(tier)
    assert_refused(
        account,
        error,
        lambda a: a.reevaluate_account(
            decision=decision, rationale="r", to_tier=to_tier, meta=meta()
        ),
    )


def test_a_downgrade_into_a_tier_at_its_cap_needs_an_override_reason() -> None:
    account = classified(Tier.STRATEGIC)
    assert_refused(
        account,
        TierCapExceededError,
        lambda a: a.reevaluate_account(
            decision=ReevaluationDecision.DOWNGRADE, rationale="r", tier_at_cap=True, meta=meta()
        ),
    )
    account.reevaluate_account(
        decision=ReevaluationDecision.DOWNGRADE,
        rationale="r",
        tier_at_cap=True,
        meta=meta(reason="board approved"),
    )
    event = account.collect_events()[-1]
    assert (event.tier, event.override_reason) == (Tier.KEY, "board approved")


def test_an_exit_decision_is_pending_until_the_exit_or_a_later_decision() -> None:
    account = classified()
    account.reevaluate_account(decision=ReevaluationDecision.EXIT, rationale="r", meta=meta())
    assert account.exit_decided
    account.reevaluate_account(decision=ReevaluationDecision.RETAIN, rationale="r", meta=meta())
    assert not account.exit_decided
    account.reevaluate_account(decision=ReevaluationDecision.EXIT, rationale="r", meta=meta())
    account.exit_account(meta=meta(reason="as decided"))
    assert account.exited and not account.exit_decided


def test_the_next_reevaluation_falls_due_by_the_service_profile_cadence() -> None:
    account = registered(
        service_profile=ServiceProfile.STANDARD, meta=meta(on=datetime(2026, 1, 10, tzinfo=UTC))
    )
    assert account.reevaluation_due_on == date(2026, 7, 9)  # registration + 180 days
    account.reevaluate_account(
        decision=ReevaluationDecision.RETAIN, rationale="r", meta=meta(on=WHEN)
    )
    assert account.reevaluated_on == WHEN.date()
    assert account.reevaluation_due_on == date(2026, 8, 29)  # 2 March + 180 days
    account.change_service_profile(service_profile=ServiceProfile.PREMIUM, meta=meta(reason="r"))
    assert account.reevaluation_due_on == date(2026, 5, 31)  # 2 March + 90 days


def test_a_reevaluation_without_a_day_is_dated_when_recorded() -> None:
    account = KeyAccount.register_account(
        name="Acme", industry="i", region="r", service_profile=ServiceProfile.LIGHT, meta=meta()
    )
    account.reevaluate_account(decision=ReevaluationDecision.RETAIN, rationale="r", meta=meta())
    events = account.collect_events()
    assert account.reevaluated_on == events[-1].timestamp.date()
    assert replay(events).reevaluated_on == events[-1].timestamp.date()


def test_changing_the_service_profile_records_both_profiles() -> None:
    account = registered(service_profile=ServiceProfile.STANDARD)
    account.change_service_profile(
        service_profile=ServiceProfile.LIGHT, meta=meta(reason="smaller spend")
    )
    event = only_event(account, KeyAccount.ServiceProfileChanged)
    assert (event.previous_profile, event.service_profile) == (
        ServiceProfile.STANDARD,
        ServiceProfile.LIGHT,
    )
    assert account.service_profile is ServiceProfile.LIGHT


@pytest.mark.parametrize(
    ("profile", "reason", "error"),
    [
        (ServiceProfile.LIGHT, None, ReasonRequiredError),
        (ServiceProfile.STANDARD, "r", ServiceProfileUnchangedError),
        ("light", "r", InvalidValueError),
    ],
)
def test_changing_the_service_profile_needs_a_reason_and_another_profile(
    profile: Any, reason: str | None, error: type[KamError]
) -> None:
    assert_refused(
        registered(service_profile=ServiceProfile.STANDARD),
        error,
        lambda a: a.change_service_profile(service_profile=profile, meta=meta(reason=reason)),
    )


def test_a_version_3_snapshot_gets_the_reevaluation_day_its_envelope_gave() -> None:
    account = registered()
    account.reevaluate_account(
        decision=ReevaluationDecision.RETAIN, rationale="r", meta=meta(on=WHEN)
    )
    account.collect_events()
    mapper: Mapper[UUID] = Mapper(transcoder=kam_transcoder())
    stored = mapper.to_stored_event(Snapshot.take(account))
    snapshot_state = mapper.transcoder.decode(stored.state)
    snapshot_state["state"]["class_version"] = 3
    del snapshot_state["state"]["reevaluated_on"]
    v3 = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=mapper.transcoder.encode(snapshot_state),
    )
    restored = mapper.to_domain_event(v3)
    assert isinstance(restored, Snapshot)
    assert restored.mutate(None) == account


def test_exiting_needs_a_reason() -> None:
    assert_refused(registered(), ReasonRequiredError, lambda a: a.exit_account(meta=meta()))


def test_exiting_archives_the_account_and_keeps_its_history() -> None:
    account = managed_by("bob")
    account.exit_account(meta=meta(reason="no longer strategic"))
    event = only_event(account, KeyAccount.Exited)
    assert event.meta.reason == "no longer strategic"
    assert account.exited
    assert account.manager == "bob"


def exited_account() -> tuple[KeyAccount, UUID]:
    account = managed_by("bob")
    account.add_team_member(member="dan", roles=[KamRole.INNOVATOR], meta=meta())
    risk_id = account.raise_risk(
        title="t", severity=ThreatLevel.LOW, revenue_at_risk=None, meta=meta()
    )
    account.exit_account(meta=meta(reason="done"))
    account.collect_events()
    return account, risk_id


AFTER_EXIT: dict[str, Callable[[KeyAccount, UUID], object]] = {
    "classify": lambda a, _: a.classify(
        tier=Tier.KEY, kind=AccountKind.EXISTING, rationale="r", tier_at_cap=False, meta=meta()
    ),
    "score_criteria": lambda a, _: a.score_criteria(criteria=criteria(), meta=meta()),
    "assign_manager": lambda a, _: a.assign_manager(manager="cat", meta=meta(reason="r")),
    "hand_over": lambda a, _: a.hand_over(
        to="cat", effective_on=date(2026, 1, 1), meta=meta(reason="r")
    ),
    "acknowledge_handover": lambda a, _: a.acknowledge_handover(notes=None, meta=meta("bob")),
    "add_team_member": lambda a, _: a.add_team_member(
        member="eve", roles=[KamRole.INNOVATOR], meta=meta()
    ),
    "remove_team_member": lambda a, _: a.remove_team_member(member="dan", meta=meta()),
    "set_focus": lambda a, _: a.set_focus(focus=FocusWeights(40, 30, 30), meta=meta()),
    "advance_stage": lambda a, _: a.advance_stage(to=Stage.RESEARCH, meta=meta()),
    "record_financials": lambda a, _: record(a),
    "record_feedback": lambda a, _: a.record_feedback(
        nps=9, csat=None, respondent_id=None, comment=None, meta=meta()
    ),
    "assess_relationship": lambda a, _: a.assess_relationship(
        engagement=EngagementLevel.ENGAGED,
        trust=3,
        satisfaction=3,
        partner_rating=7,
        notes=None,
        meta=meta(),
    ),
    "note_competitor": lambda a, _: a.note_competitor(
        name="Globex", threat=ThreatLevel.LOW, notes=None, meta=meta()
    ),
    "raise_risk": lambda a, _: a.raise_risk(
        title="t", severity=ThreatLevel.LOW, revenue_at_risk=None, meta=meta()
    ),
    "mitigate_risk": lambda a, risk_id: a.mitigate_risk(
        risk_id=risk_id, mitigation="m", meta=meta()
    ),
    "reevaluate": lambda a, _: a.reevaluate_account(
        decision=ReevaluationDecision.RETAIN, rationale="r", meta=meta()
    ),
    "exit": lambda a, _: a.exit_account(meta=meta(reason="again")),
}


@pytest.mark.parametrize("command", sorted(AFTER_EXIT))
def test_after_exit_every_command_is_refused(command: str) -> None:
    account, risk_id = exited_account()
    assert_refused(account, AccountExitedError, lambda a: AFTER_EXIT[command](a, risk_id))


# --- Across events ----------------------------------------------------------------------------


def full_history() -> tuple[KeyAccount, list[Any]]:
    account = KeyAccount.register_account(
        name="Acme",
        industry="Retail",
        region="NA",
        service_profile=ServiceProfile.LIGHT,
        meta=meta(on=REGISTERED),
    )
    account.classify(
        tier=Tier.KEY,
        kind=AccountKind.EXISTING,
        rationale="r",
        tier_at_cap=True,
        meta=meta(reason="o"),
    )
    account.score_criteria(criteria=criteria(3), meta=meta())
    account.assign_manager(manager="bob", meta=meta(on=WHEN))
    account.add_team_member(member="dan", roles=[KamRole.COLLABORATOR], meta=meta())
    account.hand_over(to="cat", effective_on=date(2026, 4, 1), meta=meta(reason="r"))
    account.acknowledge_handover(notes="ok", meta=meta("cat"))
    account.set_focus(focus=FocusWeights(20, 30, 50), meta=meta())
    account.advance_stage(to=Stage.RESEARCH, meta=meta())
    record(account)
    account.record_feedback(
        nps=7, csat=3, respondent_id=uuid4(), comment="fine", meta=meta(on=WHEN)
    )
    account.assess_relationship(
        engagement=EngagementLevel.ENGAGED,
        trust=4,
        satisfaction=4,
        partner_rating=8,
        notes=None,
        meta=meta(),
    )
    account.note_competitor(name="Globex", threat=ThreatLevel.MEDIUM, notes=None, meta=meta())
    risk_id = account.raise_risk(
        title="t", severity=ThreatLevel.HIGH, revenue_at_risk=Decimal("10.5"), meta=meta()
    )
    account.mitigate_risk(risk_id=risk_id, mitigation="m", meta=meta())
    account.remove_team_member(member="dan", meta=meta())
    account.change_service_profile(service_profile=ServiceProfile.STANDARD, meta=meta(reason="r"))
    # A downgrade records the decision and the classification one tier down.
    account.reevaluate_account(decision=ReevaluationDecision.DOWNGRADE, rationale="r", meta=meta())
    account.exit_account(meta=meta(reason="bye"))
    return account, list(account.collect_events())


def test_every_event_carries_its_envelope() -> None:
    _, events = full_history()
    assert len(events) == 20
    assert all(isinstance(e.meta, Envelope) and e.meta.correlation_id == "req-1" for e in events)


def test_replaying_the_events_rebuilds_the_account() -> None:
    account, events = full_history()
    assert replay(events) == account


def test_events_and_snapshots_survive_json_transcoding() -> None:
    account, events = full_history()
    mapper: Mapper[UUID] = Mapper(transcoder=kam_transcoder())
    decoded = [mapper.to_domain_event(mapper.to_stored_event(e)) for e in events]
    assert decoded == events
    assert replay(decoded) == account
    snapshot = Snapshot.take(account)
    restored = mapper.to_domain_event(mapper.to_stored_event(snapshot))
    assert isinstance(restored, Snapshot)
    assert restored.mutate(None) == account


def test_a_version_1_snapshot_with_feedback_and_assessment_lists_is_upcast() -> None:
    account = registered()
    feedback, assessments = [], []
    for nps, engagement in ((4, EngagementLevel.ENGAGED), (9, EngagementLevel.INDIFFERENT)):
        account.record_feedback(nps=nps, csat=None, respondent_id=None, comment=None, meta=meta())
        account.assess_relationship(
            engagement=engagement,
            trust=3,
            satisfaction=3,
            partner_rating=5,
            notes=None,
            meta=meta(),
        )
        feedback.append(account.latest_feedback)
        assessments.append(account.latest_assessment)
    account.collect_events()
    mapper: Mapper[UUID] = Mapper(transcoder=kam_transcoder())
    stored = mapper.to_stored_event(Snapshot.take(account))
    # Version 1 kept every response and assessment in lists, with no class_version marker.
    snapshot_state = mapper.transcoder.decode(stored.state)
    v1_state = snapshot_state["state"]
    assert v1_state.pop("class_version") == 5
    keys = ("latest_feedback", "feedback_count", "latest_assessment", "assessment_count")
    for key in (*keys, "reevaluated_on"):
        del v1_state[key]
    v1_state |= {"feedback": feedback, "assessments": assessments}
    v1 = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=mapper.transcoder.encode(snapshot_state),
    )

    restored = mapper.to_domain_event(v1)

    assert isinstance(restored, Snapshot)
    rebuilt = restored.mutate(None)
    assert rebuilt == account
    assert isinstance(rebuilt, KeyAccount)
    assert rebuilt.latest_feedback == feedback[-1]
    assert rebuilt.latest_assessment == assessments[-1]
    assert (rebuilt.feedback_count, rebuilt.assessment_count) == (2, 2)
