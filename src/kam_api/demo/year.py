"""A plan's year in an account's story: drafted in January, closed before Christmas."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from kam_api.demo.accounts import AccountPlanner
from kam_api.demo.agenda import Agenda
from kam_api.demo.plans import PlanPlanner
from kam_api.demo.steps import Step
from kam_api.demo.words import QUESTIONS
from kam_domain.values import OpportunityStatus as Deal


class PlanYear:
    """The manager drafts the year's plan and states its direction; research, objectives,
    opportunities and actions follow within weeks; it is shared with the customer; actions
    are started and mostly done on time, some blocked, moved, done late or left to slip; in
    December the objectives are judged, the plan reviewed and closed (the reviews in between
    are the account story's, ``AccountStory.plan_reviewed``)."""

    def __init__(self, account: AccountPlanner, agenda: Agenda) -> None:
        self.account = account
        self.agenda = agenda
        self.choose = account.choose

    def begins(self, day: date) -> Iterator[Step]:
        year, agenda = day.year, self.agenda
        yield self.account.draft_plan(day, str(year))
        self.plan = plan = self.account.plans[-1]
        yield plan.state_direction(day)
        agenda.within(day, 7, 30, self.shared)
        for number in self.choose.sample(range(len(QUESTIONS)), self.choose.integer(3, 6)):
            agenda.within(day, 1, 20, self.question_answered, number)
        for n in range(self.choose.integer(1, 3)):
            agenda.on(day + timedelta(days=1 + n), self.objective_set)
        closes_on = date(year, 11, self.choose.integer(1, 28))
        for n in range(self.choose.integer(1, 3)):
            agenda.on(day + timedelta(days=10 + n), self.opportunity_found, closes_on)
        for _ in range(self.choose.integer(2, 4)):
            agenda.on(day + timedelta(days=2), self.action_planned)
        agenda.on(date(year, 12, 18), self.late_actions_done)
        agenda.on(date(year, 12, 20), self.objectives_judged)
        agenda.on(date(year, 12, 22), self.ends)

    def shared(self, day: date) -> Iterator[Step]:
        yield self.plan.share(day)

    def question_answered(self, day: date, number: int) -> Iterator[Step]:
        yield self.plan.answer_research_question(day, number)

    def ends(self, day: date) -> Iterator[Step]:
        """The year-end review; the director re-evaluates the account; the plan closes."""
        yield self.plan.review(day)
        yield self.account.reevaluate(day)
        yield self.plan.close(day)

    # --- Objectives and opportunities ------------------------------------------------------

    def objective_set(self, day: date) -> Iterator[Step]:
        """An objective, with progress measured every quarter until the year ends."""
        yield self.plan.set_objective(day)
        number = len(self.plan.objectives) - 1
        for quarter in range(1, 4):
            measured = day + timedelta(days=90 * quarter)
            if measured < self.plan.last_day:
                self.agenda.on(measured, self.progress_measured, number)

    def progress_measured(self, day: date, number: int) -> Iterator[Step]:
        yield self.plan.record_progress(day, number)

    def objectives_judged(self, day: date) -> Iterator[Step]:
        odds = 30 if self.account.cooling(day) else 65
        for number in self.plan.open(self.plan.objectives):
            if self.choose.chance(odds):
                yield self.plan.achieve_objective(day, number)
            else:
                yield self.plan.miss_objective(day, number)

    def opportunity_found(self, day: date, closes_on: date) -> Iterator[Step]:
        """An opportunity: a proposal within months, then won or lost in November."""
        yield self.plan.identify_opportunity(day)
        number = len(self.plan.opportunities) - 1
        advanced = self.choose.days_after(day, 40, 120)
        if advanced < closes_on:
            self.agenda.on(advanced, self.opportunity_advanced, number)
        self.agenda.on(closes_on, self.opportunity_decided, number)

    def opportunity_advanced(self, day: date, number: int) -> Iterator[Step]:
        yield self.plan.advance_opportunity(day, number)

    def opportunity_decided(self, day: date, number: int) -> Iterator[Step]:
        if self.plan.opportunities[number] is Deal.OPEN:
            if self.choose.chance(30 if self.account.cooling(day) else 60):
                yield self.plan.win_opportunity(day, number)
            else:
                yield self.plan.lose_opportunity(day, number)

    # --- Actions ---------------------------------------------------------------------------

    def action_planned_on(self, day: date, plan: PlanPlanner) -> Iterator[Step]:
        """An action added to ``plan`` (a plan review's follow-up), with its fate."""
        self.plan = plan
        yield from self.action_planned(day)

    def action_planned(self, day: date) -> Iterator[Step]:
        """An action and its fate: started a few weeks before it is due; then mostly done on
        time, else cancelled, blocked for a while (done a day late), rescheduled (and maybe
        reassigned, then done by the new date), done a few weeks late, or left to slip for
        one to five months (open and overdue until then); the year-end clear-up completes
        whatever is left."""
        yield self.plan.add_action(day)
        number = len(self.plan.actions) - 1
        due = self.plan.actions[number].due_on
        self.agenda.on(due - timedelta(self.choose.integer(10, 25)), self.started, number)
        fate = self.choose.integer(0, 99)
        if fate < 8:
            self.agenda.on(due - timedelta(self.choose.integer(0, 8)), self.cancelled, number)
        elif fate < 16:
            self.agenda.on(due - timedelta(days=3), self.blocked, number)
        elif fate < 28:
            self.agenda.on(due - timedelta(days=5), self.rescheduled, number, fate)
        elif fate < 35:
            self.agenda.on(due + timedelta(self.choose.integer(3, 21)), self.done, number)
        elif fate < 43:
            self.agenda.on(due + timedelta(self.choose.integer(30, 150)), self.done, number)
        else:
            self.agenda.on(due - timedelta(self.choose.integer(0, 7)), self.done, number)

    def started(self, day: date, number: int) -> Iterator[Step]:
        yield self.plan.start_action(day, number)

    def done(self, day: date, number: int) -> Iterator[Step]:
        if not self.plan.actions[number].status.is_terminal:
            yield self.plan.complete_action(day, number)

    def cancelled(self, day: date, number: int) -> Iterator[Step]:
        yield self.plan.cancel_action(day, number)

    def blocked(self, day: date, number: int) -> Iterator[Step]:
        """Blocked three days before it is due, unblocked two days later, done a day late."""
        yield self.plan.block_action(day, number)
        self.agenda.on(day + timedelta(days=2), self.unblocked, number)
        self.agenda.on(day + timedelta(days=4), self.done, number)

    def unblocked(self, day: date, number: int) -> Iterator[Step]:
        yield self.plan.unblock_action(day, number)

    def rescheduled(self, day: date, number: int, fate: int) -> Iterator[Step]:
        """Moved weeks later (a third of the time to someone else), then done by then."""
        yield self.plan.reschedule_action(day, number)
        if fate < 20:
            yield self.plan.reassign_action(day, number)
        self.agenda.on(self.plan.actions[number].due_on, self.done, number)

    def late_actions_done(self, day: date) -> Iterator[Step]:
        for number, action in enumerate(self.plan.actions):
            if not action.status.is_terminal:
                yield self.plan.complete_action(day, number)
