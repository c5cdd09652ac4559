"""The relationship health model: a pure, explainable 0-100 score for one account.

``compute_health(inputs, today)`` turns plain facts about an account (stakeholders,
interactions, feedback, the latest assessment, plan actions, reviews) into six components,
each 0-100 with a weight and a one-sentence explanation, a weighted score, a band and flags.
Nothing here reads storage or the clock: ``today`` is a parameter, and every fact dated after
it (interactions, feedback, the assessment, departures, reviews) is ignored, so the same inputs
give the health "as of" any past day (action status is taken as given).

Components (DESIGN.md §4; default weights in ``HealthWeights``):

* coverage: 20 points for each of decision maker, economic buyer and champion held by a
  current, non-detractor stakeholder; +40/+20/+10 for >=3/2/1 engaged contacts (current
  stakeholders contacted within the last 90 days).
* recency: 100 on the day of the last contact with a current decision maker or champion,
  falling linearly to 0 at 90 days; no such contact gives 0.
* sentiment: half the mean interaction sentiment of the last 90 days (-2..+2 onto 0..100,
  none is 50), half the influence-weighted disposition of current stakeholders (supporter 100,
  neutral 50, detractor 0; none is 50).
* voice_of_customer: the latest feedback: NPS x10, or (CSAT-1) x25, or their mean; none is 50.
* execution: the share of open actions that are not overdue; no open actions is 100.
* assessment: the mean of engagement (100/60/30/0), trust and satisfaction (1..5 onto 0..100)
  and partner rating x10; none is 50; older than 180 days it is pulled halfway to 50.

"Within the last N days" includes day N. Arithmetic is exact (fractions); halves round up.
The score is the weighted mean of the rounded component values, so a reader can recompute it.
Same-day ties between feedback resolve to the lower score, so input order never matters.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, fields
from datetime import date, timedelta
from fractions import Fraction
from functools import cached_property
from itertools import accumulate
from math import floor

from kam_domain.base import require_range
from kam_domain.errors import InvalidValueError
from kam_domain.values import BuyingRole, Disposition, EngagementLevel

ENGAGED_DAYS = 90  # engaged contacts and recent sentiment: within the last 90 days
RECENCY_DAYS = 90  # recency decays to 0 at 90 days
NO_CONTACT_DAYS = 60  # no_contact_60d; the handover report's "no recent contact" gap
CHAMPION_LEFT_DAYS = 180
#: An assessment older than this is stale: pulled halfway to 50 here, and the handover report
#: asks for a new one ("no formal assessment in the last 6 months").
ASSESSMENT_STALE_DAYS = 180

_KEY_ROLES = (BuyingRole.DECISION_MAKER, BuyingRole.ECONOMIC_BUYER, BuyingRole.CHAMPION)
_DECIDERS = (BuyingRole.DECISION_MAKER, BuyingRole.ECONOMIC_BUYER)
_SPONSORS = (BuyingRole.DECISION_MAKER, BuyingRole.CHAMPION)
_DISPOSITION = {Disposition.SUPPORTER: 100, Disposition.NEUTRAL: 50, Disposition.DETRACTOR: 0}
_ENGAGEMENT = {"engaged": 100, "indifferent": 60, "disengaged": 30, "seeking_replacement": 0}


@dataclass(frozen=True)
class HealthWeights:
    """Relative weight of each component (whole numbers, not negative, not all zero)."""

    coverage: int = 25
    recency: int = 20
    sentiment: int = 20
    voice_of_customer: int = 15
    execution: int = 10
    assessment: int = 10

    def __post_init__(self) -> None:
        values = [getattr(self, field.name) for field in fields(self)]
        if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in values):
            raise InvalidValueError("weights", "weights are whole numbers, not negative")
        if sum(values) == 0:
            raise InvalidValueError("weights", "at least one weight must be above zero")


@dataclass(frozen=True)
class StakeholderFacts:
    stakeholder_id: str
    buying_role: BuyingRole
    influence: int  # 1..5
    disposition: Disposition
    last_interaction_on: date | None
    left_on: date | None
    successor_id: str | None

    def __post_init__(self) -> None:
        require_range("influence", self.influence, 1, 5)

    def is_current(self, today: date) -> bool:
        return self.left_on is None or self.left_on > today


@dataclass(frozen=True)
class InteractionFacts:
    stakeholder_id: str
    on: date
    sentiment: int  # -2..+2

    def __post_init__(self) -> None:
        require_range("sentiment", self.sentiment, -2, 2)


@dataclass(frozen=True)
class FeedbackFacts:
    on: date
    nps: int | None  # 0..10
    csat: int | None  # 1..5

    def __post_init__(self) -> None:
        if self.nps is not None:
            require_range("nps", self.nps, 0, 10)
        if self.csat is not None:
            require_range("csat", self.csat, 1, 5)

    @cached_property
    def value(self) -> Fraction | None:
        """This response on 0..100 (NPS x10, (CSAT-1) x25, or their mean), if it has a score."""
        parts = [Fraction(self.nps * 10)] if self.nps is not None else []
        parts += [Fraction((self.csat - 1) * 25)] if self.csat is not None else []
        return sum(parts, Fraction(0)) / len(parts) if parts else None


@dataclass(frozen=True)
class AssessmentFacts:
    on: date
    engagement: EngagementLevel
    trust: int  # 1..5
    satisfaction: int  # 1..5
    partner_rating: int  # 0..10

    def __post_init__(self) -> None:
        require_range("trust", self.trust, 1, 5)
        require_range("satisfaction", self.satisfaction, 1, 5)
        require_range("partner_rating", self.partner_rating, 0, 10)


@dataclass(frozen=True)
class ActionFacts:
    due_on: date
    open: bool  # not completed or cancelled


@dataclass(frozen=True)
class HealthInputs:
    """Everything the model reads about one account; the tuples may be in any order."""

    stakeholders: tuple[StakeholderFacts, ...]
    interactions: tuple[InteractionFacts, ...]
    feedback: tuple[FeedbackFacts, ...]
    latest_assessment: AssessmentFacts | None
    actions: tuple[ActionFacts, ...]
    last_review_on: date | None
    review_cadence_days: int
    registered_on: date | None

    def __post_init__(self) -> None:
        require_range("review_cadence_days", self.review_cadence_days, 1, 10**6)
        ids = [s.stakeholder_id for s in self.stakeholders]
        if len(ids) != len(set(ids)):
            raise InvalidValueError("stakeholders", "stakeholder ids must be unique")

    @cached_property
    def contacts(self) -> _Contacts:
        """The interactions indexed by day, built once per inputs: a trend computes the model
        for 13 days over the same inputs, and an old account has thousands of interactions."""
        return _Contacts(self.interactions)

    def sharing_contacts(self, other: HealthInputs) -> HealthInputs:
        """These inputs, reusing ``other``'s interaction index when both hold the very same
        interactions: a trend asks 13 days of inputs that differ only in other facts (the
        model ignores interactions after its day)."""
        if other.interactions is self.interactions:
            self.__dict__["contacts"] = other.contacts  # what cached_property would store
        return self


class _Contacts:
    """Interactions sorted by day, with running sentiment totals and each person's days, so
    "as of a day" questions are binary searches rather than passes over every interaction."""

    def __init__(self, interactions: tuple[InteractionFacts, ...]) -> None:
        ordered = sorted(interactions, key=lambda i: i.on)
        self.days = [i.on for i in ordered]
        self.sentiment_totals = [0, *accumulate(i.sentiment for i in ordered)]
        self.by_person: dict[str, list[date]] = {}
        for i in ordered:
            self.by_person.setdefault(i.stakeholder_id, []).append(i.on)

    def sentiments(self, first: date, last: date) -> tuple[int, int]:
        """(count, total sentiment) of the interactions on days ``first`` to ``last``."""
        low, high = bisect_left(self.days, first), bisect_right(self.days, last)
        if high <= low:
            return 0, 0
        return high - low, self.sentiment_totals[high] - self.sentiment_totals[low]

    def last_per_person(self, today: date) -> dict[str, date]:
        """Each person's latest interaction on or before ``today``."""
        latest: dict[str, date] = {}
        for who, days in self.by_person.items():
            index = bisect_right(days, today)
            if index:
                latest[who] = days[index - 1]
        return latest


