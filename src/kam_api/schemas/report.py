"""The handover report's response schemas: the report itself is its content model
(``kam_projections.handover``), answered as it is; the handover command's answer is here."""

from __future__ import annotations

from pydantic import Field

from kam_api.schemas.common import CommandAccepted
from kam_projections.handover.model import (
    HandoverReport,
    OpenAction,
    OpenCommitment,
    StakeholderEntry,
)


class HandoverAccepted(CommandAccepted):
    """A handover accepted, with what the outgoing manager leaves open."""

    outgoing_manager: str | None = Field(description="Who managed the account until now")
    open_actions: list[OpenAction] = Field(
        description="Open plan actions the outgoing manager owns: reassign them"
    )
    open_commitments: list[OpenCommitment] = Field(
        description="Unkept commitments to stakeholders whose relationship the outgoing "
        "manager owns"
    )
    relationships_to_reassign: list[StakeholderEntry] = Field(
        description="Current stakeholders whose relationship the outgoing manager owns: give "
        "each a new owner"
    )
    listed_at_position: int = Field(
        description="The lists are complete up to this log position (the read models' at the "
        "time; normally at or past ``position``)"
    )


__all__ = ["HandoverAccepted", "HandoverReport"]
