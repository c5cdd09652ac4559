"""The words a history is written in: people, companies, and what they say and write."""

from __future__ import annotations

from kam_domain.research import QUESTION_BANK
from kam_domain.values import BuyingRole, ResearchCategory, Tier


def _listed(text: str) -> tuple[str, ...]:
    return tuple(word.strip() for word in text.split("|"))


DIRECTOR = "zoe"
MANAGERS = ("ann", "bob", "eve", "dan", "kai")
SPECIALISTS = ("lena", "omar", "sofia", "yuki", "ravi", "ines", "tom", "mia")

COMPANY_BASES = _listed(
    "Northwind|Contoso|Fabrikam|Tailspin|Adventure Works|Wingtip|Litware|Proseware|Lucerne"
    "|Margie|Alpine Ski|Blue Yonder|Coho|Woodgrove|Humongous|Trey Research|Fourth Coffee"
    "|Graphic Design|Wide World|Relecloud|Datum|Southridge|Baltic Forge|Nordhavn|Meridian"
    "|Helios|Corvid|Granite Peak|Silverline|Riverbend|Oakmont|Bluewater|Redwood|Ironbridge"
    "|Starling|Brightwell|Harborview|Kestrel|Summit Ridge|Evergreen"
)
COMPANY_SUFFIXES = _listed(
    "Group|Industries|Logistics|Systems|Foods|Pharma|Energy|Retail|Manufacturing|Holdings"
)
INDUSTRIES = _listed(
    "manufacturing|logistics|retail|healthcare|energy|financial services|food and beverage"
    "|telecommunications|automotive|chemicals"
)
REGIONS = _listed("DACH|Nordics|Benelux|UK & Ireland|France|Iberia|Italy|CEE")
FIRST_NAMES = _listed(
    "Anna|Lukas|Marie|Jonas|Sara|Felix|Emma|Paul|Lea|Noah|Mila|Elias|Clara|Liam|Ida|Oskar"
    "|Nora|Henrik|Greta|Matteo|Sofia|Jan|Elena|David|Hanna|Pierre|Chloe|Tomas|Eva|Mateo"
)
LAST_NAMES = _listed(
    "Schmidt|Jensen|de Vries|Martin|Rossi|Novak|Garcia|Berg|Laurent|Keller|Nielsen|Bauer"
    "|Moreau|Kowalski|Lindqvist|Fischer|Dubois|Hansen|Romano|Weber|Janssen|Costa|Horvath"
    "|Svensson"
)
TITLES: dict[BuyingRole, tuple[str, ...]] = {
    BuyingRole.DECISION_MAKER: ("Chief Operating Officer", "Managing Director", "CEO"),
    BuyingRole.ECONOMIC_BUYER: ("CFO", "Head of Procurement", "VP Finance"),
    BuyingRole.CHAMPION: ("Head of Operations", "Programme Director", "Plant Manager"),
    BuyingRole.INFLUENCER: ("Head of Strategy", "Quality Director", "Category Manager"),
    BuyingRole.TECHNICAL_BUYER: ("CTO", "Head of IT", "Engineering Lead"),
    BuyingRole.USER: ("Team Lead", "Planner", "Shift Supervisor"),
    BuyingRole.GATEKEEPER: ("Executive Assistant", "Procurement Officer", "Office Manager"),
    BuyingRole.BLOCKER: ("Legacy Systems Owner", "Head of Internal IT", "Compliance Officer"),
}
PERSONAL_NOTES = (None, "Prefers short agendas", "Cycling enthusiast")
# "GLOBEX" is "Globex" again: noting it a second time updates the competitor.
COMPETITORS = _listed("Globex|Initech|Umbrella Services|Stark Supply|Vandelay|Hooli|GLOBEX")
RISKS = (
    "Budget freeze announced for next fiscal year",
    "Champion rumoured to be leaving",
    "Competitor offering 15% discount on renewal",
    "Service incidents above SLA threshold",
    "Merger may centralise purchasing",
)
SUMMARIES: dict[int, tuple[str, ...]] = {
    2: ("Very positive meeting; asked us to scope phase two", "Praised the rollout team"),
    1: ("Good progress review", "Constructive call on next quarter's priorities"),
    0: ("Routine status update", "Exchanged figures for the quarterly report"),
    -1: ("Raised concerns about delivery delays", "Pushed back on the price increase"),
    -2: ("Escalated an outage to their board", "Said they are evaluating alternatives"),
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
QUESTIONS = tuple(QUESTION_BANK.values())
RATIONALES = {
    Tier.STRATEGIC: "Top revenue account with board-level relationships",
    Tier.KEY: "Solid revenue base with room for expansion",
    Tier.EMERGING: "High growth potential; win now, grow later",
}
HANDOVER_REASONS = (
    "{} moves to the new-business team",
    "rebalancing portfolio load away from {}",
    "{} is on parental leave",
    "customer asked for a manager with industry background",
)
ACTIONS = (
    "Run a joint innovation workshop",
    "Prepare the quarterly business review",
    "Map the procurement decision process",
    "Present the expansion business case",
)
OBJECTIVES = (
    ("Grow share of wallet in the core category", "share of wallet %"),
    ("Raise NPS among the plant managers", "nps"),
    ("Win the second site", "sites live"),
)
REVIEW_NOTES = ("Year-end review with the account team", "Pipeline thin", "Renewal slipped")
BLOCKERS = ("waiting for customer data", "customer froze the budget")
NOTES = ("Renewal kick-off", "Roadmap walkthrough", "Pricing discussion", "Escalation follow-up")


def company_name(index: int) -> str:
    """A company name for the ``index``-th account of a test history (unique per index)."""
    base = COMPANY_BASES[index % len(COMPANY_BASES)]
    round_ = index // len(COMPANY_BASES)
    return f"{base} {COMPANY_SUFFIXES[index % len(COMPANY_SUFFIXES)]}" + (
        f" {round_ + 1}" if round_ else ""
    )