@dataclass(frozen=True)
class HealthComponent:
    name: str
    value: int  # 0..100
    weight: int
    explanation: str


@dataclass(frozen=True)
class HealthReport:
    score: int  # 0..100
    band: str  # green | amber | red
    components: tuple[HealthComponent, ...]
    flags: tuple[str, ...]  # sorted
    as_of: date


def band_for(score: int) -> str:
    """green from 70, amber from 40, red below."""
    return "green" if score >= 70 else "amber" if score >= 40 else "red"


def _round(value: Fraction) -> int:
    """Nearest whole number, halves up (exact: no float drift)."""
    return floor(value + Fraction(1, 2))


def _or(score: int | None) -> int:
    return -1 if score is None else score


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(frozen=True)
class _AsOf:
    """The facts known on ``today``, with the derived sets several components share."""

    inputs: HealthInputs
    today: date

    def days(self, since: date) -> int:
        return (self.today - since).days

    @cached_property
    def current(self) -> list[StakeholderFacts]:
        return [s for s in self.inputs.stakeholders if s.is_current(self.today)]

    @cached_property
    def last_contact(self) -> dict[str, date]:
        """Latest known contact per stakeholder id (interactions and stakeholder facts)."""
        latest = self.inputs.contacts.last_per_person(self.today)
        for s in self.inputs.stakeholders:
            on = s.last_interaction_on
            if on is not None and on <= self.today:
                latest[s.stakeholder_id] = max(on, latest.get(s.stakeholder_id, on))
        return latest

    @cached_property
    def engaged(self) -> list[StakeholderFacts]:
        """Current stakeholders contacted within the last ``ENGAGED_DAYS`` days."""
        seen = self.last_contact
        recent = {who for who, on in seen.items() if self.days(on) <= ENGAGED_DAYS}
        return [s for s in self.current if s.stakeholder_id in recent]

    @cached_property
    def feedback(self) -> list[FeedbackFacts]:
        return [r for r in self.inputs.feedback if r.on <= self.today and r.value is not None]


