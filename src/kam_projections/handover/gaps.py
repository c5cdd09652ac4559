"""Section 9 of the report, the gaps: what the history cannot answer, to confirm with the team
or the customer. "Recent" means what it means to the health model (``health_model``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from kam_domain.research import questions_in
from kam_domain.values import BuyingRole, Disposition, ResearchCategory
from kam_projections.erasure import shown
from kam_projections.handover.model import Gap, RelationshipHealthPublic
from kam_projections.handover.sections import shared_status
from kam_projections.handover.view import AccountView, name_of
from kam_projections.health_model import ASSESSMENT_STALE_DAYS, NO_CONTACT_DAYS

_KEY_ROLES = {
    BuyingRole.DECISION_MAKER: "no_decision_maker",
    BuyingRole.ECONOMIC_BUYER: "no_economic_buyer",
    BuyingRole.CHAMPION: "no_champion",
}
_DECIDERS = (BuyingRole.DECISION_MAKER, BuyingRole.ECONOMIC_BUYER)
_SPONSORS = (BuyingRole.DECISION_MAKER, BuyingRole.CHAMPION)


def find_gaps(view: AccountView, health: RelationshipHealthPublic | None, today: date) -> list[Gap]:
    """What the history cannot answer: missing people, stale facts, unanswered research."""
    return [
        *_people(view),
        *_team(view),
        *_contact(view, today),
        *_account_facts(view, today),
        *_plan(view),
        *_in_flight(view, health),
    ]


def _gap(code: str, text: str, positions: Iterable[int] = ()) -> Gap:
    return Gap(code=code, text=text, sources=sorted(set(positions)))


def _people(view: AccountView) -> Iterator[Gap]:
    """Key roles nobody holds, people who left without a successor, relationships nobody on
    our side owns, deciders who are detractors."""
    active = [p for p in view.stakeholders if p.left_on is None]
    for role, code in _KEY_ROLES.items():
        if not any(p.buying_role is role for p in active):
            word = role.value.replace("_", " ")
            yield _gap(code, f"No {word} is known at the account: who is it now?")
    for person in view.stakeholders:
        who = name_of(person) or shown(person, person.title) or "a stakeholder"
        if person.left_on is not None and person.successor_id is None:
            yield _gap(
                "successor_unknown",
                f"{who} ({person.buying_role.value.replace('_', ' ')}) left on "
                f"{person.left_on.isoformat()} and no successor is recorded.",
                view.sources.last(person.id, "LeftCompany"),
            )
        elif person.left_on is None and person.owner is None:
            yield _gap(
                "no_relationship_owner",
                f"Nobody on our side owns the relationship with {who}.",
                view.sources.last(person.id, "Identified"),
            )
        elif (
            person.left_on is None
            and person.disposition is Disposition.DETRACTOR
            and person.buying_role in _DECIDERS
        ):
            yield _gap(
                "detractor_decision_maker",
                f"{who} decides or signs and is a detractor: what would change their mind?",
                view.sources.last(person.id, "DispositionChanged"),
            )


def _team(view: AccountView) -> Iterator[Gap]:
    """KAM roles nobody on the account team holds."""
    uncovered = view.account.uncovered_roles()
    if uncovered:
        words = ", ".join(role.value.replace("_", " ") for role in uncovered)
        yield _gap(
            "team_roles_uncovered",
            f"Nobody on the account team is {words}: who covers "
            f"{'it' if len(uncovered) == 1 else 'them'}?",
        )


def _contact(view: AccountView, today: date) -> Iterator[Gap]:
    """No contact with a current decision maker or champion within ``NO_CONTACT_DAYS``."""
    key_people = [p for p in view.stakeholders if p.left_on is None and p.buying_role in _SPONSORS]
    last_contact = max(
        (p.last_interaction_on for p in key_people if p.last_interaction_on), default=None
    )
    if key_people and (last_contact is None or (today - last_contact).days > NO_CONTACT_DAYS):
        since = f"since {last_contact.isoformat()}" if last_contact else "ever"
        yield _gap(
            "no_recent_contact",
            f"No contact with a decision maker or champion {since}: is the relationship current?",
        )


def _account_facts(view: AccountView, today: date) -> Iterator[Gap]:
    """Facts about the account never recorded, or (the assessment) older than
    ``ASSESSMENT_STALE_DAYS``."""
    account = view.account
    if not account.financials:
        yield _gap("no_revenue", "No revenue has ever been recorded for the account.")
    if account.criteria is None:
        yield _gap("criteria_not_scored", "The eight selection criteria have not been scored.")
    if account.tier is None:
        yield _gap("not_classified", "The account has no tier.")
    assessment = account.latest_assessment
    assessed_on = assessment.occurred_on.date() if assessment else None
    if assessed_on is None or (today - assessed_on).days > ASSESSMENT_STALE_DAYS:
        when = (
            f"the last was on {assessed_on.isoformat()}" if assessed_on else "there has been none"
        )
        yield _gap(
            "no_recent_assessment",
            f"No formal relationship assessment in the last 6 months ({when}).",
            view.sources.last(account.id, "RelationshipAssessed"),
        )
    if account.feedback_count == 0:
        yield _gap("no_customer_feedback", "No NPS or CSAT response has ever been recorded.")


def _plan(view: AccountView) -> Iterator[Gap]:
    """The current plan: missing, research categories unanswered, not agreed, no objectives."""
    current = view.plans[0] if view.plans else None
    if current is None:
        yield _gap("no_plan", "The account has no account plan.")
        return
    answered = set(current.research_answers)
    for category in ResearchCategory:
        if not any(q.id in answered for q in questions_in(category)):
            yield _gap(
                "research_unanswered",
                f"Plan {current.period}: no research question answered on "
                f'"{category.value.replace("_", " ")}".',
            )
    status = shared_status(current.shared_with_customer)  # as the plan section states it
    if status != "agreed":
        said = (
            "was shared with the customer but not agreed"
            if status == "shared_not_agreed"
            else "has not been shared with the customer"
        )
        yield _gap(
            "plan_not_agreed",
            f"Plan {current.period} {said}.",
            view.sources.last(current.id, "SharedWithCustomer"),
        )
    if not current.objectives:
        yield _gap("no_objectives", f"Plan {current.period} has no objectives.")


def _in_flight(view: AccountView, health: RelationshipHealthPublic | None) -> Iterator[Gap]:
    """A handover not yet acknowledged; a review overdue (the health model's flag)."""
    account = view.account
    if account.pending_handover is not None:
        yield _gap(
            "handover_unacknowledged",
            f"{account.pending_handover.to_manager} has not yet acknowledged the handover.",
            view.sources.last(account.id, "manager"),
        )
    if health is not None and "review_overdue" in health.flags:
        yield _gap("review_overdue", "The account's review is overdue.")
