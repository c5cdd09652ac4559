"""The story of a portfolio: which accounts it holds, and how each one's life unfolds.

A few accounts are strategic, more are key, most are emerging; revenue falls with rank
(like 1 / rank^1.15), so the top fifth holds most of it. Each account's life runs from its
onboarding on, by the calendar: figures every quarter, a survey every half-year, an x-ray
every year, a plan every January that is closed before Christmas (``year.py``) and reviewed at
the pace its service profile sets, meetings with its people at a pace its tier sets. Some
accounts change hands (the incoming manager acknowledges and takes the outgoing one's work
over); at some a contact leaves and a successor takes over; a quarter of them cool, and from
their second year on, revenue falls, meetings turn sour and the customer looks for a
replacement. The portfolio's life is every account's life merged in time order, for as long as
it is read (``ends_on`` stops it).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta

from kam_api.demo.accounts import SERVICE, AccountPlanner, Profile
from kam_api.demo.agenda import Agenda
from kam_api.demo.choices import Chooser, RandomChoices
from kam_api.demo.portfolio import Portfolio
from kam_api.demo.rates import account_currency
from kam_api.demo.stakeholders import StakeholderPlanner
from kam_api.demo.steps import Step
from kam_api.demo.words import SPECIALISTS
from kam_api.demo.year import PlanYear
from kam_domain.values import BuyingRole, Disposition, KamRole, Tier

#: Specialists on the team besides the manager, people met at the customer, and how many
#: days pass between two contacts with each of them.
TEAM_SIZE = {Tier.STRATEGIC: 3, Tier.KEY: 2, Tier.EMERGING: 1}
PEOPLE = {Tier.STRATEGIC: 8, Tier.KEY: 6, Tier.EMERGING: 4}
CONTACT_DAYS = {Tier.STRATEGIC: (60, 120), Tier.KEY: (90, 180), Tier.EMERGING: (120, 240)}
#: Percent of plan reviews that come late (a week to three past the service profile's
#: cadence), and of reviews that add an action to the plan.
REVIEW_LATE = 12
REVIEW_ADDS_ACTION = 25
#: Percent of people whose record (title, or email and phone) is corrected after a few weeks.
CORRECTED = 10
#: How some people feel about us from the start.
LEANINGS: dict[BuyingRole, tuple[Disposition, str | None]] = {
    BuyingRole.CHAMPION: (Disposition.SUPPORTER, "sponsors our programme internally"),
    BuyingRole.BLOCKER: (Disposition.DETRACTOR, "owns the system we would replace"),
}


def tier_by_rank(rank: int, accounts: int) -> Tier:
    """The top tenth strategic, the next three tenths key, the rest emerging."""
    strategic = max(1, round(accounts * 0.1))
    key = max(strategic, round(accounts * 0.4))
    return Tier.STRATEGIC if rank < strategic else Tier.KEY if rank < key else Tier.EMERGING


def next_quarter_close(day: date) -> date:
    """The 5th of the month after the quarter ``day`` falls in (when its figures are in)."""
    start = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return (start + timedelta(days=95)).replace(day=5)


def first_plan_day(onboarded: date) -> date:
    """Plans are drafted on 10 January; a new account gets one this year if it is not late."""
    day = max(onboarded + timedelta(days=2), date(onboarded.year, 1, 10))
    return day if day <= date(onboarded.year, 9, 1) else date(onboarded.year + 1, 1, 10)


class AccountStory:
    """One account's life, from onboarding on: what happens on which day."""

    def __init__(
        self,
        portfolio: Portfolio,
        name: str,
        tier: Tier,
        *,
        seed: int,
        starts_on: date,
        ends_on: date | None,
    ) -> None:
        number = len(portfolio.accounts)
        self.choose = choose = Chooser(RandomChoices(random.Random(f"{seed}:{number}")))
        onboarded = choose.days_after(starts_on, 0, 240 if tier is Tier.EMERGING else 40)
        cools = choose.chance(25)
        profile = Profile(
            tier=tier,
            annual_revenue=24_000_000 / (number + 1) ** 1.15 * choose.factor(0.85, 1.15),
            growth=choose.factor(-0.07, -0.02) if cools else choose.factor(-0.01, 0.06),
            cools_from=starts_on + timedelta(days=365) if cools else None,
            currency=account_currency(number),
        )
        self.account = AccountPlanner(portfolio, name, profile, choose)
        self.changes_hands = choose.chance(30) or number % 4 == 1
        self.loses_someone = choose.chance(35) or number % 3 == 2
        self.ends_on = ends_on
        self.agenda = Agenda(choose)
        self.agenda.on(onboarded, self.onboarding)

    def steps(self) -> Iterator[Step]:
        for day, handler, args in self.agenda:
            if self.ends_on is not None and day > self.ends_on:
                return
            yield from handler(day, *args)

    # --- The account ---------------------------------------------------------------------

    def onboarding(self, day: date) -> Iterator[Step]:
        """The director registers, classifies and scores the account and names its manager;
        the manager forms the team and sets the focus. Then the account's habits begin."""
        account, tier = self.account, self.account.profile.tier
        yield account.register(day)
        yield account.classify(day, tier)
        yield account.score_criteria(day)
        yield account.assign_manager(day)
        yield account.add_team_member(day, account.actor, [KamRole.RELATIONSHIP_LEADER])
        for _ in range(TEAM_SIZE[tier]):
            yield account.add_team_member(day)
        yield account.set_focus(day)
        others = [
            r for r in BuyingRole if r not in (BuyingRole.DECISION_MAKER, BuyingRole.CHAMPION)
        ]
        roles = [BuyingRole.DECISION_MAKER, BuyingRole.CHAMPION]
        for n, role in enumerate(roles + self.choose.sample(others, PEOPLE[tier] - 2)):
            self.agenda.on(day + timedelta(days=1 + n), self.meet, role)
        self.agenda.on(next_quarter_close(day), self.quarter_closes)
        self.agenda.within(day, 20, 90, self.moves_on)
        self.agenda.within(day, 30, 30, self.survey)
        self.agenda.within(day, 60, 60, self.x_ray)
        for _ in range(2 if tier is Tier.STRATEGIC else 1):
            self.agenda.within(day, 15, 300, self.competitor_appears)
        if account.profile.cools_from or self.choose.chance(40):
            self.agenda.within(day, 30, 400, self.risk_appears)
        self.first_plan_on = first_plan_day(day)
        self.agenda.on(self.first_plan_on, self.plan_year)
        self.agenda.on(self.first_plan_on + timedelta(days=3), self.plan_reviewed)
        if self.changes_hands:
            self.agenda.within(day, 120, 500, self.hand_over)
        if self.loses_someone:
            self.agenda.within(day, 110, 500, self.someone_leaves)

    def moves_on(self, day: date) -> Iterator[Step]:
        """The account moves to the next stage of the KAM cycle every few months."""
        yield self.account.advance_stage(day)
        self.agenda.within(day, 45, 150, self.moves_on)

    def quarter_closes(self, day: date) -> Iterator[Step]:
        yield self.account.record_financials(day)
        self.agenda.on(next_quarter_close(day), self.quarter_closes)

    def survey(self, day: date) -> Iterator[Step]:
        yield self.account.record_feedback(day)
        self.agenda.within(day, 182, 182, self.survey)

    def x_ray(self, day: date) -> Iterator[Step]:
        yield self.account.assess_relationship(day)
        self.agenda.within(day, 365, 365, self.x_ray)

    def competitor_appears(self, day: date) -> Iterator[Step]:
        yield self.account.note_competitor(day)

    def risk_appears(self, day: date) -> Iterator[Step]:
        """A risk is raised; on an account that is not cooling, it is mitigated within weeks."""
        yield self.account.raise_risk(day)
        if not self.account.cooling(day):
            self.agenda.within(day, 10, 40, self.risk_mitigated)

    def risk_mitigated(self, day: date) -> Iterator[Step]:
        yield self.account.mitigate_risk(day)

    def plan_reviewed(self, day: date) -> Iterator[Step]:
        """The manager reviews the year's plan at the pace the service profile sets (mostly a
        few days early, now and then a week or three late); a review may add an action.
        Between two plans, the next review waits for the next plan."""
        account = self.account
        plan = account.plans[-1] if account.plans else None
        if plan is None or plan.gone:
            if not account.exited:
                self.agenda.on(self.next_plan_review(day), self.plan_reviewed)
            return
        yield plan.review(day)
        if day < plan.last_day - timedelta(days=40) and self.choose.chance(REVIEW_ADDS_ACTION):
            self.agenda.on(day, PlanYear(account, self.agenda).action_planned_on, plan)
        cadence = SERVICE[account.profile.tier].review_cadence_days
        if self.choose.chance(REVIEW_LATE):
            later = cadence + self.choose.integer(4, 25)
        else:
            later = cadence - self.choose.integer(0, 6)
        self.agenda.on(day + timedelta(days=later), self.plan_reviewed)

    def next_plan_review(self, day: date) -> date:
        """When the next plan (drafted on 10 January) is first reviewed, after ``day``."""
        first = self.first_plan_on + timedelta(days=3)
        if day < first:
            return first
        starts = date(day.year, 1, 13)
        return starts if starts > day else date(day.year + 1, 1, 13)

    def hand_over(self, day: date) -> Iterator[Step]:
        """The account changes hands; the new manager acknowledges within ten days (no handover
        starts so close to the end that it would still wait for that), before it takes
        effect."""
        if self.ends_on is not None and day + timedelta(days=14) > self.ends_on:
            return
        outgoing = self.account.manager
        yield self.account.hand_over(day)
        self.agenda.within(day, 1, 10, self.taken_over, outgoing)

    def taken_over(self, day: date, outgoing: str | None) -> Iterator[Step]:
        """The incoming manager acknowledges and takes the outgoing one's work over: their
        place on the team, their open actions, the relationships they owned. From then on the
        outgoing manager does nothing more on the account."""
        account = self.account
        yield account.acknowledge_handover(day)
        incoming = account.actor
        if outgoing is None or outgoing == incoming:
            return
        if outgoing in account.team:
            yield account.remove_team_member(day, outgoing)
        if incoming not in account.team:
            yield account.add_team_member(day, incoming, [KamRole.RELATIONSHIP_LEADER])
        for plan in account.plans:
            if plan.gone:
                continue
            for number, action in enumerate(plan.actions):
                if action.owner == outgoing and not action.status.is_terminal:
                    yield plan.reassign_action(day, number, incoming)
        for person in account.present_stakeholders():
            if person.owner == outgoing:
                yield person.assign_owner(day, incoming)

    # --- People at the customer -----------------------------------------------------------

    def meet(self, day: date, role: BuyingRole) -> Iterator[Step]:
        """Someone new at the customer: identified, given an owner on our side, then met
        regularly; some take a side, influencers may be promoted, champions get promises."""
        account = self.account
        boss = account.stakeholders[0] if account.stakeholders else None
        influence = 5 if role is BuyingRole.DECISION_MAKER else self.choose.integer(2, 5)
        yield account.identify_stakeholder(day, role, influence, reports_to=boss)
        person = account.stakeholders[-1]
        first = len(account.stakeholders) <= 2
        yield person.assign_owner(day, account.actor if first else self.choose.pick(SPECIALISTS))
        self.agenda.within(day, 12, 40, self.contact, person)
        leaning = LEANINGS.get(role)
        if leaning is None and self.choose.chance(35):
            leaning = self.choose.pick(
                [(Disposition.SUPPORTER, None), (Disposition.DETRACTOR, None)]
            )
        if leaning is not None:
            self.agenda.within(day, 20, 200, self.changes_mind, person, *leaning)
        cools_from = account.profile.cools_from
        if cools_from is not None and role is BuyingRole.DECISION_MAKER:
            why = "blames us for missed delivery dates"
            self.agenda.within(
                cools_from, 10, 60, self.changes_mind, person, Disposition.DETRACTOR, why
            )
        if role is BuyingRole.INFLUENCER and self.choose.chance(50):
            self.agenda.within(day, 60, 300, self.promoted, person)
        if role is BuyingRole.CHAMPION:
            self.agenda.within(day, 10, 300, self.promise_made, person)
        if self.choose.chance(CORRECTED):
            self.agenda.within(day, 5, 40, self.record_corrected, person)

    def contact(self, day: date, person: StakeholderPlanner) -> Iterator[Step]:
        if person.gone:
            return
        yield person.log_interaction(day)
        self.agenda.within(day, *CONTACT_DAYS[self.account.profile.tier], self.contact, person)

    def changes_mind(
        self, day: date, person: StakeholderPlanner, to: Disposition, why: str | None
    ) -> Iterator[Step]:
        if not person.gone and person.disposition is not to:
            yield person.change_disposition(day, to, why)

    def promoted(self, day: date, person: StakeholderPlanner) -> Iterator[Step]:
        if not person.gone:
            yield person.change_role(day, BuyingRole.ECONOMIC_BUYER)

    def record_corrected(self, day: date, person: StakeholderPlanner) -> Iterator[Step]:
        """A mistake in the record is noticed: the title, or the email and phone."""
        if not person.gone:
            if self.choose.chance(60):
                yield person.correct_title(day)
            else:
                yield person.correct_contact_details(day)

    def promise_made(self, day: date, person: StakeholderPlanner) -> Iterator[Step]:
        if person.gone:
            return
        yield person.make_commitment(day)
        if self.choose.chance(60):
            self.agenda.within(day, 3, 20, self.promise_kept, person)

    def promise_kept(self, day: date, person: StakeholderPlanner) -> Iterator[Step]:
        if not person.gone:
            yield person.fulfil_commitment(day)

    def someone_leaves(self, day: date) -> Iterator[Step]:
        """One of the first people met leaves; their successor is identified the same day."""
        present = [p for p in self.account.stakeholders[:3] if not p.gone]
        if not present:
            return
        leaver = self.choose.pick(present)
        yield self.account.identify_stakeholder(day, leaver.role, 3, leaver.reports_to)
        successor = self.account.stakeholders[-1]
        yield leaver.record_departure(day, successor)
        self.agenda.within(day, 5, 20, self.contact, successor)

    # --- A plan a year ---------------------------------------------------------------------

    def plan_year(self, day: date) -> Iterator[Step]:
        """Each January a new plan (see ``PlanYear``)."""
        yield from PlanYear(self.account, self.agenda).begins(day)
        self.agenda.on(date(day.year + 1, 1, 10), self.plan_year)


def occurred(step: Step) -> datetime:
    assert step.meta.occurred_on is not None
    return step.meta.occurred_on


class PortfolioStory:
    """A portfolio of accounts (named, ranked by revenue), each with its own story from
    ``starts_on`` on; ``today`` anchors revenue (each account's run rate on that day)."""

    def __init__(
        self,
        names: Sequence[str],
        *,
        seed: int,
        starts_on: date,
        today: date,
        ends_on: date | None = None,
    ) -> None:
        self.portfolio = Portfolio(today=today)
        self.accounts = [
            AccountStory(
                self.portfolio,
                name,
                tier_by_rank(rank, len(names)),
                seed=seed,
                starts_on=starts_on,
                ends_on=ends_on,
            )
            for rank, name in enumerate(names)
        ]

    def steps(self) -> Iterator[Step]:
        """Every account's steps, in the order they happen."""
        return heapq.merge(*(story.steps() for story in self.accounts), key=occurred)

    @property
    def planners(self) -> list[AccountPlanner]:
        return [story.account for story in self.accounts]