def _coverage(f: _AsOf) -> tuple[Fraction, str]:
    current, engaged = f.current, len(f.engaged)
    allies = {s.buying_role for s in current if s.disposition is not Disposition.DETRACTOR}
    held = [r for r in _KEY_ROLES if r in allies]
    missing = [r.value.replace("_", " ") for r in _KEY_ROLES if r not in held]
    gap = f" (missing or detractor: {', '.join(missing)})" if missing else ""
    bonus = {0: 0, 1: 10, 2: 20}.get(engaged, 40)
    why = f"{len(held)} of 3 key roles held by a non-detractor{gap}; "
    why += f"{_plural(engaged, 'engaged contact')} in the last {ENGAGED_DAYS} days"
    return Fraction(20 * len(held) + bonus), why


def _recency(f: _AsOf) -> tuple[Fraction, str]:
    seen = f.last_contact
    ids = {s.stakeholder_id for s in f.current if s.buying_role in _SPONSORS}
    sponsors = [on for who, on in seen.items() if who in ids]
    if not sponsors:
        return Fraction(0), "No contact recorded with a current decision maker or champion"
    ago = f.days(max(sponsors))
    value = max(Fraction(0), Fraction(100 * (RECENCY_DAYS - ago), RECENCY_DAYS))
    why = f"Last contact with a decision maker or champion {_plural(ago, 'day')} ago"
    return value, why + f" (decays to 0 at {RECENCY_DAYS})"


def _sentiment(f: _AsOf) -> tuple[Fraction, str]:
    count, total = f.inputs.contacts.sentiments(f.today - timedelta(days=ENGAGED_DAYS), f.today)
    mean = Fraction(total, count) if count else Fraction(0)
    said, current = (mean + 2) * 25, f.current
    influence = sum(s.influence for s in current)
    weighted = sum(_DISPOSITION[s.disposition] * s.influence for s in current)
    felt = Fraction(weighted, influence) if influence else Fraction(50)
    why = f"Mean sentiment {float(mean):+.2f} over {_plural(count, 'interaction')} in the "
    why += f"last {ENGAGED_DAYS} days ({_round(said)}/100), averaged with the influence-weighted "
    return (said + felt) / 2, why + f"disposition of current stakeholders ({_round(felt)}/100)"


