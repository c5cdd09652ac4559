"""The stakeholder planner: one person at the customer as the history knows them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from kam_api.demo.portfolio import Move, Planner
from kam_api.demo.steps import Kind, Step, ref
from kam_api.demo.words import (
    FIRST_NAMES,
    LAST_NAMES,
    MANAGERS,
    PERSONAL_NOTES,
    SPECIALISTS,
    SUMMARIES,
    TITLES,
)
from kam_domain import commands as cmd
from kam_domain.values import BuyingRole, Disposition, InteractionKind, PersonalData

if TYPE_CHECKING:
    from kam_api.demo.accounts import AccountPlanner

#: Why people change their minds about us.
DISPOSITION_REASONS = {
    Disposition.SUPPORTER: "pleased with the last rollout",
    Disposition.NEUTRAL: "new priorities after the reorganisation",
    Disposition.DETRACTOR: "unhappy with the price increase",
}


class StakeholderPlanner(Planner):
    """A person at the customer: role, disposition, who owns the relationship, promises."""

    def __init__(
        self,
        account: AccountPlanner,
        role: BuyingRole,
        influence: int,
        reports_to: StakeholderPlanner | None,
    ) -> None:
        super().__init__(account.choose, account.clock)
        self.account = account
        self.number = len(account.portfolio.stakeholders)
        self.reference = ref(Kind.STAKEHOLDER, self.number)
        self.role, self.influence, self.reports_to = role, influence, reports_to
        first, last = self.choose.pick(FIRST_NAMES), self.choose.pick(LAST_NAMES)
        slug = f"{first}.{last}".lower().replace(" ", "")
        self.personal = PersonalData(
            name=f"{first} {last}",
            email=f"{slug}@example.com" if self.choose.chance(80) else None,
            phone=f"+49 30 {self.choose.integer(1000000, 9999999)}",
            notes=self.choose.pick(PERSONAL_NOTES),
        )
        self.title = self.choose.pick(TITLES[role])
        self.disposition = Disposition.NEUTRAL
        self.owner: str | None = None
        self.left = self.erased = False
        self.commitments: list[bool] = []  # fulfilled?

    @property
    def gone(self) -> bool:
        return self.left or self.account.exited

    def moves(self, late: bool) -> list[Move]:
        """The steps that could come next, weighted (for a random walk through a history)."""
        moves = [
            self.move(2, self.change_disposition),
            self.move(2, self.change_role),
            self.move(2, self.assign_owner),
            self.move(4, self.log_interaction),
            self.move(2, self.make_commitment),
            self.move(1, self.record_departure),
        ]
        if not self.erased:
            moves += [self.move(1, self.correct_title), self.move(1, self.correct_contact_details)]
        if self.account.stakeholders[0] is not self:
            moves.append(self.move(1, self.correct_reports_to))
        if not all(self.commitments) and not self.account.exited:
            moves.append(Move(2, self.fulfil_commitment))
        if late and not self.erased:
            moves.append(Move(1, self.erase))  # people who left may ask for erasure too
        return moves

    def identify(self, day: date, *, created: bool = True) -> Step:
        command = cmd.IdentifyStakeholder.of(
            self.account.reference,
            self.personal,
            title=self.title,
            buying_role=self.role,
            influence=self.influence,
            reports_to=self.reports_to.reference if self.reports_to else None,
        )
        creates = self.reference if created else None
        return self.step(command, day, self.account.actor, creates=creates)

    def change_disposition(
        self, day: date, to: Disposition | None = None, why: str | None = None
    ) -> Step:
        """A change of heart (by mistake, to what they already are), with its reason."""
        others = [d for d in Disposition if d is not self.disposition]
        to = to or self.choose.pick(list(Disposition) if self.choose.mistake() else others)
        reason = self.reason(why or DISPOSITION_REASONS[to])
        if reason and not self.gone:
            self.disposition = to
        command = cmd.ChangeDisposition(stakeholder_id=self.reference, disposition=to)
        return self.step(command, day, self.account.actor, reason=reason)

    def change_role(self, day: date, role: BuyingRole | None = None) -> Step:
        """A new buying role and influence (a promotion to budget owner, say)."""
        role = role or self.choose.pick(list(BuyingRole))
        influence = self.choose.integer(1, 5)
        if (role, influence) == (self.role, self.influence) and not self.choose.mistake():
            influence = influence % 5 + 1  # (by mistake, unchanged: refused)
        if not self.gone:
            self.role, self.influence = role, influence
        command = cmd.ChangeRole(
            stakeholder_id=self.reference, buying_role=role, influence=influence
        )
        return self.step(command, day, self.account.actor, reason="promoted to budget owner")

    def assign_owner(self, day: date, owner: str | None = None) -> Step:
        """Names who on our side owns the relationship (someone new)."""
        people = [p for p in (*MANAGERS, *SPECIALISTS) if p != self.owner]
        owner = owner or self.choose.pick(people)
        self.owner = owner
        command = cmd.AssignRelationshipOwner(stakeholder_id=self.reference, owner=owner)
        return self.step(command, day, self.account.actor)

    def correct_title(self, day: date) -> Step:
        """The title was wrong (by mistake, "corrected" to what it already is: refused)."""
        titles = [t for t in TITLES[self.role] if t != self.title or self.choose.mistake()]
        title = self.choose.pick(titles or [f"Senior {self.title}"])
        reason = self.reason("title misread from the business card")
        if reason is not None and title != self.title and not self.account.exited:
            self.title = title
        command = cmd.CorrectTitle(stakeholder_id=self.reference, title=title)
        return self.step(command, day, self.account.actor, reason=reason)

    def correct_contact_details(self, day: date) -> Step:
        """A new email address and direct line."""
        first, last = self.personal.name.lower().split(" ", 1)
        email = f"{first[0]}.{last.replace(' ', '')}@example.org"
        phone = f"+49 30 {self.choose.integer(1000000, 9999999)}"
        reason = self.reason("new address after the company's rebranding")
        command = cmd.CorrectContactDetails(stakeholder_id=self.reference, email=email, phone=phone)
        return self.step(command, day, self.account.actor, reason=reason)

    def correct_reports_to(self, day: date) -> Step:
        """They report to someone identified before them (never a cycle), or to nobody known."""
        earlier = self.account.stakeholders[: self.account.stakeholders.index(self)]
        options: list[StakeholderPlanner | None] = [None, *earlier]
        boss = self.choose.pick([o for o in options if o is not self.reports_to] or options)
        reason = self.reason("reporting line after the reorganisation")
        if reason is not None and boss is not self.reports_to and not self.account.exited:
            self.reports_to = boss
        command = cmd.CorrectReportsTo(
            stakeholder_id=self.reference, reports_to=boss.reference if boss else None
        )
        return self.step(command, day, self.account.actor, reason=reason)

    def log_interaction(self, day: date) -> Step:
        """A meeting, call or email; once the account cools, they turn sour."""
        if self.account.cooling(day):
            sentiment = self.choose.pick((-2, -1, -1, 0))
        else:
            sentiment = self.choose.pick((-1, 0, 1, 1, 2, 2))
        command = cmd.LogInteraction(
            stakeholder_id=self.reference,
            kind=self.choose.pick(list(InteractionKind)),
            on=day,
            summary=self.choose.pick(SUMMARIES[sentiment]),
            sentiment=sentiment,
        )
        return self.step(command, day, self.owner or self.account.actor)

    def commitment(self, number: int) -> UUID:
        return ref(Kind.COMMITMENT, number, of=self.number)

    def make_commitment(self, day: date) -> Step:
        creates = None
        if not self.gone:
            creates = self.commitment(len(self.commitments))
            self.commitments.append(False)
        command = cmd.MakeCommitment(
            stakeholder_id=self.reference,
            description="Send the benchmark report from comparable plants",
            due_on=day + timedelta(days=21),
        )
        return self.step(command, day, self.account.actor, creates=creates)

    def fulfil_commitment(self, day: date) -> Step:
        """Keeps the oldest open promise (by mistake, any promise, maybe kept already)."""
        open_ones = [n for n, kept in enumerate(self.commitments) if not kept]
        if self.choose.mistake() or not open_ones:
            number = self.choose.integer(0, len(self.commitments) - 1)
        else:
            number = open_ones[0]
        self.commitments[number] = True
        command = cmd.FulfilCommitment(
            stakeholder_id=self.reference, commitment_id=self.commitment(number), note="sent"
        )
        return self.step(command, day, self.account.actor)

    def record_departure(self, day: date, successor: StakeholderPlanner | None = None) -> Step:
        """They leave the company, with a successor (a colleague) if known."""
        if successor is None and self.choose.chance(60):
            colleagues = [s for s in self.account.stakeholders if s is not self]
            successor = self.choose.pick(colleagues) if colleagues else None
        self.left = True
        command = cmd.RecordDeparture(
            stakeholder_id=self.reference,
            left_on=day,
            successor_id=successor.reference if successor else None,
        )
        return self.step(command, day, self.account.actor)

    def erase(self, day: date) -> Step:
        reason = self.reason("erasure request under GDPR article 17")
        self.erased = self.erased or reason is not None
        command = cmd.ErasePersonalData(stakeholder_id=self.reference)
        return self.step(command, day, self.account.actor, reason=reason)
