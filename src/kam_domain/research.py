"""The research question bank: what a key account team should know before it plans.

Question ids are stored in ``AccountPlan.ResearchQuestionAnswered`` events, so an id, once
published, must keep its meaning: reword a question's text freely, but never reuse its id.
"""

from __future__ import annotations

from dataclasses import dataclass

from kam_domain.errors import ResearchQuestionNotFoundError
from kam_domain.values import ResearchCategory


@dataclass(frozen=True)
class ResearchQuestion:
    """One question of the bank, in one of the eight research categories."""

    id: str
    category: ResearchCategory
    text: str


_C = ResearchCategory

_QUESTIONS: list[tuple[str, ResearchCategory, str]] = [
    # --- Our team ---------------------------------------------------------------------
    (
        "our-team-01",
        _C.OUR_TEAM,
        "Who on our side owns the relationship with each of the customer's decision makers, "
        "and when did each of them last meet in person?",
    ),
    (
        "our-team-02",
        _C.OUR_TEAM,
        "Which of the six key account roles (relationship leader, technical expert, collaborator, "
        "project manager, innovator, result generator) is nobody on our team covering today?",
    ),
    (
        "our-team-03",
        _C.OUR_TEAM,
        "Which of our executives has a peer at the customer, and how often do those two speak?",
    ),
    (
        "our-team-04",
        _C.OUR_TEAM,
        "How many hours a month does our team actually spend on this account, and is that in "
        "line with its tier and service profile?",
    ),
    (
        "our-team-05",
        _C.OUR_TEAM,
        "Which promises has our team made to the customer this period that are still open?",
    ),
    (
        "our-team-06",
        _C.OUR_TEAM,
        "If our account manager left tomorrow, who could take over and what would they not know?",
    ),
    # --- The account team -------------------------------------------------------------
    (
        "account-team-01",
        _C.ACCOUNT_TEAM,
        "Who on the customer's board sponsors the programme we support, and what do they "
        "measure it by?",
    ),
    (
        "account-team-02",
        _C.ACCOUNT_TEAM,
        "Who signs off purchases of our size, and who can stop a purchase even without signing it?",
    ),
    (
        "account-team-03",
        _C.ACCOUNT_TEAM,
        "Which of the customer's people championed us last time, and are they still in the "
        "same role and still in favour?",
    ),
    (
        "account-team-04",
        _C.ACCOUNT_TEAM,
        "How are the customer's procurement people rewarded: on price, on risk, or on supplier "
        "consolidation?",
    ),
    (
        "account-team-05",
        _C.ACCOUNT_TEAM,
        "Which senior people joined or left the customer in the last twelve months, and what "
        "did they change?",
    ),
    (
        "account-team-06",
        _C.ACCOUNT_TEAM,
        "Who are the day-to-day users of what we deliver, and what do they say about us to "
        "their managers?",
    ),
    # --- Trends affecting the account -------------------------------------------------
    (
        "trends-01",
        _C.TRENDS,
        "Which regulation coming into force in the next two years will change how the "
        "customer operates?",
    ),
    (
        "trends-02",
        _C.TRENDS,
        "Is the customer's core market growing, flat or shrinking, and how is it responding?",
    ),
    (
        "trends-03",
        _C.TRENDS,
        "Which technology shift (automation, AI, electrification, ...) is the customer "
        "investing in, and how much has it said publicly it will spend?",
    ),
    (
        "trends-04",
        _C.TRENDS,
        "Are there mergers, acquisitions or divestments under way or rumoured at the customer?",
    ),
    (
        "trends-05",
        _C.TRENDS,
        "How are the customer's own customers changing what they buy, and how fast?",
    ),
    (
        "trends-06",
        _C.TRENDS,
        "What do the customer's latest annual report and investor calls name as the top risks?",
    ),
    # --- Needs ------------------------------------------------------------------------
    (
        "needs-01",
        _C.NEEDS,
        "What are the customer's three strategic priorities for this year, in their own words?",
    ),
    (
        "needs-02",
        _C.NEEDS,
        "Which of the customer's business problems costs them the most money today, and do "
        "they know how much?",
    ),
    (
        "needs-03",
        _C.NEEDS,
        "What does the customer need from a supplier that it is not getting from anyone now?",
    ),
    (
        "needs-04",
        _C.NEEDS,
        "Which of the customer's targets are our products and services directly tied to?",
    ),
    (
        "needs-05",
        _C.NEEDS,
        "What would make our main contact look good to their boss this year?",
    ),
    (
        "needs-06",
        _C.NEEDS,
        "Where in the customer's budget cycle are we, and when are next year's budgets fixed?",
    ),
    # --- Other insights ---------------------------------------------------------------
    (
        "insights-01",
        _C.OTHER_INSIGHTS,
        "What did the customer's last satisfaction or NPS survey say about us, and what did "
        "we change afterwards?",
    ),
    (
        "insights-02",
        _C.OTHER_INSIGHTS,
        "How does the customer prefer to be engaged: formal reviews, informal visits, "
        "written reports?",
    ),
    (
        "insights-03",
        _C.OTHER_INSIGHTS,
        "Which past incident with us does the customer still bring up, and has it been put right?",
    ),
    (
        "insights-04",
        _C.OTHER_INSIGHTS,
        "How profitable is this account for us after the cost to serve, not just by revenue?",
    ),
    (
        "insights-05",
        _C.OTHER_INSIGHTS,
        "Which of the customer's sites, divisions or countries do we not sell to at all yet?",
    ),
    (
        "insights-06",
        _C.OTHER_INSIGHTS,
        "What does the customer's culture reward: speed, caution, cost saving or innovation?",
    ),
    # --- Competitors ------------------------------------------------------------------
    (
        "competitors-01",
        _C.COMPETITORS,
        "Which competitors already supply the customer, in which areas, and for how much?",
    ),
    (
        "competitors-02",
        _C.COMPETITORS,
        "Which competitor has the strongest relationship with the customer's decision makers, "
        "and through whom?",
    ),
    (
        "competitors-03",
        _C.COMPETITORS,
        "When do the customer's contracts with competitors come up for renewal?",
    ),
    (
        "competitors-04",
        _C.COMPETITORS,
        "What does the customer say a competitor does better than us, and is it true?",
    ),
    (
        "competitors-05",
        _C.COMPETITORS,
        "Could the customer do what we do in-house, and has anyone there proposed it?",
    ),
    (
        "competitors-06",
        _C.COMPETITORS,
        "Which new or low-cost entrant has approached the customer in the last year?",
    ),
    # --- Value we can offer -----------------------------------------------------------
    (
        "value-01",
        _C.VALUE_WE_OFFER,
        "Which measurable result have we delivered for the customer this period, and has the "
        "customer agreed the figure?",
    ),
    (
        "value-02",
        _C.VALUE_WE_OFFER,
        "What could we do for the customer that no competitor can, and what would it be worth "
        "to them?",
    ),
    (
        "value-03",
        _C.VALUE_WE_OFFER,
        "Which of our products or services does the customer not use yet that would help one "
        "of its stated priorities?",
    ),
    (
        "value-04",
        _C.VALUE_WE_OFFER,
        "Which introductions (to our partners, other customers, experts) would the customer value?",
    ),
    (
        "value-05",
        _C.VALUE_WE_OFFER,
        "How could we reduce the customer's total cost of working with us, not just our price?",
    ),
    (
        "value-06",
        _C.VALUE_WE_OFFER,
        "Which joint innovation or pilot could we propose that would show value within six months?",
    ),
    # --- What else we need to know ----------------------------------------------------
    (
        "what-else-01",
        _C.WHAT_ELSE,
        "Which assumption in this plan have we not checked with the customer?",
    ),
    (
        "what-else-02",
        _C.WHAT_ELSE,
        "Who at the customer have we never met but should, and who could introduce us?",
    ),
    (
        "what-else-03",
        _C.WHAT_ELSE,
        "What would make the customer stop buying from us within a year?",
    ),
    (
        "what-else-04",
        _C.WHAT_ELSE,
        "Which question did the customer ask us last time that we could not answer?",
    ),
    (
        "what-else-05",
        _C.WHAT_ELSE,
        "What information about the account is held only in one person's head or inbox?",
    ),
    (
        "what-else-06",
        _C.WHAT_ELSE,
        "What would we need to learn to decide whether to grow, hold or exit this account?",
    ),
]

#: Every question by id, in display order (grouped by category).
QUESTION_BANK: dict[str, ResearchQuestion] = {
    question_id: ResearchQuestion(id=question_id, category=category, text=text)
    for question_id, category, text in _QUESTIONS
}


def questions_in(category: ResearchCategory) -> list[ResearchQuestion]:
    """The questions of one category, in bank order."""
    return [question for question in QUESTION_BANK.values() if question.category is category]


def get_question(question_id: str) -> ResearchQuestion:
    """The question with this id, or ``ResearchQuestionNotFoundError``."""
    try:
        return QUESTION_BANK[question_id]
    except (KeyError, TypeError):
        raise ResearchQuestionNotFoundError(
            f"no research question {question_id!r}", question_id=question_id
        ) from None