def _voice_of_customer(f: _AsOf) -> tuple[Fraction, str]:
    scored = [(r.on, -(r.value or 0), _or(r.nps), r.csat or 0, r) for r in f.feedback]
    if not scored:
        return Fraction(50), "No NPS or CSAT feedback yet: unknown, counted as 50"
    last = max(scored, key=lambda row: row[:4])[4]
    said = [f"NPS {last.nps}"] if last.nps is not None else []
    said += [f"CSAT {last.csat}/5"] if last.csat is not None else []
    both = ", averaged" if len(said) == 2 else ""
    return last.value or Fraction(0), f"Latest feedback ({last.on}): {' and '.join(said)}{both}"


def _execution(f: _AsOf) -> tuple[Fraction, str]:
    open_actions = [a for a in f.inputs.actions if a.open]
    if not open_actions:
        return Fraction(100), "No open actions"
    late = len([a for a in open_actions if a.due_on < f.today])
    value = Fraction(100 * (len(open_actions) - late), len(open_actions))
    return value, f"{late} of {_plural(len(open_actions), 'open action')} overdue"


def _assessment(f: _AsOf) -> tuple[Fraction, str]:
    a = f.inputs.latest_assessment
    if a is None or a.on > f.today:
        return Fraction(50), "No formal assessment yet: unknown, counted as 50"
    engagement = _ENGAGEMENT[a.engagement.value]
    value = Fraction(engagement + (a.trust + a.satisfaction - 2) * 25 + a.partner_rating * 10, 4)
    why = f"Assessment of {a.on}: {a.engagement.value.replace('_', ' ')}, trust {a.trust}/5, "
    why += f"satisfaction {a.satisfaction}/5, partner rating {a.partner_rating}/10"
    if (age := f.days(a.on)) > ASSESSMENT_STALE_DAYS:
        return 50 + (value - 50) / 2, why + f"; stale ({age} days old), pulled halfway to 50"
    return value, why


def _flags(f: _AsOf) -> tuple[str, ...]:
    current, inputs, seen = f.current, f.inputs, f.last_contact
    roles = {s.buying_role for s in current}
    nps = [n for _, _, n in sorted((r.on, -r.nps, r.nps) for r in f.feedback if r.nps is not None)]
    reviewed = inputs.last_review_on
    since = reviewed if reviewed is not None and reviewed <= f.today else inputs.registered_on
    left = [s.left_on for s in inputs.stakeholders if s.buying_role is BuyingRole.CHAMPION]
    checks = {
        "single_threaded": len(f.engaged) < 3,
        "no_decision_maker": BuyingRole.DECISION_MAKER not in roles,
        "champion_left": BuyingRole.CHAMPION not in roles
        and any(on is not None and 0 <= f.days(on) <= CHAMPION_LEFT_DAYS for on in left),
        "detractor_decision_maker": any(
            s.buying_role in _DECIDERS and s.disposition is Disposition.DETRACTOR for s in current
        ),
        "no_contact_60d": not seen or f.days(max(seen.values())) > NO_CONTACT_DAYS,
        "nps_drop": len(nps) >= 2 and nps[-2] - nps[-1] >= 2,
        "review_overdue": since is not None and f.days(since) > inputs.review_cadence_days,
        "overdue_actions": any(a.open and a.due_on < f.today for a in inputs.actions),
    }
    return tuple(sorted(name for name, raised in checks.items() if raised))


# In report order; each rule is named after its component and its ``HealthWeights`` field.
_COMPONENTS = (_coverage, _recency, _sentiment, _voice_of_customer, _execution, _assessment)


def compute_health(
    inputs: HealthInputs, today: date, weights: HealthWeights = HealthWeights()
) -> HealthReport:
    """The account's relationship health as of ``today``, with every component explained."""
    facts = _AsOf(inputs, today)
    components = []
    for rule in _COMPONENTS:
        name, (value, why) = rule.__name__.removeprefix("_"), rule(facts)
        components.append(HealthComponent(name, _round(value), getattr(weights, name), why))
    total = sum(c.value * c.weight for c in components)
    score = _round(Fraction(total, sum(c.weight for c in components)))
    return HealthReport(score, band_for(score), tuple(components), _flags(facts), today)
