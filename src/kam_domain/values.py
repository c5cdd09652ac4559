"""Frozen value objects and enums shared by the aggregates.

Everything here may appear in stored events or snapshots, so each type is registered
for JSON transcoding with ``@transcodable``: its class name becomes stored data.
Enums are plain ``Enum`` (not ``str`` mixins) so the encoder tags them and they
decode back to the enum, not to a bare string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import TypeVar

T = TypeVar("T", bound=type)

#: Characters no person types and PostgreSQL text cannot always hold (tab, CR, LF are fine).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

#: The longest ``reason`` a change may carry (it is kept for ever in the log).
REASON_MAX_LENGTH = 2000

#: Classes (enums and dataclasses) that stored events and snapshots may contain.
TRANSCODABLE_TYPES: list[type] = []


def transcodable(cls: T) -> T:
    """Registers an enum or dataclass for JSON transcoding under its class name."""
    if any(existing.__name__ == cls.__name__ for existing in TRANSCODABLE_TYPES):
        raise TypeError(f"transcodable name {cls.__name__!r} is already registered")
    TRANSCODABLE_TYPES.append(cls)
    return cls


# --- The envelope every event carries ------------------------------------------------


@transcodable
@dataclass(frozen=True)
class Envelope:
    """Who made a change, when it happened in the world, why, and through which request."""

    actor: str
    occurred_on: datetime | None = None
    reason: str | None = None
    correlation_id: str | None = None

    def __post_init__(self) -> None:
        from kam_domain.errors import InvalidValueError

        if not self.actor or not self.actor.strip():
            raise InvalidValueError("actor", "every change needs an actor")
        for name in ("actor", "reason", "correlation_id"):
            value = getattr(self, name)
            if value is not None and CONTROL_CHARACTERS.search(value):
                raise InvalidValueError(name, "must not contain control characters")
        if self.reason is not None and len(self.reason) > REASON_MAX_LENGTH:
            raise InvalidValueError("reason", f"must be at most {REASON_MAX_LENGTH} characters")

    @property
    def has_reason(self) -> bool:
        return bool(self.reason and self.reason.strip())


# --- KeyAccount ------------------------------------------------------------------------


@transcodable
class Tier(Enum):
    STRATEGIC = "strategic"
    KEY = "key"
    EMERGING = "emerging"


@transcodable
class AccountKind(Enum):
    EXISTING = "existing"
    EMERGING = "emerging"


@transcodable
class ServiceProfile(Enum):
    """The relationship-activity standard of a segment; sets the review cadence."""

    PREMIUM = "premium"
    STANDARD = "standard"
    LIGHT = "light"

    @property
    def review_cadence_days(self) -> int:
        return {"premium": 30, "standard": 60, "light": 90}[self.value]

    @property
    def reevaluation_cadence_days(self) -> int:
        """How often the account is re-evaluated (would we still keep it on the key list?):
        quarterly, twice a year, once a year."""
        return {"premium": 90, "standard": 180, "light": 365}[self.value]

    @property
    def contact_cadence_days(self) -> int:
        """How often each key person (decision maker, economic buyer, champion) should be
        contacted."""
        return {"premium": 30, "standard": 60, "light": 90}[self.value]


@transcodable
class Stage(Enum):
    """The KAM cycle: strategy, research, action plan, execution, review, and round again."""

    STRATEGY = "strategy"
    RESEARCH = "research"
    ACTION_PLAN = "action_plan"
    EXECUTION = "execution"
    REVIEW = "review"

    @property
    def next(self) -> Stage:
        members = list(Stage)
        return members[(members.index(self) + 1) % len(members)]


@transcodable
class KamRole(Enum):
    """The six roles of a key account team."""

    RELATIONSHIP_LEADER = "relationship_leader"
    TECHNICAL_EXPERT = "technical_expert"
    COLLABORATOR = "collaborator"
    PROJECT_MANAGER = "project_manager"
    INNOVATOR = "innovator"
    RESULT_GENERATOR = "result_generator"


@transcodable
class EngagementLevel(Enum):
    ENGAGED = "engaged"
    INDIFFERENT = "indifferent"
    DISENGAGED = "disengaged"
    SEEKING_REPLACEMENT = "seeking_replacement"


@transcodable
class ThreatLevel(Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@transcodable
class ReevaluationDecision(Enum):
    RETAIN = "retain"
    DOWNGRADE = "downgrade"
    EXIT = "exit"


@transcodable
@dataclass(frozen=True)
class SelectionCriteria:
    """The eight selection criteria, each scored 1 (poor) to 5 (excellent)."""

    current_revenue: int
    growth_potential: int
    renewal_likelihood: int
    win_now_grow_later: int
    relative_effort: int
    relationship_strength: int
    fit: int
    logo_attractiveness: int

    def __post_init__(self) -> None:
        from kam_domain.errors import InvalidValueError

        for name, value in self.scores().items():
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
                raise InvalidValueError(name, "criteria are scored 1 to 5")

    def scores(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @property
    def attractiveness(self) -> int:
        """0-100: the mean score mapped from 1..5 onto 0..100."""
        values = list(self.scores().values())
        return round((sum(values) / len(values) - 1) * 25)


@transcodable
@dataclass(frozen=True)
class FocusWeights:
    """How effort is split between penetration, expansion and protection (percent, sums to 100)."""

    penetration: int
    expansion: int
    protection: int

    def __post_init__(self) -> None:
        from kam_domain.errors import InvalidValueError

        parts = (self.penetration, self.expansion, self.protection)
        if any(not isinstance(p, int) or isinstance(p, bool) or p < 0 for p in parts):
            raise InvalidValueError("focus", "weights are whole percentages, not negative")
        if sum(parts) != 100:
            raise InvalidValueError("focus", "weights must add up to 100")


@transcodable
@dataclass(frozen=True)
class Financials:
    """One period's figures for an account."""

    period: str
    revenue: Decimal
    gross_margin: Decimal | None
    revenue_target: Decimal | None
    currency: str


