"""The account planner: one key account as the history knows it, and its next steps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from kam_api.demo.choices import Chooser
from kam_api.demo.plans import PlanPlanner
from kam_api.demo.portfolio import Clock, Move, Planner, Portfolio
from kam_api.demo.stakeholders import StakeholderPlanner
from kam_api.demo.steps import Kind, Step, ref
from kam_api.demo.words import (
    COMPETITORS,
    DIRECTOR,
    HANDOVER_REASONS,
    INDUSTRIES,
    MANAGERS,
    RATIONALES,
    REGIONS,
    RISKS,
    SPECIALISTS,
)
from kam_domain import commands as cmd
from kam_domain.values import (
    AccountKind,
    BuyingRole,
    EngagementLevel,
    KamRole,
    ReevaluationDecision,
    SelectionCriteria,
    ServiceProfile,
    Stage,
    ThreatLevel,
    Tier,
)

SERVICE = {
    Tier.STRATEGIC: ServiceProfile.PREMIUM,
    Tier.KEY: ServiceProfile.STANDARD,
    Tier.EMERGING: ServiceProfile.LIGHT,
}
ENGAGEMENT = (
    EngagementLevel.ENGAGED,
    EngagementLevel.INDIFFERENT,
    EngagementLevel.ENGAGED,
    EngagementLevel.DISENGAGED,
)
CRITERIA_BIAS = {Tier.STRATEGIC: 1, Tier.KEY: 0, Tier.EMERGING: -1}


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


#: Quarters past the portfolio's ``today`` over which an account's revenue keeps growing.
MAX_QUARTERS_AHEAD = 40


def quarters_between(first: date, last: date) -> int:
    return (last.year - first.year) * 4 + (last.month - 1) // 3 - (first.month - 1) // 3


@dataclass(frozen=True)
class Profile:
    """What kind of account it is: its tier, its revenue run rate on the portfolio's ``today``
    with its growth per quarter, and from when (if ever) the relationship cools."""

    tier: Tier
    annual_revenue: float
    growth: float
    cools_from: date | None = None
    currency: str = "EUR"


class AccountPlanner(Planner):
    """A key account: who manages it, its team, stage, risks, people and plans."""

    def __init__(self, portfolio: Portfolio, name: str, profile: Profile, choose: Chooser) -> None:
        super().__init__(choose, Clock(choose))
        self.portfolio = portfolio
        self.number = len(portfolio.accounts)
        self.reference = ref(Kind.ACCOUNT, self.number)
        self.name = name
        self.profile = profile
        self.industry = choose.pick(INDUSTRIES)
        self.region = choose.pick(REGIONS)
        self.registered = self.exited = False
        self.tier: Tier | None = None  # as last classified (a refused classification aside)
        self.service_profile = SERVICE[profile.tier]
        self.manager: str | None = None
        self.incoming: str | None = None
        self.outgoing: str | None = None
        self.team: dict[str, list[KamRole]] = {}
        self.stage = Stage.STRATEGY
        self.risks: list[bool] = []  # mitigated?
        self.assessments = 0
        self.stakeholders: list[StakeholderPlanner] = []
        self.plans: list[PlanPlanner] = []
        portfolio.accounts.append(self)

    @property
    def gone(self) -> bool:
        return self.exited

    @property
    def actor(self) -> str:
        """Who acts for the account: its manager, or the director before it has one."""
        return self.manager or DIRECTOR

    def cooling(self, day: date) -> bool:
        return self.profile.cools_from is not None and day >= self.profile.cools_from

    def present_stakeholders(self) -> list[StakeholderPlanner]:
        return [s for s in self.stakeholders if not s.left]

    def moves(self, late: bool) -> list[Move]:
        """The steps that could come next, weighted (for a random walk through a history)."""
        moves = [
            self.move(3, self.classify),
            self.move(2, self.score_criteria),
            self.move(3, self.assign_manager),
            self.move(2, self.set_focus),
            self.move(3, self.advance_stage),
            self.move(3, self.record_financials),
            self.move(3, self.record_feedback),
            self.move(2, self.assess_relationship),
            self.move(2, self.note_competitor),
            self.move(2, self.raise_risk),
            self.move(1, self.reevaluate),
            self.move(1, self.change_service_profile),
            self.move(4, self.identify_stakeholder),
            self.move(4, self.draft_plan),
            self.move(3, self.add_team_member),
        ]
        if self.manager and not self.incoming:
            moves.append(self.move(3, self.hand_over))
        if self.incoming:
            moves.append(self.move(6, self.acknowledge_handover))
            moves.append(self.move(1, self.cancel_handover))
        if self.team:
            moves.append(self.move(1, self.remove_team_member))
            moves.append(self.move(1, self.change_team_roles))
        if not all(self.risks):
            moves.append(self.move(3, self.mitigate_risk))
        if late:
            moves.append(self.move(1, self.exit))
        return moves

    # --- Registration and selection -------------------------------------------------------

    def register(self, day: date) -> Step:
        """Registers the account; registering it again is refused (the name is taken)."""
        creates = None if self.registered else self.reference
        self.registered = True
        command = cmd.RegisterAccount(
            name=self.name,
            industry=self.industry,
            region=self.region,
            service_profile=self.service_profile,
        )
        return self.step(command, day, DIRECTOR, creates=creates)

    def classify(self, day: date, tier: Tier | None = None) -> Step:
        tier = tier or self.choose.pick(list(Tier))
        kind = AccountKind.EMERGING if tier is Tier.EMERGING else AccountKind.EXISTING
        command = cmd.ClassifyAccount(
            account_id=self.reference, tier=tier, kind=kind, rationale=RATIONALES[tier]
        )
        # The reason is the override a tier beyond its cap needs; forgetting it is the
        # commonest slip (refused when the tier is full).
        forgot = self.choose.chance(self.choose.mistakes * 6)
        reason = None if forgot else "annual portfolio selection"
        self.tier = tier
        return self.step(command, day, DIRECTOR, reason=reason)

    def score_criteria(self, day: date) -> Step:
        bias = CRITERIA_BIAS[self.profile.tier]
        scores = [min(5, max(1, self.choose.integer(2, 5) + bias)) for _ in range(8)]
        command = cmd.ScoreCriteria.of(self.reference, SelectionCriteria(*scores))
        return self.step(command, day, DIRECTOR)

    def reevaluate(self, day: date) -> Step:
        decision = ReevaluationDecision.RETAIN
        if self.cooling(day) and self.choose.chance(40):
            decision = self.choose.pick(
                (
                    ReevaluationDecision.DOWNGRADE,
                    ReevaluationDecision.DOWNGRADE,
                    ReevaluationDecision.EXIT,
                )
            )
        downgrade = decision is ReevaluationDecision.DOWNGRADE
        if downgrade and self.tier in (None, Tier.EMERGING):
            decision, downgrade = ReevaluationDecision.EXIT, False  # nothing lower to go to
        reason = None
        if downgrade and self.tier is not None:
            self.tier = list(Tier)[list(Tier).index(self.tier) + 1]
            reason = "annual key-list review"  # the override, should the lower tier be full
        command = cmd.ReevaluateAccount(
            account_id=self.reference, decision=decision, rationale="Annual key-list review"
        )
        return self.step(command, day, DIRECTOR, reason=reason)

    def change_service_profile(self, day: date) -> Step:
        profile = self.choose.pick([p for p in ServiceProfile if p is not self.service_profile])
        reason = self.reason("service level renegotiated")
        if reason is not None:
            self.service_profile = profile
        command = cmd.ChangeServiceProfile(account_id=self.reference, service_profile=profile)
        return self.step(command, day, DIRECTOR, reason=reason)

    def exit(self, day: date) -> Step:
        reason = self.reason("no longer meets the key-account criteria")
        self.exited = self.exited or reason is not None
        return self.step(cmd.ExitAccount(account_id=self.reference), day, DIRECTOR, reason=reason)

    # --- Manager and team -------------------------------------------------------------------

    def assign_manager(self, day: date) -> Step:
        manager = self.choose.pick([m for m in MANAGERS if m != self.manager])
        if self.manager and self.choose.mistake():
            manager = self.manager  # already manages it: refused
        reason = self.reason("portfolio rebalancing") if self.manager else None
        if manager != self.manager and not self.incoming and (not self.manager or reason):
            self.manager = manager
        command = cmd.AssignManager(account_id=self.reference, manager=manager)
        return self.step(command, day, DIRECTOR, reason=reason)

    def hand_over(self, day: date) -> Step:
        """The director hands the account to another manager, effective two weeks later."""
        outgoing = self.manager or DIRECTOR
        incoming = self.choose.pick([m for m in MANAGERS if m != outgoing])
        reason = self.reason(self.choose.pick(HANDOVER_REASONS).format(outgoing))
        if reason is not None:
            self.outgoing = self.manager
            self.manager = self.incoming = incoming
            self.team.pop(outgoing, None)  # the outgoing manager leaves the team
        command = cmd.HandOver(
            account_id=self.reference, to=incoming, effective_on=day + timedelta(days=14)
        )
        return self.step(command, day, DIRECTOR, reason=reason)

    def acknowledge_handover(self, day: date) -> Step:
        """The incoming manager (or, by mistake, someone else) acknowledges the handover."""
        actor = self.incoming or self.actor
        if self.choose.mistake():
            actor = self.choose.pick([m for m in MANAGERS if m != actor])
        else:
            self.incoming = None
        command = cmd.AcknowledgeHandover(
            account_id=self.reference, notes="Read the history and met the team; taking over."
        )
        return self.step(command, day, actor)

    def cancel_handover(self, day: date) -> Step:
        """The director cancels the handover waiting for acknowledgement (the incoming manager
        was moved elsewhere); the outgoing manager manages the account again."""
        reason = self.reason("the incoming manager moves to another team")
        if reason is not None and self.incoming:
            self.manager, self.incoming = self.outgoing, None
        command = cmd.CancelHandover(account_id=self.reference)
        return self.step(command, day, DIRECTOR, reason=reason)

    def add_team_member(
        self, day: date, member: str | None = None, roles: list[KamRole] | None = None
    ) -> Step:
        if member is None:
            free = [s for s in SPECIALISTS if s not in self.team]
            on_team = bool(self.team) and self.choose.mistake()  # already on it: refused
            member = self.choose.pick(sorted(self.team) if on_team or not free else free)
        if roles is None:
            kinds = [r for r in KamRole if r is not KamRole.RELATIONSHIP_LEADER]
            roles = self.choose.sample(kinds, self.choose.integer(1, 2))
        self.team.setdefault(member, roles)
        command = cmd.AddTeamMember(account_id=self.reference, member=member, roles=roles)
        return self.step(command, day, self.actor)

    def remove_team_member(self, day: date, member: str | None = None) -> Step:
        member = member or self.choose.pick(sorted(self.team))
        self.team.pop(member, None)
        command = cmd.RemoveTeamMember(account_id=self.reference, member=member)
        return self.step(command, day, self.actor)

    def change_team_roles(self, day: date) -> Step:
        """A team member's roles change in place (by mistake, to the same roles: refused)."""
        member = self.choose.pick(sorted(self.team))
        kinds: list[KamRole] = [r for r in KamRole if r is not KamRole.RELATIONSHIP_LEADER]
        roles = self.choose.sample(kinds, self.choose.integer(1, 2))
        if set(roles) == set(self.team[member]) and not self.choose.mistake():
            roles = [r for r in kinds if r not in roles][:1]
        reason = self.reason("took over the service contract")
        if reason is not None and not self.gone:
            self.team[member] = roles
        command = cmd.ChangeTeamRoles(account_id=self.reference, member=member, roles=roles)
        return self.step(command, day, self.actor, reason=reason)

    # --- The cycle, money and the customer's voice -------------------------------------------

    def set_focus(self, day: date) -> Step:
        penetration = self.choose.pick((20, 30, 40, 50))
        expansion = self.choose.pick((20, 30, 40))
        protection = 100 - penetration - expansion
        if self.choose.mistake():
            protection += 5  # does not add up to 100: refused
        command = cmd.SetFocus(
            account_id=self.reference,
            penetration=penetration,
            expansion=expansion,
            protection=protection,
        )
        return self.step(command, day, self.actor)

    def advance_stage(self, day: date) -> Step:
        to = self.stage.next
        if self.choose.mistake():
            to = self.choose.pick(list(Stage))  # maybe a stage skipped: refused
        if to is self.stage.next:
            self.stage = to
        return self.step(cmd.AdvanceStage(account_id=self.reference, to=to), day, self.actor)

    def record_financials(self, day: date) -> Step:
        """Records the last quarter that ended before ``day`` (again, if it was recorded)."""
        quarter = (day.replace(day=1) - timedelta(days=80)).replace(day=1)
        # A history generated on past ``today`` (the benchmarks' long logs) grows for at most
        # ten years more: compounded for ever, revenue passed the 16 digits a command takes.
        back = max(quarters_between(quarter, self.portfolio.today), -MAX_QUARTERS_AHEAD)
        quarterly = self.profile.annual_revenue / 4 * (1 + self.profile.growth) ** -back
        revenue = quarterly * self.choose.factor(0.95, 1.05)
        command = cmd.RecordFinancials(
            account_id=self.reference,
            period=quarter_of(quarter),
            revenue=Decimal(round(revenue)),
            gross_margin=Decimal(str(self.choose.factor(0.18, 0.35))),
            revenue_target=Decimal(round(revenue * self.choose.factor(0.95, 1.12))),
            currency=self.profile.currency,
        )
        return self.step(command, day, self.actor)

    def record_feedback(self, day: date) -> Step:
        """An NPS and CSAT response; a cooling account's scores fall survey by survey."""
        if self.cooling(day):
            nps, csat = self.choose.integer(2, 5), self.choose.integer(1, 3)
        else:
            nps, csat = self.choose.integer(7, 10), self.choose.integer(3, 5)
        mode = self.choose.integer(0, 5)  # now and then only one of the two
        people = self.present_stakeholders()
        respondent = self.choose.pick(people) if people and self.choose.chance(50) else None
        command = cmd.RecordFeedback(
            account_id=self.reference,
            nps=None if mode == 5 else nps,
            csat=None if mode == 4 else csat,
            respondent_id=respondent.reference if respondent else None,
            comment="Delivery issues" if self.cooling(day) else "Survey response",
        )
        return self.step(command, day, self.actor)

    def assess_relationship(self, day: date) -> Step:
        """A formal x-ray; a cooling account's customer is looking for a replacement."""
        self.assessments += 1
        low = self.cooling(day) and self.assessments > 1
        command = cmd.AssessRelationship(
            account_id=self.reference,
            engagement=EngagementLevel.SEEKING_REPLACEMENT if low else self.choose.pick(ENGAGEMENT),
            trust=self.choose.integer(1, 2) if low else self.choose.integer(3, 5),
            satisfaction=self.choose.integer(1, 2) if low else self.choose.integer(3, 5),
            partner_rating=self.choose.integer(2, 4) if low else self.choose.integer(6, 9),
            notes="Annual relationship x-ray",
        )
        return self.step(command, day, self.actor)

    def note_competitor(self, day: date) -> Step:
        threat = ThreatLevel.HIGH if self.cooling(day) else self.choose.pick(list(ThreatLevel))
        command = cmd.NoteCompetitor(
            account_id=self.reference,
            name=self.choose.pick(COMPETITORS),
            threat=threat,
            notes="Seen in tender",
        )
        return self.step(command, day, self.actor)

    def raise_risk(self, day: date) -> Step:
        creates = None
        if not self.gone:
            creates = ref(Kind.RISK, len(self.risks), of=self.number)
            self.risks.append(False)
        command = cmd.RaiseRisk(
            account_id=self.reference,
            title=self.choose.pick(RISKS),
            severity=ThreatLevel.HIGH if self.cooling(day) else ThreatLevel.MEDIUM,
            revenue_at_risk=Decimal(self.choose.integer(50, 900) * 1000),
        )
        return self.step(command, day, self.actor, creates=creates)

    def mitigate_risk(self, day: date) -> Step:
        """Mitigates the oldest open risk (or, by mistake, any risk, maybe mitigated already)."""
        open_risks = [n for n, mitigated in enumerate(self.risks) if not mitigated]
        if self.choose.mistake() or not open_risks:
            number = self.choose.integer(0, len(self.risks) - 1)
        else:
            number = open_risks[0]
        self.risks[number] = True
        command = cmd.MitigateRisk(
            account_id=self.reference,
            risk_id=ref(Kind.RISK, number, of=self.number),
            mitigation="Executive sponsor call held",
        )
        return self.step(command, day, self.actor)

    # --- What the account holds: plans and people --------------------------------------------

    def draft_plan(self, day: date, period: str | None = None) -> Step:
        """Drafts the plan for ``period`` (by default the first year from ``day``'s without
        one; by mistake, ``day``'s year even if it has one)."""
        taken = {plan.period for plan in self.plans}
        if period is None:
            year = day.year
            while str(year) in taken and not self.choose.mistake():
                year += 1
            period = str(year)
        plan = PlanPlanner(self, period)
        created = period not in taken and not self.gone
        if created:
            self.plans.append(plan)
            self.portfolio.plans.append(plan)
        return plan.draft(day, created=created)

    def identify_stakeholder(
        self,
        day: date,
        role: BuyingRole | None = None,
        influence: int | None = None,
        reports_to: StakeholderPlanner | None = None,
    ) -> Step:
        role = role or self.choose.pick(list(BuyingRole))
        influence = influence or self.choose.integer(1, 5)
        if reports_to is None and self.stakeholders and self.choose.chance(40):
            reports_to = self.choose.pick(self.stakeholders)
        person = StakeholderPlanner(self, role, influence, reports_to)
        if not self.gone:
            self.stakeholders.append(person)
            self.portfolio.stakeholders.append(person)
        return person.identify(day, created=not self.gone)
