"""Summaries of ``Relationship`` events (never reading ``personal``: a stakeholder's
personal data is not summarised)."""

from __future__ import annotations

from kam_projections.events import EventClass, Relationship
from kam_projections.summaries.text import (
    TEXT_LIMIT,
    Data,
    Labels,
    Summariser,
    changed,
    clip,
    day,
    label_of,
    quoted,
    signed,
    word,
)

_INTERACTION_KINDS = {
    "meeting": "Meeting",
    "call": "Call",
    "email": "Email",
    "qbr": "QBR",
    "event": "Event",
    "other": "Interaction",
}


def _identified(d: Data, labels: Labels) -> str:
    parts = [clip(d["title"], 40)] if d.get("title") else []
    parts += [word(d["buying_role"]), f"influence {d['influence']}/5"]
    return f"Stakeholder identified: {', '.join(parts)}"


def _disposition_changed(d: Data, labels: Labels) -> str:
    return f"Disposition changed from {word(d['previous'])} to {word(d['disposition'])}"


def _role_changed(d: Data, labels: Labels) -> str:
    old_role, new_role = word(d["previous_role"]), word(d["buying_role"])
    old_influence, new_influence = d["previous_influence"], d["influence"]
    if old_role == new_role:
        return f"Influence changed from {old_influence}/5 to {new_influence}/5 ({new_role})"
    if old_influence == new_influence:
        return f"Buying role changed from {old_role} to {new_role} (influence {new_influence}/5)"
    return (
        f"Buying role changed from {old_role} (influence {old_influence}/5) "
        f"to {new_role} (influence {new_influence}/5)"
    )


def _owner_assigned(d: Data, labels: Labels) -> str:
    return changed("Relationship owner", d.get("previous_owner"), clip(d["owner"], 40))


def _title_corrected(d: Data, labels: Labels) -> str:
    title = d.get("title")
    return f"Title corrected: {clip(title, 40)}" if title else "Title corrected: no title"


def _contact_details_corrected(d: Data, labels: Labels) -> str:
    # Which details are on record, never their values (the timeline keeps no contact details).
    given = [field for field in ("email", "phone") if d.get(field)]
    missing = [field for field in ("email", "phone") if not d.get(field)]
    parts = [f"{' and '.join(given)} on record"] if given else []
    parts += [f"no {' or '.join(missing)}"] if missing else []
    return f"Contact details corrected: {', '.join(parts)}"


def _reports_to_corrected(d: Data, labels: Labels) -> str:
    if d.get("reports_to") is None:
        return "Reporting line corrected: reports to no known stakeholder"
    return "Reporting line corrected: reports to another stakeholder of the account"


def _interaction_logged(d: Data, labels: Labels) -> str:
    kind = word(d["kind"])
    label = _INTERACTION_KINDS.get(kind, "Interaction")
    return (
        f"{label} logged for {day(d['on'])}, sentiment {signed(d['sentiment'])}: "
        f"{clip(d['summary'], TEXT_LIMIT)}"
    )


def _commitment_made(d: Data, labels: Labels) -> str:
    text = f"Commitment made: {quoted(d['description'])}"
    return f"{text}, due {day(d['due_on'])}" if d.get("due_on") is not None else text


def _commitment_fulfilled(d: Data, labels: Labels) -> str:
    text = f"Commitment{label_of(labels, d['commitment_id'])} fulfilled"
    return f"{text}: {clip(d['note'], TEXT_LIMIT)}" if d.get("note") else text


def _left_company(d: Data, labels: Labels) -> str:
    successor = "successor named" if d.get("successor_id") else "no successor named"
    return f"Stakeholder left the company on {day(d['left_on'])}, {successor}"


def _personal_data_erased(d: Data, labels: Labels) -> str:
    return "Stakeholder's personal data erased"


#: How each Relationship event is summarised.
SUMMARIES: dict[EventClass, Summariser] = {
    Relationship.Identified: _identified,
    Relationship.DispositionChanged: _disposition_changed,
    Relationship.RoleChanged: _role_changed,
    Relationship.OwnerAssigned: _owner_assigned,
    Relationship.TitleCorrected: _title_corrected,
    Relationship.ContactDetailsCorrected: _contact_details_corrected,
    Relationship.ReportsToCorrected: _reports_to_corrected,
    Relationship.InteractionLogged: _interaction_logged,
    Relationship.CommitmentMade: _commitment_made,
    Relationship.CommitmentFulfilled: _commitment_fulfilled,
    Relationship.LeftCompany: _left_company,
    Relationship.PersonalDataErased: _personal_data_erased,
}
