"""A realistic, deterministic demo portfolio, loaded through the application service.

``load_demo`` plans every account's two-year history with one ``random.Random(seed)`` (so the
same seed gives the same commands in the same order), then runs each account's commands in
the order they happened. Events are recorded now but carry ``Envelope.occurred_on`` dates
spread over the two years ending at ``today``. A refused command is a bug in this generator
and is left to raise.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from kam_domain.application import KamApplication
from kam_domain.commands import (
    AchieveObjective,
    AcknowledgeHandover,
    AddAction,
    AddTeamMember,
    AdvanceOpportunity,
    AdvanceStage,
    AnswerResearchQuestion,
    AssessRelationship,
    AssignManager,
    AssignRelationshipOwner,
    BlockAction,
    CancelAction,
    ChangeDisposition,
    ChangeRole,
    ClassifyAccount,
    ClosePlan,
    CompleteAction,
    DraftPlan,
    FulfilCommitment,
    HandOver,
    IdentifyOpportunity,
    IdentifyStakeholder,
    LogInteraction,
    LoseOpportunity,
    MakeCommitment,
    MissObjective,
    MitigateRisk,
    NoteCompetitor,
    RaiseRisk,
    ReassignAction,
    RecordDeparture,
    RecordFeedback,
    RecordFinancials,
    RecordProgress,
    ReevaluateAccount,
    RegisterAccount,
    RescheduleAction,
    ReviewPlan,
    ScoreCriteria,
    SetFocus,
    SetObjective,
    SharePlan,
    StartAction,
    StateDirection,
    UnblockAction,
    WinOpportunity,
)
from kam_domain.research import QUESTION_BANK
from kam_domain.values import (
    AccountKind,
    BuyingRole,
    Disposition,
    EngagementLevel,
    Envelope,
    FocusWeights,
    InteractionKind,
    KamRole,
    KpiStatus,
    OpportunityKind,
    PersonalData,
    ReevaluationDecision,
    ResearchCategory,
    SelectionCriteria,
    ServiceProfile,
    Stage,
    ThreatLevel,
    Tier,
)

MANAGERS = ["ann", "bob", "eve", "dan", "kai"]
DIRECTOR = "zoe"
SPECIALISTS = ["lena", "omar", "sofia", "yuki", "ravi", "ines", "tom", "mia"]

COMPANY_BASES = [
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin",
    "Adventure Works",
    "Wingtip",
    "Litware",
    "Proseware",
    "Lucerne",
    "Margie",
    "Alpine Ski",
    "Blue Yonder",
    "Coho",
    "Woodgrove",
    "Humongous",
    "Trey Research",
    "Fourth Coffee",
    "Graphic Design",
    "Wide World",
    "Relecloud",
    "Datum",
    "Southridge",
    "Baltic Forge",
    "Nordhavn",
    "Meridian",
    "Helios",
    "Corvid",
    "Granite Peak",
    "Silverline",
    "Riverbend",
    "Oakmont",
    "Bluewater",
    "Redwood",
    "Ironbridge",
    "Starling",
    "Brightwell",
    "Harborview",
    "Kestrel",
    "Summit Ridge",
    "Evergreen",
]
COMPANY_SUFFIXES = [
    "Group",
    "Industries",
    "Logistics",
    "Systems",
    "Foods",
    "Pharma",
    "Energy",
    "Retail",
    "Manufacturing",
    "Holdings",
]
INDUSTRIES = [
    "manufacturing",
    "logistics",
    "retail",
    "healthcare",
    "energy",
    "financial services",
    "food and beverage",
    "telecommunications",
    "automotive",
    "chemicals",
]
REGIONS = ["DACH", "Nordics", "Benelux", "UK & Ireland", "France", "Iberia", "Italy", "CEE"]
FIRST_NAMES = [
    "Anna",
    "Lukas",
    "Marie",
    "Jonas",
    "Sara",
    "Felix",
    "Emma",
    "Paul",
    "Lea",
    "Noah",
    "Mila",
    "Elias",
    "Clara",
    "Liam",
    "Ida",
    "Oskar",
    "Nora",
    "Henrik",
    "Greta",
    "Matteo",
    "Sofia",
    "Jan",
    "Elena",
    "David",
    "Hanna",
    "Pierre",
    "Chloe",
    "Tomas",
    "Eva",
    "Mateo",
]
LAST_NAMES = [
    "Schmidt",
    "Jensen",
    "de Vries",
    "Martin",
    "Rossi",
    "Novak",
    "Garcia",
    "Berg",
    "Laurent",
    "Keller",
    "Nielsen",
    "Bauer",
    "Moreau",
    "Kowalski",
    "Lindqvist",
    "Fischer",
    "Dubois",
    "Hansen",
    "Romano",
    "Weber",
    "Janssen",
    "Costa",
    "Horvath",
    "Svensson",
]
TITLES: dict[BuyingRole, list[str]] = {
    BuyingRole.DECISION_MAKER: ["Chief Operating Officer", "Managing Director", "CEO"],
    BuyingRole.ECONOMIC_BUYER: ["CFO", "Head of Procurement", "VP Finance"],
    BuyingRole.CHAMPION: ["Head of Operations", "Programme Director", "Plant Manager"],
    BuyingRole.INFLUENCER: ["Head of Strategy", "Quality Director", "Category Manager"],
    BuyingRole.TECHNICAL_BUYER: ["CTO", "Head of IT", "Engineering Lead"],
    BuyingRole.USER: ["Team Lead", "Planner", "Shift Supervisor"],
    BuyingRole.GATEKEEPER: ["Executive Assistant", "Procurement Officer", "Office Manager"],
    BuyingRole.BLOCKER: ["Legacy Systems Owner", "Head of Internal IT", "Compliance Officer"],
}
COMPETITORS = ["Globex", "Initech", "Umbrella Services", "Stark Supply", "Vandelay", "Hooli"]
RISKS = [
    "Budget freeze announced for next fiscal year",
    "Champion rumoured to be leaving",
    "Competitor offering 15% discount on renewal",
    "Service incidents above SLA threshold",
    "Merger may centralise purchasing",
]
SUMMARIES = {
    2: ["Very positive meeting; asked us to scope phase two", "Praised the rollout team"],
    1: ["Good progress review", "Constructive call on next quarter's priorities"],
    0: ["Routine status update", "Exchanged figures for the quarterly report"],
    -1: ["Raised concerns about delivery delays", "Pushed back on the price increase"],
    -2: ["Escalated an outage to their board", "Said they are evaluating alternatives"],
}
RESEARCH_ANSWERS = {
    ResearchCategory.OUR_TEAM: "Our manager and technical lead meet their leadership monthly.",
    ResearchCategory.ACCOUNT_TEAM: "The COO sponsors the programme and signs off above 250k.",
    ResearchCategory.TRENDS: "Nearshoring and energy costs are reshaping their supply chain.",
    ResearchCategory.NEEDS: "They need shorter lead times and better demand visibility.",
    ResearchCategory.OTHER_INSIGHTS: "A reorganisation of procurement is expected next year.",
    ResearchCategory.COMPETITORS: "Two competitors are piloting in their second plant.",
    ResearchCategory.VALUE_WE_OFFER: "We cut their inventory costs by roughly 8% last year.",
    ResearchCategory.WHAT_ELSE: "We still need to learn their five-year capex plan.",
}
PERIOD_DAYS = 730


class DemoAlreadyLoadedError(Exception):
    """The store already holds accounts with demo names; loading again would duplicate them."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        shown = ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")
        super().__init__(
            f"the store already holds {len(names)} demo account(s) ({shown}); "
            "use a fresh store or another --seed"
        )


