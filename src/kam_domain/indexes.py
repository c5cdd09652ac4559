"""Small index aggregates that make portfolio-wide rules hold under concurrent writers.

Each is saved in the same transaction as the account it guards, so two writers racing on the
same name (or the last free place in a tier) collide on the index's version: one wins, the
other writes nothing.
"""

from __future__ import annotations

import unicodedata
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from kam_domain.base import KamAggregate
from kam_domain.values import Envelope, Tier


def normalise_name(name: str) -> str:
    """The form in which account names are compared: NFKC, case-folded, single-spaced."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


class AccountName(KamAggregate):
    """Reserves a normalised account name for one key account."""

    @staticmethod
    def create_id(name: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"kam:account-name:{normalise_name(name)}")

    @event("Reserved")
    def __init__(self, name: str, account_id: UUID, meta: Envelope) -> None:
        self.name = name
        self.account_id = account_id


class TierRoster(KamAggregate):
    """The accounts classified into one tier, so the tier's cap can be enforced."""

    @staticmethod
    def create_id(tier: Tier) -> UUID:
        return uuid5(NAMESPACE_URL, f"kam:tier-roster:{tier.value}")

    @event("Opened")
    def __init__(self, tier: Tier, meta: Envelope) -> None:
        self.tier = tier
        self.members: list[str] = []

    def holds(self, account_id: UUID) -> bool:
        return str(account_id) in self.members

    def count_others(self, account_id: UUID) -> int:
        """How many accounts other than this one the tier holds."""
        return len([m for m in self.members if m != str(account_id)])

    def admit(self, *, account_id: UUID, meta: Envelope) -> None:
        if not self.holds(account_id):
            self._admitted(account_id=account_id, meta=meta)

    def release(self, *, account_id: UUID, meta: Envelope) -> None:
        if self.holds(account_id):
            self._released(account_id=account_id, meta=meta)

    @event("Admitted")
    def _admitted(self, account_id: UUID, meta: Envelope) -> None:
        self.members.append(str(account_id))

    @event("Released")
    def _released(self, account_id: UUID, meta: Envelope) -> None:
        self.members.remove(str(account_id))
