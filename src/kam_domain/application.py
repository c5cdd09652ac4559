"""The application service: one dispatcher for every command, and the store reads.

``kam.handle(command, meta=..., expected_version=...)`` runs the command's one handler
(``kam_domain.handlers``) and returns a ``CommandResult``: the aggregate id, its new version
and the notification ``position`` of its last event (what a reader waits for to see the
change). A stale write raises ``ConflictError`` and writes nothing; ``expected_version`` (HTTP
``If-Match``) that no longer matches raises ``VersionMismatchError`` before anything is
written. Commands that create an aggregate ignore ``expected_version``.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from kam_domain.account_plans import AccountPlan
from kam_domain.app_core import DEFAULT_TIER_CAPS, KamApplicationBase
from kam_domain.commands import (
    AccountCommand,
    Command,
    CommandResult,
    PlanCommand,
    RecordExchangeRate,
    RegisterAccount,
    StakeholderCommand,
)
from kam_domain.errors import NotFoundError, VersionMismatchError
from kam_domain.handlers import HANDLERS
from kam_domain.handlers.dates import check_dates
from kam_domain.handlers.people import check_people
from kam_domain.idempotency import fingerprint, run_once
from kam_domain.indexes import AccountName, TierRoster
from kam_domain.key_accounts import KeyAccount
from kam_domain.relationships import Relationship
from kam_domain.values import Envelope, Tier

__all__ = [
    "DEFAULT_TIER_CAPS",
    "CommandResult",
    "KamApplication",
    "VersionMismatchError",
]


class KamApplication(KamApplicationBase):
    """Key accounts, account plans and stakeholder relationships in one ordered event log."""

    name = "KAM"

    def handle(
        self, command: Command, *, meta: Envelope, expected_version: int | None = None
    ) -> CommandResult:
        """Runs the command's handler with the envelope its events will carry, after checking
        its dates (``kam_domain.dates``) and, given a people directory, the people it names
        (``kam_domain.people``): refused with ``InvalidValueError``, nothing written."""
        handler = HANDLERS.get(type(command))
        if handler is None:
            raise TypeError(f"no handler for {type(command).__name__}")
        check_dates(command, meta, self.date_bounds())
        if self.people is not None:
            check_people(command, self.people)
        return handler(self, command, meta, expected_version)

    def handle_once(
        self,
        command: Command,
        *,
        meta: Envelope,
        user: str,
        key: str,
        expected_version: int | None = None,
    ) -> tuple[CommandResult, bool]:
        """``handle`` with the user's idempotency key (``kam_domain.idempotency``): the answer,
        and whether it is the stored answer of an earlier run of the same command (nothing
        written). A key used for another command: ``IdempotencyKeyReusedError``; one still
        running in this process: ``IdempotencyInProgressError``."""
        claim = self.idempotency.claim(
            user,
            key,
            fingerprint(
                type(command).__name__,
                command.model_dump_json(),
                expected_version,
                meta.reason,
                meta.occurred_on,
            ),
        )
        return run_once(
            self.recorder,
            self.idempotency,
            claim,
            lambda: self.handle(command, meta=meta, expected_version=expected_version),
        )

    def account_of(self, command: Command) -> UUID | None:
        """The key account a command acts on (None for a registration): what a manager must
        manage, or be on the team of, to send it. Not found errors as for the command."""
        if isinstance(command, AccountCommand):
            return command.account_id
        if isinstance(command, PlanCommand):
            return self.load(AccountPlan, command.plan_id, fresh=False).account_id
        if isinstance(command, StakeholderCommand):
            return self.load(Relationship, command.stakeholder_id, fresh=False).account_id
        assert isinstance(command, RegisterAccount | RecordExchangeRate), type(command)
        return None

    # --- Store reads ----------------------------------------------------------------------

    def get_account(self, account_id: UUID) -> KeyAccount:
        """The key account as stored now."""
        return self.get(KeyAccount, account_id)

    def get_plan(self, plan_id: UUID) -> AccountPlan:
        """The account plan as stored now."""
        return self.get(AccountPlan, plan_id)

    def get_stakeholder(self, stakeholder_id: UUID) -> Relationship:
        """The stakeholder relationship as stored now."""
        return self.get(Relationship, stakeholder_id)

    def find_account_by_name(self, name: str) -> UUID | None:
        """The id of the account holding this name (compared case-insensitively), if any."""
        try:
            index: AccountName = self.repository.get(AccountName.create_id(name))
        except AggregateNotFoundError:
            return None
        return index.account_id

    def tier_counts(self) -> dict[Tier, int]:
        """How many accounts each tier holds (from the rosters the cap rule uses)."""
        counts = {}
        for tier in Tier:
            try:
                counts[tier] = len(self.get(TierRoster, TierRoster.create_id(tier)).members)
            except NotFoundError:
                counts[tier] = 0
        return counts
