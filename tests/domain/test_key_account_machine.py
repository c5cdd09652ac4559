"""KeyAccount as a state machine: random valid and invalid commands keep the invariants,
refusals change nothing, and replaying the recorded events rebuilds an equal aggregate.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, Mapper, UUIDAsHex
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
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
    TeamRolesUnchangedError,
    TierCapExceededError,
)
from kam_domain.key_accounts import KeyAccount
from kam_domain.transcodings import register_kam_transcodings
from kam_domain.values import (
    AccountKind,
    EngagementLevel,
    Envelope,
    FocusWeights,
    KamRole,
    ReevaluationDecision,
    SelectionCriteria,
    ServiceProfile,
    Stage,
    ThreatLevel,
    Tier,
)

PEOPLE = ["ann", "bob", "cat", "dan"]
people = st.sampled_from([*PEOPLE, " "])
reasons = st.one_of(st.just("because"), st.sampled_from([None, "", "  "]))
# Exiting ends the run's interest, so a valid exit reason is drawn less often.
exit_reasons = st.sampled_from([None, "", "  ", "no longer strategic"])
texts = st.sampled_from(["ok", "grew fast", "", " ", "x" * 2001])
titles = st.sampled_from(["Budget cut", "Churn", "Budget cut", " ", "x" * 201])
notes = st.sampled_from([None, "", "note"])
on = st.one_of(st.none(), st.datetimes(timezones=st.just(UTC)))
amounts = st.decimals(min_value=-1, max_value=10**6, places=2, allow_nan=False)
roles = st.lists(st.sampled_from(KamRole), min_size=1, max_size=3, unique=True)
criteria = st.builds(SelectionCriteria, *([st.integers(1, 5)] * 8))
focus = st.builds(
    lambda p, e: FocusWeights(p, e, 100 - p - e), st.integers(0, 50), st.integers(0, 50)
)


def first_error(*checks: tuple[bool, type[KamError]]) -> type[KamError] | None:
    """The error the first failing check should raise, or None when all pass."""
    return next((error for failed, error in checks if failed), None)


def kam_mapper() -> Mapper[UUID]:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    register_kam_transcodings(transcoder)
    return Mapper(transcoder=transcoder)


class KeyAccountMachine(RuleBasedStateMachine):
    account: KeyAccount
    events: list[Any]
    raised_risks = Bundle("raised_risks")

    @initialize(
        profile=st.sampled_from(ServiceProfile),
        name=st.sampled_from(["Acme", " Globex "]),
        manager=st.one_of(st.none(), st.sampled_from(PEOPLE)),
    )
    def register_account(self, profile: ServiceProfile, name: str, manager: str | None) -> None:
        """Registers the account, and often gives it a manager so handovers get exercised."""
        self.account = KeyAccount.register_account(
            name=name, industry="Retail", region="EMEA", service_profile=profile, meta=self.meta()
        )
        self.events = list(self.account.collect_events())
        if manager is not None:
            self.account.assign_manager(manager=manager, meta=self.meta())
            self.events.extend(self.account.collect_events())

    @staticmethod
    def meta(
        actor: str = "ann", reason: str | None = None, when: datetime | None = None
    ) -> Envelope:
        return Envelope(actor=actor, reason=reason, occurred_on=when)

    def state(self) -> dict[str, Any]:
        return copy.deepcopy(
            {k: v for k, v in self.account.__dict__.items() if k != "_pending_events"}
        )

    def attempt(
        self, expected: type[KamError] | None, command: Callable[[], object], events: int = 1
    ) -> bool:
        """Runs the command: either it is refused with ``expected`` and nothing changes,
        or it is accepted with exactly ``events`` new events."""
        if self.account.exited:
            expected = AccountExitedError
        before = self.state()
        refusal: KamError | None = None
        try:
            command()
        except KamError as error:
            refusal = error
        if refusal is not None:
            assert expected is not None, f"unexpected refusal {refusal!r}"
            assert isinstance(refusal, expected), f"{refusal!r} is not {expected.__name__}"
            assert self.account.collect_events() == []
            assert self.state() == before
            event(f"refused: {type(refusal).__name__}")
            return False
        new = self.account.collect_events()
        self.events.extend(new)
        assert expected is None, f"expected {expected.__name__}"
        assert len(new) == events
        event(f"accepted: {type(new[0]).__name__}")
        return True

    # --- Rules ---------------------------------------------------------------------------

    @rule(
        tier=st.sampled_from(Tier),
        kind=st.sampled_from(AccountKind),
        rationale=texts,
        at_cap=st.booleans(),
        reason=reasons,
    )
    def classify(
        self, tier: Tier, kind: AccountKind, rationale: str, at_cap: bool, reason: str | None
    ) -> None:
        meta = self.meta(reason=reason)
        expected = first_error(
            (not rationale.strip() or len(rationale) > 2000, InvalidValueError),
            (at_cap and not meta.has_reason, TierCapExceededError),
        )
        previous = self.account.tier
        if self.attempt(
            expected,
            lambda: self.account.classify(
                tier=tier, kind=kind, rationale=rationale, tier_at_cap=at_cap, meta=meta
            ),
        ):
            event = self.events[-1]
            assert event.previous_tier is previous
            assert event.override_reason == (reason if at_cap else None)

    @rule(scores=st.one_of(criteria, st.just("3,3,3")))
    def score_criteria(self, scores: Any) -> None:
        expected = None if isinstance(scores, SelectionCriteria) else InvalidValueError
        self.attempt(
            expected, lambda: self.account.score_criteria(criteria=scores, meta=self.meta())
        )

    @rule(manager=people, reason=reasons, when=on)
    def assign_manager(self, manager: str, reason: str | None, when: datetime | None) -> None:
        meta, current = self.meta(reason=reason, when=when), self.account.manager
        expected = first_error(
            (not manager.strip(), InvalidValueError),
            (manager == current, ManagerAlreadyAssignedError),
            (self.account.is_pending_handover, HandoverPendingError),
            (current is not None and not meta.has_reason, ReasonRequiredError),
        )
        if self.attempt(expected, lambda: self.account.assign_manager(manager=manager, meta=meta)):
            recorded = self.account.modified_on  # the event just applied
            assert self.account.manager_history[-1].since == (when or recorded).date()

    @rule(to=people, reason=reasons, effective_on=st.dates(), keep=st.booleans())
    def hand_over(self, to: str, reason: str | None, effective_on: date, keep: bool) -> None:
        meta, current, team = self.meta(reason=reason), self.account.manager, self.account.team
        team = copy.deepcopy(team)
        expected = first_error(
            (not to.strip(), InvalidValueError),
            (effective_on < self.account.registered_on, InvalidValueError),
            (current is None, NoManagerError),
            (not meta.has_reason, ReasonRequiredError),
            (to == current, ManagerAlreadyAssignedError),
            (self.account.is_pending_handover, HandoverPendingError),
        )
        if self.attempt(
            expected,
            lambda: self.account.hand_over(
                to=to, effective_on=effective_on, keep_on_team=keep, meta=meta
            ),
        ):
            assert self.account.manager == to
            if not keep:  # the outgoing manager leaves the team unless kept on it
                team.pop(str(current), None)
            assert self.account.team == team

    @rule(incoming=st.booleans(), actor=st.sampled_from(PEOPLE), text=notes)
    def acknowledge_handover(self, incoming: bool, actor: str, text: str | None) -> None:
        pending = self.account.pending_handover
        if incoming and pending is not None:
            actor = pending.to_manager
        expected = first_error(
            (pending is None, NoPendingHandoverError),
            (pending is not None and actor != pending.to_manager, NotIncomingManagerError),
        )
        self.attempt(
            expected,
            lambda: self.account.acknowledge_handover(notes=text, meta=self.meta(actor=actor)),
        )

    @precondition(lambda self: self.account.manager and not self.account.is_pending_handover)
    @rule(
        to=st.sampled_from(PEOPLE),
        effective_on=st.dates(),
        then=st.sampled_from(["nothing", "incoming acknowledges", "someone else acknowledges"]),
        other=st.sampled_from(PEOPLE),
        keep=st.booleans(),
    )
    def hand_over_to_someone_else(
        self, to: str, effective_on: date, then: str, other: str, keep: bool
    ) -> None:
        """Most random handovers are refused, so this one mostly succeeds and may go on
        to an acknowledgement by the right or a wrong actor."""
        expected = ManagerAlreadyAssignedError if to == self.account.manager else None
        effective_on = max(effective_on, self.account.registered_on)
        meta = self.meta(reason="reorganisation")
        outgoing, team = self.account.manager, copy.deepcopy(self.account.team)
        if not self.attempt(
            expected,
            lambda: self.account.hand_over(
                to=to, effective_on=effective_on, keep_on_team=keep, meta=meta
            ),
        ):
            return
        if not keep:
            team.pop(str(outgoing), None)
        assert self.account.team == team
        if then != "nothing":
            self.acknowledge_pending_handover(then == "incoming acknowledges", other, None)

    @precondition(lambda self: self.account.is_pending_handover)
    @rule(incoming=st.booleans(), other=st.sampled_from(PEOPLE), text=notes)
    def acknowledge_pending_handover(self, incoming: bool, other: str, text: str | None) -> None:
        pending = self.account.pending_handover
        assert pending is not None
        actor = pending.to_manager if incoming else other
        expected = None if actor == pending.to_manager else NotIncomingManagerError
        if self.attempt(
            expected,
            lambda: self.account.acknowledge_handover(notes=text, meta=self.meta(actor=actor)),
        ):
            assert self.account.manager == pending.to_manager
            assert not self.account.is_pending_handover

    @rule(reason=reasons)
    def cancel_handover(self, reason: str | None) -> None:
        pending = self.account.pending_handover
        history = list(self.account.manager_history)
        meta = self.meta(actor="dora", reason=reason)
        expected = first_error(
            (pending is None, NoPendingHandoverError),
            (not meta.has_reason, ReasonRequiredError),
        )
        if self.attempt(expected, lambda: self.account.cancel_handover(meta=meta)):
            assert pending is not None
            assert self.account.manager == pending.from_manager
            assert self.account.manager_history == history[:-1]

    @rule(member=people, roles=st.one_of(roles, st.lists(st.sampled_from(KamRole), max_size=3)))
    def add_team_member(self, member: str, roles: list[KamRole]) -> None:
        expected = first_error(
            (not member.strip(), InvalidValueError),
            (not roles or len(set(roles)) != len(roles), InvalidValueError),
            (member in self.account.team, TeamMemberAlreadyPresentError),
        )
        self.attempt(
            expected,
            lambda: self.account.add_team_member(member=member, roles=roles, meta=self.meta()),
        )

    @rule(member=people)
    def remove_team_member(self, member: str) -> None:
        expected = None if member in self.account.team else TeamMemberNotFoundError
        self.attempt(
            expected, lambda: self.account.remove_team_member(member=member, meta=self.meta())
        )

    @rule(
        member=people,
        roles=st.one_of(roles, st.lists(st.sampled_from(KamRole), max_size=3)),
        reason=reasons,
    )
    def change_team_roles(self, member: str, roles: list[KamRole], reason: str | None) -> None:
        meta = self.meta(reason=reason)
        current = self.account.team.get(member.strip())
        expected = first_error(
            (current is None, TeamMemberNotFoundError),
            (not roles or len(set(roles)) != len(roles), InvalidValueError),
            (current is not None and set(roles) == set(current), TeamRolesUnchangedError),
            (not meta.has_reason, ReasonRequiredError),
        )
        if self.attempt(
            expected,
            lambda: self.account.change_team_roles(member=member, roles=roles, meta=meta),
        ):
            assert self.account.team[member.strip()] == roles

    @rule(weights=focus)
    def set_focus(self, weights: FocusWeights) -> None:
        self.attempt(None, lambda: self.account.set_focus(focus=weights, meta=self.meta()))

    @rule(to=st.sampled_from(Stage))
    def advance_stage(self, to: Stage) -> None:
        expected = None if to is self.account.stage.next else IllegalStageTransitionError
        self.attempt(expected, lambda: self.account.advance_stage(to=to, meta=self.meta()))

    @rule(
        period=st.sampled_from(["2026", "2027-Q1", "2026", "2027-Q1", " ", "p" * 21, "Q4/2026"]),
        revenue=amounts,
        margin=st.one_of(st.none(), amounts),
        goal=st.one_of(st.none(), amounts),
        currency=st.sampled_from(["EUR", "USD", "EUR", "USD", "eur", "EURO", "XYZ"]),
    )
    def record_financials(
        self,
        period: str,
        revenue: Decimal,
        margin: Decimal | None,
        goal: Decimal | None,
        currency: str,
    ) -> None:
        expected = first_error(
            (period not in ("2026", "2027-Q1"), InvalidValueError),
            (revenue < 0 or (goal is not None and goal < 0), InvalidValueError),
            (currency not in ("EUR", "USD"), InvalidValueError),
        )
        if self.attempt(
            expected,
            lambda: self.account.record_financials(
                period=period,
                revenue=revenue,
                gross_margin=margin,
                revenue_target=goal,
                currency=currency,
                meta=self.meta(),
            ),
        ):
            assert self.account.financials[period.strip()].revenue == revenue

    @rule(
        nps=st.one_of(st.none(), st.integers(-1, 11)),
        csat=st.one_of(st.none(), st.integers(0, 6)),
        respondent=st.one_of(st.none(), st.uuids()),
        comment=notes,
    )
    def record_feedback(
        self, nps: int | None, csat: int | None, respondent: UUID | None, comment: str | None
    ) -> None:
        expected = first_error(
            (nps is None and csat is None, InvalidValueError),
            (nps is not None and not 0 <= nps <= 10, InvalidValueError),
            (csat is not None and not 1 <= csat <= 5, InvalidValueError),
        )
        self.attempt(
            expected,
            lambda: self.account.record_feedback(
                nps=nps, csat=csat, respondent_id=respondent, comment=comment, meta=self.meta()
            ),
        )

    @rule(
        engagement=st.sampled_from(EngagementLevel),
        trust=st.integers(0, 6),
        satisfaction=st.integers(0, 6),
        rating=st.integers(-1, 11),
        text=notes,
    )
    def assess_relationship(
        self,
        engagement: EngagementLevel,
        trust: int,
        satisfaction: int,
        rating: int,
        text: str | None,
    ) -> None:
        in_range = 1 <= trust <= 5 and 1 <= satisfaction <= 5 and 0 <= rating <= 10
        self.attempt(
            None if in_range else InvalidValueError,
            lambda: self.account.assess_relationship(
                engagement=engagement,
                trust=trust,
                satisfaction=satisfaction,
                partner_rating=rating,
                notes=text,
                meta=self.meta(),
            ),
        )

    @rule(
        name=st.sampled_from(["Globex", "GLOBEX", "Initech", " "]),
        threat=st.sampled_from(ThreatLevel),
    )
    def note_competitor(self, name: str, threat: ThreatLevel) -> None:
        expected = None if name.strip() else InvalidValueError
        if self.attempt(
            expected,
            lambda: self.account.note_competitor(
                name=name, threat=threat, notes=None, meta=self.meta()
            ),
        ):
            assert self.account.competitors[name.casefold()].threat is threat

    @rule(
        target=raised_risks,
        title=titles,
        severity=st.sampled_from(ThreatLevel),
        at_risk=st.one_of(st.none(), amounts),
    )
    def raise_risk(self, title: str, severity: ThreatLevel, at_risk: Decimal | None) -> Any:
        expected = first_error(
            (not title.strip() or len(title) > 200, InvalidValueError),
            (at_risk is not None and at_risk < 0, InvalidValueError),
        )
        raised: list[UUID] = []
        if self.attempt(
            expected,
            lambda: raised.append(
                self.account.raise_risk(
                    title=title, severity=severity, revenue_at_risk=at_risk, meta=self.meta()
                )
            ),
        ):
            assert raised == [self.events[-1].risk_id]
            assert self.account.risks[str(raised[0])] in self.account.open_risks()
        return multiple(*raised)

    @rule(risk_id=raised_risks, mitigation=st.sampled_from(["multi-year deal", "discount", ""]))
    def mitigate_risk(self, risk_id: UUID, mitigation: str) -> None:
        risk = self.account.risks[str(risk_id)]
        expected = first_error(
            (not mitigation, InvalidValueError),
            (risk.is_mitigated, RiskAlreadyMitigatedError),
        )
        self.attempt(
            expected,
            lambda: self.account.mitigate_risk(
                risk_id=risk_id, mitigation=mitigation, meta=self.meta()
            ),
        )

    @rule(risk_id=st.uuids())
    def mitigate_unknown_risk(self, risk_id: UUID) -> None:
        self.attempt(
            RiskNotFoundError,
            lambda: self.account.mitigate_risk(risk_id=risk_id, mitigation="m", meta=self.meta()),
        )

    @rule(
        decision=st.sampled_from(ReevaluationDecision),
        rationale=texts,
        at_cap=st.booleans(),
        reason=reasons,
    )
    def reevaluate_account(
        self, decision: ReevaluationDecision, rationale: str, at_cap: bool, reason: str | None
    ) -> None:
        meta = self.meta(reason=reason)
        downgrade = decision is ReevaluationDecision.DOWNGRADE
        tier = self.account.tier
        expected = first_error(
            (not rationale.strip() or len(rationale) > 2000, InvalidValueError),
            (downgrade and tier is None, NotClassifiedError),
            (downgrade and tier is Tier.EMERGING, NoLowerTierError),
            (downgrade and at_cap and not meta.has_reason, TierCapExceededError),
        )
        if self.attempt(
            expected,
            lambda: self.account.reevaluate_account(
                decision=decision, rationale=rationale, tier_at_cap=downgrade and at_cap, meta=meta
            ),
            events=2 if downgrade else 1,
        ):
            assert self.account.exit_decided is (decision is ReevaluationDecision.EXIT)
            if downgrade:
                assert tier is not None
                assert self.account.tier is list(Tier)[list(Tier).index(tier) + 1]

    @rule(profile=st.sampled_from(ServiceProfile), reason=reasons)
    def change_service_profile(self, profile: ServiceProfile, reason: str | None) -> None:
        meta = self.meta(reason=reason)
        expected = first_error(
            (not meta.has_reason, ReasonRequiredError),
            (profile is self.account.service_profile, ServiceProfileUnchangedError),
        )
        self.attempt(
            expected,
            lambda: self.account.change_service_profile(service_profile=profile, meta=meta),
        )

    @rule(reason=exit_reasons)
    def exit(self, reason: str | None) -> None:
        meta = self.meta(reason=reason)
        expected = None if meta.has_reason else ReasonRequiredError
        self.attempt(expected, lambda: self.account.exit_account(meta=meta))

    # --- Invariants ----------------------------------------------------------------------

    @invariant()
    def version_counts_the_events(self) -> None:
        assert self.account.version == len(self.events)
        assert [e.originator_version for e in self.events] == list(range(1, len(self.events) + 1))

    @invariant()
    def nothing_happens_after_exit(self) -> None:
        exits = [i for i, e in enumerate(self.events) if isinstance(e, KeyAccount.Exited)]
        assert exits in ([], [len(self.events) - 1])
        assert self.account.exited == bool(exits)

    @invariant()
    def a_pending_handover_names_the_current_manager(self) -> None:
        account = self.account
        if account.pending_handover is not None:
            assert account.manager == account.pending_handover.to_manager
            assert account.pending_handover.from_manager != account.manager
        if account.manager is None:
            assert account.pending_handover is None
            assert account.manager_history == []
        else:
            assert account.manager_history[-1].manager == account.manager
        assert account.is_pending_handover == (account.pending_handover is not None)

    @invariant()
    def classification_and_scores_are_consistent(self) -> None:
        account = self.account
        assert (account.tier is None) == (account.kind is None) == (account.tier_rationale is None)
        expected = account.criteria.attractiveness if account.criteria else None
        assert account.attractiveness == expected

    @invariant()
    def the_stage_follows_the_cycle(self) -> None:
        advances = sum(isinstance(e, KeyAccount.StageAdvanced) for e in self.events)
        assert self.account.stage is list(Stage)[advances % len(Stage)]

    @invariant()
    def state_agrees_with_a_model_folded_from_the_events(self) -> None:
        """An independent reading of the event list, so wrong event bodies are caught too."""
        manager: str | None = None
        pending: str | None = None
        team: dict[str, list[KamRole]] = {}
        mitigated: set[str] = set()
        raised: set[str] = set()
        competitors: dict[str, ThreatLevel] = {}
        feedback: list[Any] = []
        assessments: list[Any] = []
        for e in self.events:
            if isinstance(e, KeyAccount.ManagerAssigned):
                manager = e.manager
            elif isinstance(e, KeyAccount.HandedOver):
                manager = pending = e.to_manager
                if not e.keep_on_team:  # the outgoing manager leaves the team
                    team.pop(e.from_manager, None)
            elif isinstance(e, KeyAccount.HandoverAcknowledged):
                pending = None
            elif isinstance(e, KeyAccount.HandoverCancelled):
                manager, pending = e.from_manager, None
            elif isinstance(e, KeyAccount.TeamMemberAdded):
                team[e.member] = e.roles
            elif isinstance(e, KeyAccount.TeamMemberRemoved):
                del team[e.member]
            elif isinstance(e, KeyAccount.TeamRolesChanged):
                assert team[e.member] == e.previous_roles
                team[e.member] = e.roles
            elif isinstance(e, KeyAccount.RiskRaised):
                raised.add(str(e.risk_id))
            elif isinstance(e, KeyAccount.RiskMitigated):
                mitigated.add(str(e.risk_id))
            elif isinstance(e, KeyAccount.CompetitorNoted):
                competitors[e.name.casefold()] = e.threat
            elif isinstance(e, KeyAccount.FeedbackRecorded):
                feedback.append(e)
            elif isinstance(e, KeyAccount.RelationshipAssessed):
                assessments.append(e)
        account = self.account
        assert account.manager == manager
        assert (
            account.pending_handover.to_manager if account.pending_handover else None
        ) == pending
        assert account.team == team
        assert set(account.risks) == raised
        assert {k for k, r in account.risks.items() if r.is_mitigated} == mitigated
        assert {k: c.threat for k, c in account.competitors.items()} == competitors
        assert account.feedback_count == len(feedback)
        latest = account.latest_feedback
        if feedback:
            last = feedback[-1]
            assert latest is not None
            assert (latest.feedback_id, latest.nps, latest.csat, latest.comment) == (
                last.feedback_id,
                last.nps,
                last.csat,
                last.comment,
            )
        else:
            assert latest is None
        assert account.assessment_count == len(assessments)
        assessment = account.latest_assessment
        if assessments:
            last = assessments[-1]
            assert assessment is not None
            assert (assessment.engagement, assessment.trust, assessment.partner_rating) == (
                last.engagement,
                last.trust,
                last.partner_rating,
            )
        else:
            assert assessment is None

    @invariant()
    def entities_are_keyed_consistently(self) -> None:
        account = self.account
        assert all(roles and len(set(roles)) == len(roles) for roles in account.team.values())
        assert all(key == str(risk.risk_id) for key, risk in account.risks.items())
        assert all(key == c.name.casefold() for key, c in account.competitors.items())
        assert all(key == f.period for key, f in account.financials.items())
        assert account.open_risks() == [r for r in account.risks.values() if r.mitigation is None]
        if account.latest_feedback is not None:
            feedback = account.latest_feedback
            assert feedback.nps is not None or feedback.csat is not None

    def teardown(self) -> None:
        if not hasattr(self, "account"):
            return
        assert replay(self.events) == self.account
        mapper = kam_mapper()
        decoded = [mapper.to_domain_event(mapper.to_stored_event(e)) for e in self.events]
        assert replay(decoded) == self.account


KeyAccountMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
TestKeyAccountMachine = KeyAccountMachine.TestCase
