"""Corrections through the application service, on both backends: the reporting line's
cross-aggregate checks (same account, no cycle) and the corrected state as stored."""

from __future__ import annotations

from uuid import UUID

import pytest

from kam_domain import commands as cmd
from kam_domain.application import KamApplication
from kam_domain.errors import InvalidValueError, ReasonRequiredError
from kam_domain.values import BuyingRole, Envelope, KamRole, ServiceProfile

MIA = Envelope(actor="mia")
WHY = Envelope(actor="mia", reason="org chart from the kick-off")


def account(kam: KamApplication, name: str) -> UUID:
    return kam.handle(
        cmd.RegisterAccount(
            name=name, industry="Retail", region="EMEA", service_profile=ServiceProfile.STANDARD
        ),
        meta=MIA,
    ).id


def person(kam: KamApplication, account_id: UUID, name: str, boss: UUID | None = None) -> UUID:
    return kam.handle(
        cmd.IdentifyStakeholder(
            account_id=account_id,
            name=name,
            buying_role=BuyingRole.CHAMPION,
            influence=3,
            reports_to=boss,
        ),
        meta=MIA,
    ).id


def test_the_reporting_line_is_corrected_within_the_account_without_cycles(
    app: KamApplication,
) -> None:
    # Given a line ceo <- cfo <- clerk at one account, and someone at another
    acme = account(app, "Acme Corrections")
    ceo = person(app, acme, "Cee")
    cfo = person(app, acme, "Eff", ceo)
    clerk = person(app, acme, "Clerk", cfo)
    stranger = person(app, account(app, "Other Corrections"), "Stranger")
    head = app.recorder.max_notification_id()

    # When corrections would cross accounts or close a loop, then they are refused unwritten
    for who, boss in ((ceo, clerk), (ceo, cfo), (cfo, stranger)):
        with pytest.raises(InvalidValueError):
            app.handle(cmd.CorrectReportsTo(stakeholder_id=who, reports_to=boss), meta=WHY)
    with pytest.raises(ReasonRequiredError):
        app.handle(cmd.CorrectReportsTo(stakeholder_id=clerk, reports_to=ceo), meta=MIA)
    assert app.recorder.max_notification_id() == head

    # When the clerk is found to report to the CEO, then that is stored with its reason
    result = app.handle(cmd.CorrectReportsTo(stakeholder_id=clerk, reports_to=ceo), meta=WHY)
    assert result.version == 2
    assert app.get_stakeholder(clerk).reports_to == ceo
    assert app.get_stakeholder(cfo).reports_to == ceo


def test_title_contact_details_and_team_roles_are_corrected_in_place(app: KamApplication) -> None:
    acme = account(app, "Acme Titles")
    grace = person(app, acme, "Grace")
    app.handle(
        cmd.AddTeamMember(account_id=acme, member="tom", roles=[KamRole.COLLABORATOR]), meta=MIA
    )

    app.handle(cmd.CorrectTitle(stakeholder_id=grace, title="CPO"), meta=WHY)
    app.handle(
        cmd.CorrectContactDetails(stakeholder_id=grace, email="g@acme.example", phone="+1"),
        meta=WHY,
    )
    app.handle(
        cmd.ChangeTeamRoles(account_id=acme, member="tom", roles=[KamRole.INNOVATOR]), meta=WHY
    )

    stored = app.get_stakeholder(grace)
    assert stored.title == "CPO" and stored.personal is not None
    assert (stored.personal.name, stored.personal.email, stored.personal.phone) == (
        "Grace",
        "g@acme.example",
        "+1",
    )
    assert app.get_account(acme).team == {"tom": [KamRole.INNOVATOR]}