# --- AccountPlan -----------------------------------------------------------------------


@transcodable
class OpportunityKind(Enum):
    PENETRATION = "penetration"
    EXPANSION = "expansion"
    PROTECTION = "protection"
    RENEWAL = "renewal"
    CROSS_SELL = "cross_sell"
    UPSELL = "upsell"


@transcodable
class ActionStatus(Enum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (ActionStatus.COMPLETED, ActionStatus.CANCELLED)


@transcodable
class ObjectiveStatus(Enum):
    OPEN = "open"
    ACHIEVED = "achieved"
    MISSED = "missed"


@transcodable
class OpportunityStatus(Enum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


@transcodable
class KpiStatus(Enum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"


@transcodable
class ResearchCategory(Enum):
    """The eight categories of the research question bank."""

    OUR_TEAM = "our_team"
    ACCOUNT_TEAM = "account_team"
    TRENDS = "trends"
    NEEDS = "needs"
    OTHER_INSIGHTS = "other_insights"
    COMPETITORS = "competitors"
    VALUE_WE_OFFER = "value_we_offer"
    WHAT_ELSE = "what_else"


# --- Relationship ----------------------------------------------------------------------


@transcodable
class BuyingRole(Enum):
    DECISION_MAKER = "decision_maker"
    ECONOMIC_BUYER = "economic_buyer"
    CHAMPION = "champion"
    INFLUENCER = "influencer"
    TECHNICAL_BUYER = "technical_buyer"
    USER = "user"
    GATEKEEPER = "gatekeeper"
    BLOCKER = "blocker"


@transcodable
class Disposition(Enum):
    SUPPORTER = "supporter"
    NEUTRAL = "neutral"
    DETRACTOR = "detractor"


@transcodable
class InteractionKind(Enum):
    MEETING = "meeting"
    CALL = "call"
    EMAIL = "email"
    QBR = "qbr"
    EVENT = "event"
    OTHER = "other"


@transcodable
@dataclass(frozen=True)
class PersonalData:
    """A stakeholder's personal data, kept apart so it can be encrypted per person and erased."""

    name: str
    email: str | None = None
    phone: str | None = None
    notes: str | None = None


# --- Money and financial periods -------------------------------------------------------

#: ISO 4217 codes that name no money a customer pays in: "no currency" and "for testing".
_NOT_MONEY = frozenset({"XXX", "XTS"})


def is_currency(code: object) -> bool:
    """Whether ``code`` is an ISO 4217 currency code (upper case; the ISO list as pycountry
    ships it, less XXX "no currency" and XTS "testing")."""
    import pycountry

    return (
        isinstance(code, str)
        and len(code) == 3
        and code.isupper()
        and code not in _NOT_MONEY
        and pycountry.currencies.get(alpha_3=code) is not None
    )


def currency_codes() -> list[str]:
    """Every code ``is_currency`` takes, sorted (the JSON schema's list of them)."""
    import pycountry

    return sorted(c.alpha_3 for c in pycountry.currencies if c.alpha_3 not in _NOT_MONEY)


def require_currency(field_name: str, code: object) -> str:
    """``code`` if it is an ISO 4217 currency code, else ``InvalidValueError``."""
    from kam_domain.errors import InvalidValueError

    if not is_currency(code):
        raise InvalidValueError(field_name, f"{code!r} is not an ISO 4217 currency code, e.g. EUR")
    assert isinstance(code, str)
    return code


_PERIOD = re.compile(r"^(\d{4})(?:-Q([1-4])|-(0[1-9]|1[0-2]))?$")
#: Labels stored before periods were typed that name one period unambiguously: ``Q4/2026``,
#: ``Q4 2026``, ``Q4-2026``, ``2026/Q4``, ``2026Q4``, ``2026 Q4`` and ``12/2026``, ``2026/12``.
_LEGACY_QUARTER = re.compile(r"^(?:Q([1-4])[ /-]?(\d{4})|(\d{4})[ /-]?Q([1-4]))$", re.IGNORECASE)
_LEGACY_MONTH = re.compile(r"^(?:(0?[1-9]|1[0-2])/(\d{4})|(\d{4})/(0?[1-9]|1[0-2]))$")


@dataclass(frozen=True)
class Period:
    """A financial period: a calendar year (``2026``), quarter (``2026-Q4``) or month
    (``2026-12``). Periods order by time: by their last day, then by their first (of two
    periods ending on the same day the shorter, later-starting one is the later)."""

    year: int
    quarter: int | None = None
    month: int | None = None

    @classmethod
    def parse(cls, label: object) -> Period:
        """The period a label names (``YYYY``, ``YYYY-Qn`` or ``YYYY-MM``), else
        ``InvalidValueError``."""
        from kam_domain.errors import InvalidValueError

        match = _PERIOD.match(label.strip()) if isinstance(label, str) else None
        if match is None or int(match.group(1)) < 1900:
            raise InvalidValueError(
                "period", "must be a year, quarter or month: YYYY, YYYY-Qn or YYYY-MM"
            )
        year, quarter, month = match.groups()
        return cls(int(year), int(quarter) if quarter else None, int(month) if month else None)

    @classmethod
    def read(cls, label: str) -> Period | None:
        """The period of a stored label: a typed one, or an older label that names one period
        unambiguously (``Q4/2026`` is ``2026-Q4``); None for any other (``FY2025``: a fiscal
        year need not be the calendar year)."""
        from kam_domain.errors import InvalidValueError

        try:
            return cls.parse(label)
        except InvalidValueError:
            pass
        quarter = _LEGACY_QUARTER.match(label.strip())
        if quarter:
            q1, y1, y2, q2 = quarter.groups()
            return cls(int(y1 or y2), quarter=int(q1 or q2))
        month = _LEGACY_MONTH.match(label.strip())
        if month:
            m1, y1, y2, m2 = month.groups()
            return cls(int(y1 or y2), month=int(m1 or m2))
        return None

    @property
    def months(self) -> int:
        """How many months the period spans (12, 3 or 1)."""
        return 1 if self.month else 3 if self.quarter else 12

    @property
    def start(self) -> date:
        if self.month:
            return date(self.year, self.month, 1)
        return date(self.year, 3 * self.quarter - 2 if self.quarter else 1, 1)

    @property
    def end(self) -> date:
        last_month = self.start.month + self.months - 1
        if last_month == 12:
            return date(self.year, 12, 31)
        return date(self.year, last_month + 1, 1) - timedelta(days=1)

    @property
    def order(self) -> tuple[date, date]:
        """The sort key by time."""
        return (self.end, self.start)

    def __lt__(self, other: Period) -> bool:
        return self.order < other.order

    def __str__(self) -> str:
        if self.month:
            return f"{self.year}-{self.month:02d}"
        if self.quarter:
            return f"{self.year}-Q{self.quarter}"
        return str(self.year)
