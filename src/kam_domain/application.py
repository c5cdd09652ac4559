"""The application service: one method per use case, all three aggregates in one event store.

Every command returns a ``CommandResult``: the aggregate id, its new version and the
notification ``position`` of its last event (what a reader waits for to see the change).
A stale write raises ``ConflictError`` and writes nothing; ``expected_version`` (HTTP
``If-Match``) that no longer matches raises ``VersionMismatchError`` before anything is written.
"""

from __future__ import annotations

from kam_domain.account_use_cases import AccountUseCases
from kam_domain.app_core import (
    DEFAULT_TIER_CAPS,
    CommandResult,
    VersionMismatchError,
    apply_events,
)
from kam_domain.plan_use_cases import PlanUseCases
from kam_domain.relationship_use_cases import RelationshipUseCases

__all__ = [
    "DEFAULT_TIER_CAPS",
    "CommandResult",
    "KamApplication",
    "VersionMismatchError",
    "apply_events",
]


class KamApplication(AccountUseCases, PlanUseCases, RelationshipUseCases):
    """Key accounts, account plans and stakeholder relationships in one ordered event log."""

    name = "KAM"
