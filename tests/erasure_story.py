"""A small history with an erasure in it, told through the application service: two people at
one account; one of them (Erika) has her title, email and reporting line corrected, then her
personal data erased, then is spoken to once more.
Every text of hers is a word found nowhere else, so a test can look for it in any bytes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from kam_domain import commands as cmd
from kam_domain.application import KamApplication
from kam_domain.values import (
    BuyingRole,
    Disposition,
    Envelope,
    InteractionKind,
    ServiceProfile,
)

START = datetime(2026, 3, 2, 9, 0)

#: Erika's data and the free text of her relationship: none may survive the erasure.
ERIKA = {
    "name": "Erika Quillfeather",
    "email": "erika@quillfeather.example",
    "phone": "+44 7700 900123",
    "notes": "Prefers Zanzibar coffee",
    "title": "Chief Marmoset Officer",
    "interaction": "Discussed the Wobbegong rollout",
    "commitment": "Send the Ocelot pricing sheet",
    "fulfilment": "Sent the Ocelot sheet by courier",
    # Long, so the rewritten row is much shorter than the old one: SQLite puts the new row at
    # the end of the old one's space, and only secure_delete clears what it leaves uncovered.
    "reason": "Grumbled about Narwhal invoices" + ", and about late deliveries" * 20,
    "later": "Talked about the Pangolin pilot",
    "erasure_reason": "Asked under article 17 by Quillfeather",
    # Corrections of her record (title, email, reporting line), and why.
    "corrected_title": "Chief Jerboa Officer",
    "corrected_email": "erika@jerboa.example",
    "correction_reason": "Misheard at the Tamarin summit",
}
#: Ben's: all still there afterwards.
BEN = {
    "name": "Ben Stayput",
    "title": "Head of Capybara Logistics",
    "interaction": "Reviewed the Axolotl roadmap",
}


@dataclass(frozen=True)
class Story:
    account_id: UUID
    plan_id: UUID
    erika: UUID
    ben: UUID


def _meta(day: int, reason: str | None = None, actor: str = "mia") -> Envelope:
    return Envelope(actor=actor, occurred_on=START + timedelta(days=day), reason=reason)


def tell(app: KamApplication, *, suffix: str = "", erase: bool = True) -> Story:
    """Runs the story (``suffix`` makes the account name unique in a shared store; without
    ``erase``, Erika is not erased)."""
    account_id = app.handle(
        cmd.RegisterAccount(
            name=f"Erasure Test Ltd{suffix}",
            industry="Retail",
            region="EMEA",
            service_profile=ServiceProfile.STANDARD,
        ),
        meta=_meta(0, actor="dora"),
    ).id
    app.handle(cmd.AssignManager(account_id=account_id, manager="mia"), meta=_meta(0, actor="dora"))
    erika = app.handle(
        cmd.IdentifyStakeholder(
            account_id=account_id,
            name=ERIKA["name"],
            email=ERIKA["email"],
            phone=ERIKA["phone"],
            personal_notes=ERIKA["notes"],
            title=ERIKA["title"],
            buying_role=BuyingRole.DECISION_MAKER,
            influence=5,
        ),
        meta=_meta(1),
    ).id
    ben = app.handle(
        cmd.IdentifyStakeholder(
            account_id=account_id,
            name=BEN["name"],
            title=BEN["title"],
            buying_role=BuyingRole.CHAMPION,
            influence=3,
        ),
        meta=_meta(1),
    ).id
    correction = _meta(1, reason=ERIKA["correction_reason"])
    app.handle(
        cmd.CorrectTitle(stakeholder_id=erika, title=ERIKA["corrected_title"]), meta=correction
    )
    app.handle(
        cmd.CorrectContactDetails(
            stakeholder_id=erika, email=ERIKA["corrected_email"], phone=ERIKA["phone"]
        ),
        meta=correction,
    )
    app.handle(cmd.CorrectReportsTo(stakeholder_id=erika, reports_to=ben), meta=correction)
    for person, summary in ((erika, ERIKA["interaction"]), (ben, BEN["interaction"])):
        app.handle(
            cmd.LogInteraction(
                stakeholder_id=person,
                kind=InteractionKind.MEETING,
                on=date(2026, 3, 4),
                summary=summary,
                sentiment=1,
            ),
            meta=_meta(2),
        )
    commitment = app.handle(
        cmd.MakeCommitment(
            stakeholder_id=erika, description=ERIKA["commitment"], due_on=date(2026, 4, 1)
        ),
        meta=_meta(3),
    ).entity_id
    assert commitment is not None
    app.handle(
        cmd.FulfilCommitment(
            stakeholder_id=erika, commitment_id=commitment, note=ERIKA["fulfilment"]
        ),
        meta=_meta(4),
    )
    app.handle(
        cmd.MakeCommitment(stakeholder_id=erika, description=ERIKA["commitment"] + " again"),
        meta=_meta(4),
    )
    app.handle(
        cmd.ChangeDisposition(stakeholder_id=erika, disposition=Disposition.DETRACTOR),
        meta=_meta(5, reason=ERIKA["reason"]),
    )
    app.handle(cmd.AssignRelationshipOwner(stakeholder_id=erika, owner="mia"), meta=_meta(5))
    plan_id = app.handle(cmd.DraftPlan(account_id=account_id, period="2026"), meta=_meta(6)).id
    app.handle(
        cmd.AddAction(
            plan_id=plan_id,
            what="Workshop with the buying committee",
            owner="mia",
            due_on=date(2026, 5, 1),
            stakeholder_ids=(erika, ben),
        ),
        meta=_meta(6),
    )
    app.handle(
        cmd.RecordFeedback(
            account_id=account_id, nps=4, csat=2, respondent_id=erika, comment="Slow invoices"
        ),
        meta=_meta(7),
    )
    app.handle(
        cmd.RecordDeparture(stakeholder_id=ben, left_on=date(2026, 3, 20), successor_id=erika),
        meta=_meta(8),
    )
    if erase:
        app.handle(
            cmd.ErasePersonalData(stakeholder_id=erika),
            meta=_meta(9, reason=ERIKA["erasure_reason"], actor="dora"),
        )
    app.handle(
        cmd.LogInteraction(
            stakeholder_id=erika,
            kind=InteractionKind.CALL,
            on=date(2026, 3, 15),
            summary=ERIKA["later"],
            sentiment=0,
        ),
        meta=_meta(10),
    )
    app.handle(
        cmd.RecordFinancials(
            account_id=account_id,
            period="2026",
            revenue=Decimal(1000),
            gross_margin=None,
            revenue_target=None,
            currency="EUR",
        ),
        meta=_meta(10),
    )
    return Story(account_id=account_id, plan_id=plan_id, erika=erika, ben=ben)


def erased_texts() -> list[str]:
    """Every text of Erika's that must be gone (the distinctive word of each)."""
    return [
        "Quillfeather",
        "quillfeather",
        "900123",
        "Zanzibar",
        "Marmoset",
        "Wobbegong",
        "Ocelot",
        "Narwhal",
        "Pangolin",
        "Jerboa",
        "jerboa",
        "Tamarin",
    ]


def kept_texts() -> list[str]:
    """Ben's texts, which stay."""
    return ["Capybara", "Axolotl"]