@dataclass
class DemoSummary:
    """What ``load_demo`` wrote."""

    account_names: list[str] = field(default_factory=list)
    commands: int = 0
    stakeholders: int = 0
    plans: int = 0
    handovers: int = 0
    #: The accounts that changed hands (good ones to try the handover report on).
    handed_over: list[str] = field(default_factory=list)
    last_position: int = 0
    tiers: dict[str, int] = field(default_factory=dict)
    last_quarter_revenue: Decimal = Decimal(0)

    @property
    def accounts(self) -> int:
        return len(self.account_names)


Op = tuple[datetime, int, Callable[..., object]]


def demo_account_names(accounts: int, seed: int) -> list[str]:
    """The names ``load_demo`` uses for this size and seed (deterministic)."""
    rng = random.Random(f"names-{seed}")
    bases = list(COMPANY_BASES)
    rng.shuffle(bases)
    names: list[str] = []
    for index in range(accounts):
        base = bases[index % len(bases)]
        round_ = index // len(bases)
        suffix = COMPANY_SUFFIXES[(rng.randrange(len(COMPANY_SUFFIXES)) + round_) % 10]
        name = f"{base} {suffix}"
        while name in names:
            name = f"{name} {round_ + 2}"
        names.append(name)
    return names


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def load_demo(
    app: KamApplication,
    *,
    accounts: int = 60,
    seed: int = 7,
    today: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Loads ``accounts`` demo accounts with two years of history ending at ``today``."""
    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    today = today or date.today()
    names = demo_account_names(accounts, seed)
    taken = [name for name in names if app.find_account_by_name(name) is not None]
    if taken:
        raise DemoAlreadyLoadedError(taken)
    generator = _Generator(app, random.Random(seed), today)
    # Pareto: revenue falls with rank like 1/rank^1.15; a few strategic accounts dominate.
    strategic = max(1, round(accounts * 0.1))
    key = max(strategic, round(accounts * 0.4))
    for index, name in enumerate(names):
        tier = Tier.STRATEGIC if index < strategic else Tier.KEY if index < key else Tier.EMERGING
        generator.account(index, name, tier)
        if progress is not None:
            progress(index + 1, accounts)
    summary = generator.summary
    summary.account_names = names
    summary.last_position = app.recorder.max_notification_id() or 0
    return summary


class _Generator:
    def __init__(self, app: KamApplication, rng: random.Random, today: date) -> None:
        self.app = app
        self.rng = rng
        self.today = today
        self.start = today - timedelta(days=PERIOD_DAYS)
        self.summary = DemoSummary()

    # --- helpers -------------------------------------------------------------------

    def at(self, day: date) -> datetime:
        """A working-hours moment on ``day`` (clamped into the two years)."""
        day = min(max(day, self.start), self.today)
        return datetime(
            day.year, day.month, day.day, self.rng.randint(8, 17), self.rng.choice((0, 15, 30, 45))
        )

    def meta(self, actor: str, when: datetime, reason: str | None = None) -> Envelope:
        return Envelope(actor=actor, occurred_on=when, reason=reason)

    def day(self, offset: int) -> date:
        return self.start + timedelta(days=offset)

    # --- one account -------------------------------------------------------------------

    def account(self, index: int, name: str, tier: Tier) -> None:
        rng = self.rng
        ops: list[Op] = []
        ids: dict[str, UUID] = {}

        def add(when: datetime, fn: Callable[..., object]) -> None:
            ops.append((when, len(ops), fn))

        strategic = tier is Tier.STRATEGIC
        emerging = tier is Tier.EMERGING
        onboard = self.day(rng.randint(0, 40) if not emerging else rng.randint(0, 300))
        when0 = self.at(onboard)
        manager = rng.choice(MANAGERS)
        profile = {
            Tier.STRATEGIC: ServiceProfile.PREMIUM,
            Tier.KEY: ServiceProfile.STANDARD,
            Tier.EMERGING: ServiceProfile.LIGHT,
        }[tier]
        industry = rng.choice(INDUSTRIES)
        region = rng.choice(REGIONS)
        declining = rng.random() < 0.25  # a cooling account: revenue and NPS fall

        def register() -> None:
            ids["account"] = self.app.handle(
                RegisterAccount(
                    name=name, industry=industry, region=region, service_profile=profile
                ),
                meta=self.meta(DIRECTOR, when0),
            ).id

        add(when0, register)
        kind = AccountKind.EMERGING if emerging else AccountKind.EXISTING
        rationale = {
            Tier.STRATEGIC: "Top revenue account with board-level relationships",
            Tier.KEY: "Solid revenue base with room for expansion",
            Tier.EMERGING: "High growth potential; win now, grow later",
        }[tier]
        w = when0 + timedelta(minutes=5)
        add(
            w,
            lambda: self.app.handle(
                ClassifyAccount(
                    account_id=ids["account"], tier=tier, kind=kind, rationale=rationale
                ),
                meta=self.meta(DIRECTOR, w, "annual portfolio selection"),
            ),
        )
        criteria = SelectionCriteria(
            *(
                min(5, max(1, rng.randint(2, 5) + (1 if strategic else -1 if emerging else 0)))
                for _ in range(8)
            )
        )
        add(
            w + timedelta(minutes=1),
            lambda: self.app.handle(
                ScoreCriteria.of(ids["account"], criteria), meta=self.meta(DIRECTOR, w)
            ),
        )
        add(
            w + timedelta(minutes=2),
            lambda: self.app.handle(
                AssignManager(account_id=ids["account"], manager=manager),
                meta=self.meta(DIRECTOR, w),
            ),
        )
        team = [(manager, [KamRole.RELATIONSHIP_LEADER])]
        roles = [r for r in KamRole if r is not KamRole.RELATIONSHIP_LEADER]
        for member in rng.sample(SPECIALISTS, 3 if strategic else 2 if not emerging else 1):
            team.append((member, rng.sample(roles, rng.randint(1, 2))))
        for member, member_roles in team:
            tw = w + timedelta(minutes=3)
            add(
                tw,
                lambda m=member, r=member_roles, tw=tw: self.app.handle(
                    AddTeamMember(account_id=ids["account"], member=m, roles=r),
                    meta=self.meta(manager, tw),
                ),
            )
        pen = rng.choice((20, 30, 40, 50))
        exp = rng.choice((20, 30, 40))
        focus = FocusWeights(pen, exp, 100 - pen - exp)
        add(
            w + timedelta(minutes=4),
            lambda: self.app.handle(SetFocus.of(ids["account"], focus), meta=self.meta(manager, w)),
        )
        # The KAM cycle, one stage every few weeks, then round again.
        stage = Stage.STRATEGY
        stage_day = onboard
        for _ in range(rng.randint(3, 7)):
            stage_day += timedelta(days=rng.randint(20, 90))
            if stage_day >= self.today:
                break
            stage = stage.next
            sw = self.at(stage_day)
            add(
                sw,
                lambda s=stage, sw=sw: self.app.handle(
                    AdvanceStage(account_id=ids["account"], to=s), meta=self.meta(manager, sw)
                ),
            )

        # Manager turnover: handed over with a reason, acknowledged by the incoming manager.
        current = manager
        if rng.random() < 0.3 or index % 4 == 1:
            hand_day = onboard + timedelta(days=rng.randint(120, 500))
            if hand_day < self.today - timedelta(days=14):
                incoming = rng.choice([m for m in MANAGERS if m != current])
                reason = rng.choice(
                    (
                        f"{current} moves to the new-business team",
                        f"rebalancing portfolio load away from {current}",
                        f"{current} is on parental leave",
                        "customer asked for a manager with industry background",
                    )
                )
                hw = self.at(hand_day)
                effective = hand_day + timedelta(days=14)
                aw = self.at(hand_day + timedelta(days=rng.randint(1, 10)))
                add(
                    hw,
                    lambda i=incoming, hw=hw, e=effective, r=reason: self.app.handle(
                        HandOver(account_id=ids["account"], to=i, effective_on=e),
                        meta=self.meta(DIRECTOR, hw, r),
                    ),
                )
                add(
                    aw,
                    lambda i=incoming, aw=aw: self.app.handle(
                        AcknowledgeHandover(
                            account_id=ids["account"],
                            notes="Read the history and met the team; taking over.",
                        ),
                        meta=self.meta(i, aw),
                    ),
                )
                self.summary.handovers += 1
                self.summary.handed_over.append(name)
                current = incoming

        self._financials(add, ids, index, onboard, declining, current)
        stakeholders = self._stakeholders(add, ids, index, tier, onboard, declining, manager)
        self._voice(add, ids, onboard, declining, stakeholders, manager, strategic)
        self._plans(add, ids, onboard, declining, manager, stakeholders)

        ops.sort(key=lambda op: (op[0], op[1]))
        for _, _, fn in ops:
            fn()
        self.summary.commands += len(ops)
        self.summary.tiers[tier.value] = self.summary.tiers.get(tier.value, 0) + 1

    def _financials(
        self,
        add: Callable[[datetime, Callable[..., object]], None],
        ids: dict[str, UUID],
        index: int,
        onboard: date,
        declining: bool,
        manager: str,
    ) -> None:
        rng = self.rng
        annual = 24_000_000 / (index + 1) ** 1.15 * rng.uniform(0.85, 1.15)
        growth = rng.uniform(-0.07, -0.02) if declining else rng.uniform(-0.01, 0.06)
        quarters: list[date] = []
        day = date(onboard.year, ((onboard.month - 1) // 3) * 3 + 1, 1)
        while day <= self.today:
            quarters.append(day)
            day = date(day.year + (day.month == 10), (day.month + 2) % 12 + 1, 1)
        count = len(quarters)
        for k, quarter_start in enumerate(quarters):
            revenue = annual / 4 * (1 + growth) ** (k - count + 1) * rng.uniform(0.95, 1.05)
            amount = Decimal(round(revenue))
            target = Decimal(round(revenue * rng.uniform(0.95, 1.12)))
            margin = Decimal(str(round(rng.uniform(0.18, 0.35), 3)))  # a ratio, as the API takes it
            period = quarter_of(quarter_start)
            # Recorded a few days after the quarter ends; the running quarter as of today.
            end = (quarter_start + timedelta(days=95)).replace(day=5)
            fw = self.at(min(end, self.today))
            add(
                fw,
                lambda p=period, a=amount, t=target, m=margin, fw=fw: self.app.handle(
                    RecordFinancials(
                        account_id=ids["account"],
                        period=p,
                        revenue=a,
                        gross_margin=m,
                        revenue_target=t,
                        currency="EUR",
                    ),
                    meta=self.meta(manager, fw),
                ),
            )
            if k == count - 1:
                self.summary.last_quarter_revenue += amount

    def _stakeholders(
        self,
        add: Callable[[datetime, Callable[..., object]], None],
        ids: dict[str, UUID],
        index: int,
        tier: Tier,
        onboard: date,
        declining: bool,
        manager: str,
    ) -> list[str]:
        rng = self.rng
        count = {Tier.STRATEGIC: 8, Tier.KEY: 6, Tier.EMERGING: 4}[tier]
        rest = [r for r in BuyingRole if r not in (BuyingRole.DECISION_MAKER, BuyingRole.CHAMPION)]
        roles = [BuyingRole.DECISION_MAKER, BuyingRole.CHAMPION, *rng.sample(rest, count - 2)]
        keys: list[str] = []
        span = (self.today - onboard).days
        leaver: int | None = None
        lday = self.today
        if (rng.random() < 0.35 or index % 3 == 2) and span > 130:
            leaver = rng.randrange(3)
            lday = onboard + timedelta(days=rng.randint(110, span - 20))
        for n, role in enumerate(roles):
            key = f"sh{n}"
            keys.append(key)
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            slug = f"{first}.{last}".lower().replace(" ", "")
            personal = PersonalData(
                name=f"{first} {last}",
                email=f"{slug}@example.com",
                phone=f"+49 30 {rng.randint(1000000, 9999999)}",
                notes=rng.choice((None, "Prefers short agendas", "Cycling enthusiast")),
            )
            title = rng.choice(TITLES[role])
            influence = 5 if role is BuyingRole.DECISION_MAKER else rng.randint(2, 5)
            iw = self.at(onboard + timedelta(days=1 + n))
            # A stakeholder who leaves does nothing after leaving.
            own_span = (lday - onboard).days - 1 if n == leaver else span
            reports_to = "sh0" if n > 0 else None

            def identify(
                key: str = key,
                personal: PersonalData = personal,
                title: str = title,
                role: BuyingRole = role,
                influence: int = influence,
                iw: datetime = iw,
                reports_to: str | None = reports_to,
            ) -> None:
                ids[key] = self.app.handle(
                    IdentifyStakeholder.of(
                        ids["account"],
                        personal,
                        title=title,
                        buying_role=role,
                        influence=influence,
                        reports_to=ids[reports_to] if reports_to else None,
                    ),
                    meta=self.meta(manager, iw),
                ).id
                self.summary.stakeholders += 1

            add(iw, identify)
            owner = manager if n < 2 else rng.choice(SPECIALISTS)
            add(
                iw + timedelta(minutes=1),
                lambda key=key, owner=owner, iw=iw: self.app.handle(
                    AssignRelationshipOwner(stakeholder_id=ids[key], owner=owner),
                    meta=self.meta(manager, iw),
                ),
            )
            disposition, reason = {
                BuyingRole.CHAMPION: (Disposition.SUPPORTER, "sponsors our programme internally"),
                BuyingRole.BLOCKER: (Disposition.DETRACTOR, "owns the system we would replace"),
            }.get(role, (None, None))
            if disposition is None and rng.random() < 0.35:
                disposition, reason = rng.choice(
                    (
                        (Disposition.SUPPORTER, "pleased with the last rollout"),
                        (Disposition.DETRACTOR, "unhappy with price increase"),
                    )
                )
            if declining and role is BuyingRole.DECISION_MAKER:
                disposition, reason = Disposition.DETRACTOR, "blames us for missed delivery dates"
            if disposition is not None:
                dw = self.at(onboard + timedelta(days=rng.randint(20, max(21, own_span - 10))))
                add(
                    dw,
                    lambda key=key, d=disposition, r=reason, dw=dw: self.app.handle(
                        ChangeDisposition(stakeholder_id=ids[key], disposition=d),
                        meta=self.meta(manager, dw, r),
                    ),
                )
            if role is BuyingRole.INFLUENCER and rng.random() < 0.5:
                cw = self.at(onboard + timedelta(days=rng.randint(60, max(61, own_span - 5))))
                add(
                    cw,
                    lambda key=key, cw=cw: self.app.handle(
                        ChangeRole(
                            stakeholder_id=ids[key],
                            buying_role=BuyingRole.ECONOMIC_BUYER,
                            influence=5,
                        ),
                        meta=self.meta(manager, cw, "promoted to budget owner"),
                    ),
                )
            # Interactions, latest ones cooler on declining accounts.
            window = range(12, max(13, own_span))
            contacts = sorted(rng.sample(window, min(len(window), rng.randint(2, 5))))
            for c, offset in enumerate(contacts):
                late = c >= len(contacts) - 2
                if declining and late:
                    sentiment = rng.choice((-2, -1, -1, 0))
                else:
                    sentiment = rng.choice((-1, 0, 1, 1, 2, 2))
                kind = rng.choice(list(InteractionKind))
                on = onboard + timedelta(days=offset)
                lw = self.at(on)
                summary = rng.choice(SUMMARIES[sentiment])
                add(
                    lw,
                    lambda key=key, k=kind, on=on, s=summary, v=sentiment, lw=lw: self.app.handle(
                        LogInteraction(
                            stakeholder_id=ids[key], kind=k, on=on, summary=s, sentiment=v
                        ),
                        meta=self.meta(manager, lw),
                    ),
                )
            if n == 1:  # commitments to the champion
                mday = onboard + timedelta(days=rng.randint(10, max(11, own_span - 30)))
                mw = self.at(mday)

                def commit(key: str = key, mw: datetime = mw, due: date = mday) -> None:
                    ids[f"{key}-c"] = (
                        self.app.handle(
                            MakeCommitment(
                                stakeholder_id=ids[key],
                                description="Send the benchmark report from comparable plants",
                                due_on=due + timedelta(days=21),
                            ),
                            meta=self.meta(manager, mw),
                        ).entity_id
                        or ids[key]
                    )

                add(mw, commit)
                if rng.random() < 0.6 and mday + timedelta(days=21) < lday:
                    fw = self.at(mday + timedelta(days=rng.randint(3, 20)))
                    add(
                        fw,
                        lambda key=key, fw=fw: self.app.handle(
                            FulfilCommitment(
                                stakeholder_id=ids[key], commitment_id=ids[f"{key}-c"], note="sent"
                            ),
                            meta=self.meta(manager, fw),
                        ),
                    )
        # Someone leaves the company; a successor is identified first.
        if leaver is not None:
            lw = self.at(lday)
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            role = roles[leaver]

            def successor(lw: datetime = lw, role: BuyingRole = role) -> None:
                ids["successor"] = self.app.handle(
                    IdentifyStakeholder.of(
                        ids["account"],
                        PersonalData(name=f"{first} {last}", email=None),
                        title=f"New {TITLES[role][0]}",
                        buying_role=role,
                        influence=3,
                        reports_to=None,
                    ),
                    meta=self.meta(manager, lw),
                ).id
                self.summary.stakeholders += 1

            add(lw, successor)
            add(
                lw + timedelta(minutes=10),
                lambda key=keys[leaver], lday=lday, lw=lw: self.app.handle(
                    RecordDeparture(
                        stakeholder_id=ids[key], left_on=lday, successor_id=ids["successor"]
                    ),
                    meta=self.meta(manager, lw),
                ),
            )
            keys.append("successor")
        return keys

    def _voice(
        self,
        add: Callable[[datetime, Callable[..., object]], None],
        ids: dict[str, UUID],
        onboard: date,
        declining: bool,
        stakeholders: list[str],
        manager: str,
        strategic: bool,
    ) -> None:
        rng = self.rng
        span = (self.today - onboard).days
        # NPS/CSAT every half-year; declining accounts drop sharply in the last survey.
        surveys = list(range(30, span, 182))
        for s, offset in enumerate(surveys):
            last = s == len(surveys) - 1
            nps = rng.randint(2, 5) if declining and last else rng.randint(7, 10)
            csat = rng.randint(1, 3) if declining and last else rng.randint(3, 5)
            respondent = stakeholders[0] if rng.random() < 0.5 else None
            fw = self.at(onboard + timedelta(days=offset))
            add(
                fw,
                lambda n=nps, c=csat, r=respondent, fw=fw, last=last: self.app.handle(
                    RecordFeedback(
                        account_id=ids["account"],
                        nps=n,
                        csat=c,
                        respondent_id=ids[r] if r and r in ids and not last else None,
                        comment="Survey response"
                        if not (declining and last)
                        else "Delivery issues",
                    ),
                    meta=self.meta(manager, fw),
                ),
            )
        for a, offset in enumerate(range(60, span, 365)):
            later = a > 0
            engagement = (
                EngagementLevel.SEEKING_REPLACEMENT
                if declining and later
                else rng.choice(
                    (EngagementLevel.ENGAGED, EngagementLevel.INDIFFERENT, EngagementLevel.ENGAGED)
                )
            )
            low = declining and later
            trust, satisfaction = (
                (rng.randint(1, 2), rng.randint(1, 2))
                if low
                else (rng.randint(3, 5), rng.randint(3, 5))
            )
            rating = rng.randint(2, 4) if low else rng.randint(6, 9)
            aw = self.at(onboard + timedelta(days=offset))
            add(
                aw,
                lambda e=engagement, t=trust, s=satisfaction, p=rating, aw=aw: self.app.handle(
                    AssessRelationship(
                        account_id=ids["account"],
                        engagement=e,
                        trust=t,
                        satisfaction=s,
                        partner_rating=p,
                        notes="Annual relationship x-ray",
                    ),
                    meta=self.meta(manager, aw),
                ),
            )
        for competitor in rng.sample(COMPETITORS, 2 if strategic else 1):
            threat = ThreatLevel.HIGH if declining else rng.choice(list(ThreatLevel))
            cw = self.at(onboard + timedelta(days=rng.randint(15, max(16, span - 5))))
            add(
                cw,
                lambda c=competitor, t=threat, cw=cw: self.app.handle(
                    NoteCompetitor(
                        account_id=ids["account"], name=c, threat=t, notes="Seen in tender"
                    ),
                    meta=self.meta(manager, cw),
                ),
            )
        if declining or rng.random() < 0.4:
            title = rng.choice(RISKS)
            rday = onboard + timedelta(days=rng.randint(30, max(31, span - 10)))
            rw = self.at(rday)

            amount = Decimal(rng.randint(50, 900) * 1000)

            def raise_risk(rw: datetime = rw, title: str = title, amount: Decimal = amount) -> None:
                result = self.app.handle(
                    RaiseRisk(
                        account_id=ids["account"],
                        title=title,
                        severity=ThreatLevel.HIGH if declining else ThreatLevel.MEDIUM,
                        revenue_at_risk=amount,
                    ),
                    meta=self.meta(manager, rw),
                )
                assert result.entity_id is not None
                ids["risk"] = result.entity_id

            add(rw, raise_risk)
            if not declining and rday + timedelta(days=40) < self.today:
                mw = self.at(rday + timedelta(days=rng.randint(10, 40)))
                add(
                    mw,
                    lambda mw=mw: self.app.handle(
                        MitigateRisk(
                            account_id=ids["account"],
                            risk_id=ids["risk"],
                            mitigation="Executive sponsor call held",
                        ),
                        meta=self.meta(manager, mw),
                    ),
                )

    def _plans(
        self,
        add: Callable[[datetime, Callable[..., object]], None],
        ids: dict[str, UUID],
        onboard: date,
        declining: bool,
        manager: str,
        stakeholders: list[str],
    ) -> None:
        rng = self.rng
        questions = list(QUESTION_BANK.values())
        for year in range(onboard.year, self.today.year + 1):
            draft_day = max(onboard + timedelta(days=2), date(year, 1, 10))
            # The running plan stays open; early in a year last year's plan is still running.
            current = year == self.today.year or (
                year == self.today.year - 1 and self.today < date(self.today.year, 2, 24)
            )
            if draft_day > self.today - timedelta(days=45) or draft_day > date(year, 9, 1):
                continue
            close_day = date(year, 11, rng.randint(1, 28))
            plan_key = f"plan{year}"
            dw = self.at(draft_day)
            self.summary.plans += 1

            def draft(plan_key: str = plan_key, year: int = year, dw: datetime = dw) -> None:
                ids[plan_key] = self.app.handle(
                    DraftPlan(
                        account_id=ids["account"], period=str(year), title=f"Account plan {year}"
                    ),
                    meta=self.meta(manager, dw),
                ).id

            add(dw, draft)
            add(
                dw + timedelta(minutes=1),
                lambda pk=plan_key, dw=dw: self.app.handle(
                    StateDirection(
                        plan_id=ids[pk],
                        direction="Protect the core and expand into adjacent sites",
                        priorities=["protect renewal", "expand to second plant", "raise NPS"],
                    ),
                    meta=self.meta(manager, dw),
                ),
            )
            sw = self.at(draft_day + timedelta(days=rng.randint(7, 30)))
            agreed = rng.random() < 0.8
            add(
                sw,
                lambda pk=plan_key, sw=sw, a=agreed: self.app.handle(
                    SharePlan(
                        plan_id=ids[pk],
                        agreed=a,
                        notes=None if a else "Wants more detail on pricing",
                    ),
                    meta=self.meta(manager, sw),
                ),
            )
            for q in rng.sample(questions, rng.randint(3, 6)):
                qw = self.at(draft_day + timedelta(days=rng.randint(1, 20)))
                add(
                    qw,
                    lambda pk=plan_key, q=q, qw=qw: self.app.handle(
                        AnswerResearchQuestion(
                            plan_id=ids[pk], question_id=q.id, answer=RESEARCH_ANSWERS[q.category]
                        ),
                        meta=self.meta(manager, qw),
                    ),
                )
            year_end = date(year, 12, 15)
            for o in range(rng.randint(1, 3)):
                okey = f"{plan_key}-obj{o}"
                baseline = Decimal(rng.randint(20, 60))
                target = baseline + Decimal(rng.randint(10, 30))
                ow = self.at(draft_day + timedelta(days=o + 1))

                def objective(
                    okey: str = okey,
                    pk: str = plan_key,
                    b: Decimal = baseline,
                    t: Decimal = target,
                    ow: datetime = ow,
                    due: date = year_end,
                ) -> None:
                    result = self.app.handle(
                        SetObjective(
                            plan_id=ids[pk],
                            statement="Grow share of wallet in the core category",
                            metric="share of wallet %",
                            baseline=b,
                            target=t,
                            due_on=due,
                        ),
                        meta=self.meta(manager, ow),
                    )
                    assert result.entity_id is not None
                    ids[okey] = result.entity_id

                add(ow, objective)
                steps = 2 if current else 3
                for step in range(1, steps + 1):
                    pday = draft_day + timedelta(days=step * 90)
                    if pday >= self.today or pday >= date(year, 12, 15):
                        break
                    value = baseline + (target - baseline) * Decimal(step) / Decimal(4)
                    pw = self.at(pday)
                    add(
                        pw,
                        lambda pk=plan_key, ok=okey, v=value, pw=pw: self.app.handle(
                            RecordProgress(
                                plan_id=ids[pk],
                                objective_id=ids[ok],
                                value=v.quantize(Decimal("0.1")),
                                note=None,
                            ),
                            meta=self.meta(manager, pw),
                        ),
                    )
                if not current:
                    achieved = rng.random() < (0.3 if declining else 0.65)
                    rw = self.at(date(year, 12, 20))
                    if achieved:
                        add(
                            rw,
                            lambda pk=plan_key, ok=okey, rw=rw: self.app.handle(
                                AchieveObjective(plan_id=ids[pk], objective_id=ids[ok]),
                                meta=self.meta(manager, rw),
                            ),
                        )
                    else:
                        add(
                            rw,
                            lambda pk=plan_key, ok=okey, rw=rw: self.app.handle(
                                MissObjective(plan_id=ids[pk], objective_id=ids[ok]),
                                meta=self.meta(manager, rw, "customer postponed the rollout"),
                            ),
                        )
            for p in range(rng.randint(1, 3)):
                pkey = f"{plan_key}-opp{p}"
                kind = rng.choice(list(OpportunityKind))
                value = Decimal(rng.randint(20, 600) * 1000)
                pw = self.at(draft_day + timedelta(days=10 + p))

                def opportunity(
                    pkey: str = pkey,
                    pk: str = plan_key,
                    k: OpportunityKind = kind,
                    v: Decimal = value,
                    pw: datetime = pw,
                ) -> None:
                    result = self.app.handle(
                        IdentifyOpportunity(
                            plan_id=ids[pk],
                            kind=k,
                            title=f"{k.value.replace('_', ' ').title()} deal",
                            value=v,
                            probability=30,
                        ),
                        meta=self.meta(manager, pw),
                    )
                    assert result.entity_id is not None
                    ids[pkey] = result.entity_id

                add(pw, opportunity)
                aday = draft_day + timedelta(days=rng.randint(40, 120))
                if aday < self.today and (current or aday < close_day):
                    aw = self.at(aday)
                    add(
                        aw,
                        lambda pk=plan_key, ok=pkey, aw=aw: self.app.handle(
                            AdvanceOpportunity(
                                plan_id=ids[pk],
                                opportunity_id=ids[ok],
                                probability=60,
                                note="Proposal sent",
                            ),
                            meta=self.meta(manager, aw),
                        ),
                    )
                if not current:
                    cw = self.at(close_day)
                    if rng.random() < (0.3 if declining else 0.6):
                        add(
                            cw,
                            lambda pk=plan_key, ok=pkey, v=value, cw=cw: self.app.handle(
                                WinOpportunity(plan_id=ids[pk], opportunity_id=ids[ok], value=v),
                                meta=self.meta(manager, cw),
                            ),
                        )
                    else:
                        add(
                            cw,
                            lambda pk=plan_key, ok=pkey, cw=cw: self.app.handle(
                                LoseOpportunity(plan_id=ids[pk], opportunity_id=ids[ok]),
                                meta=self.meta(manager, cw, "lost on price to a competitor"),
                            ),
                        )
            for n in range(rng.randint(2, 4)):
                akey = f"{plan_key}-act{n}"
                due = min(draft_day + timedelta(days=rng.randint(30, 200)), date(year, 12, 10))
                owner = rng.choice([manager, *SPECIALISTS[:3]])
                involved = [stakeholders[rng.randrange(min(2, len(stakeholders)))]]
                aw = self.at(draft_day + timedelta(days=2))
                what = rng.choice(
                    (
                        "Run a joint innovation workshop",
                        "Prepare the quarterly business review",
                        "Map the procurement decision process",
                        "Present the expansion business case",
                    )
                )

                def action(
                    akey: str = akey,
                    pk: str = plan_key,
                    due: date = due,
                    owner: str = owner,
                    involved: list[str] = involved,
                    aw: datetime = aw,
                    what: str = what,
                    objective: str = f"{plan_key}-obj0",
                ) -> None:
                    result = self.app.handle(
                        AddAction(
                            plan_id=ids[pk],
                            what=what,
                            owner=owner,
                            due_on=due,
                            stakeholder_ids=[ids[s] for s in involved if s in ids],
                            success_measure="Customer confirms next step in writing",
                            objective_id=ids[objective],
                        ),
                        meta=self.meta(manager, aw),
                    )
                    assert result.entity_id is not None
                    ids[akey] = result.entity_id

                add(aw, action)
                fate = rng.random()
                start_day = due - timedelta(days=rng.randint(10, 25))
                if start_day < self.today:
                    sw = self.at(start_day)
                    add(
                        sw,
                        lambda pk=plan_key, ak=akey, ow=owner, sw=sw: self.app.handle(
                            StartAction(plan_id=ids[pk], action_id=ids[ak]), meta=self.meta(ow, sw)
                        ),
                    )
                if due < self.today and (not current or fate < 0.5):
                    if fate < 0.12:
                        cw = self.at(due)
                        add(
                            cw,
                            lambda pk=plan_key, ak=akey, ow=owner, cw=cw: self.app.handle(
                                CancelAction(plan_id=ids[pk], action_id=ids[ak]),
                                meta=self.meta(manager, cw, "superseded by the new roadmap"),
                            ),
                        )
                        continue
                    if fate < 0.3:
                        bw = self.at(due - timedelta(days=3))
                        add(
                            bw,
                            lambda pk=plan_key, ak=akey, ow=owner, bw=bw: self.app.handle(
                                BlockAction(plan_id=ids[pk], action_id=ids[ak]),
                                meta=self.meta(ow, bw, "waiting for customer data"),
                            ),
                        )
                        add(
                            bw + timedelta(days=2),
                            lambda pk=plan_key, ak=akey, ow=owner, bw=bw: self.app.handle(
                                UnblockAction(plan_id=ids[pk], action_id=ids[ak]),
                                meta=self.meta(ow, bw),
                            ),
                        )
                    done = self.at(due - timedelta(days=1)) + timedelta(days=1 if fate < 0.3 else 0)
                    add(
                        done,
                        lambda pk=plan_key, ak=akey, ow=owner, d=done: self.app.handle(
                            CompleteAction(
                                plan_id=ids[pk],
                                action_id=ids[ak],
                                outcome="Done; customer agreed next steps",
                            ),
                            meta=self.meta(ow, d),
                        ),
                    )
                elif fate > 0.8:
                    # Rescheduled once (before it fell due), then possibly late again.
                    rday = min(due - timedelta(days=5), self.today - timedelta(days=1))
                    new_due = due + timedelta(days=rng.randint(14, 45))
                    rw = self.at(rday)
                    add(
                        rw,
                        lambda pk=plan_key, ak=akey, ow=owner, nd=new_due, rw=rw: self.app.handle(
                            RescheduleAction(plan_id=ids[pk], action_id=ids[ak], due_on=nd),
                            meta=self.meta(ow, rw, "customer moved the steering meeting"),
                        ),
                    )
                    if fate > 0.9:
                        other = rng.choice([m for m in SPECIALISTS[3:] if m != owner])
                        add(
                            rw + timedelta(minutes=5),
                            lambda pk=plan_key, ak=akey, ow=owner, o=other, rw=rw: self.app.handle(
                                ReassignAction(plan_id=ids[pk], action_id=ids[ak], owner=o),
                                meta=self.meta(manager, rw),
                            ),
                        )
                # Otherwise it stays open: overdue if its due date has passed.
            if not current:
                rw = self.at(date(year, 12, 22))
                status = KpiStatus.OFF_TRACK if declining else rng.choice(list(KpiStatus))
                add(
                    rw,
                    lambda pk=plan_key, s=status, rw=rw: self.app.handle(
                        ReviewPlan(
                            plan_id=ids[pk],
                            notes="Year-end review with the account team",
                            kpi_status=s,
                        ),
                        meta=self.meta(manager, rw),
                    ),
                )
                decision = (
                    ReevaluationDecision.DOWNGRADE
                    if declining and rng.random() < 0.3
                    else ReevaluationDecision.RETAIN
                )
                add(
                    rw + timedelta(minutes=5),
                    lambda d=decision, rw=rw: self.app.handle(
                        ReevaluateAccount(
                            account_id=ids["account"],
                            decision=d,
                            rationale="Annual key-list review",
                        ),
                        meta=self.meta(DIRECTOR, rw),
                    ),
                )
                add(
                    rw + timedelta(minutes=10),
                    lambda pk=plan_key, rw=rw: self.app.handle(
                        ClosePlan(plan_id=ids[pk]), meta=self.meta(manager, rw)
                    ),
                )
