"""The handover report (DESIGN §4): its content model, how it is gathered from the account's
history and the read models, and the gaps the history cannot answer. Rendering is the API's."""

from kam_projections.handover.builder import WorkLeft, build_report, work_left_by_handover
from kam_projections.handover.gaps import find_gaps
from kam_projections.handover.model import HandoverReport, LedgerStatus
from kam_projections.handover.view import AccountView, handover_parties, open_work

__all__ = [
    "AccountView",
    "HandoverReport",
    "LedgerStatus",
    "WorkLeft",
    "build_report",
    "find_gaps",
    "handover_parties",
    "open_work",
    "work_left_by_handover",
]
