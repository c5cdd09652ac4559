"""The aggregates whose nested event classes key the read models' dispatch tables.

``@event("Registered")`` creates ``KeyAccount.Registered`` when the aggregate class is defined,
so a type checker cannot see it. These names are the very same aggregate classes, typed ``Any``,
so a table can say ``KeyAccount.Registered`` and a search for ``KeyAccount.Registered`` finds
every read model that reacts to it. A misspelt event fails at import, not silently.
"""

from __future__ import annotations

from typing import Any

from kam_domain import account_plans, exchange_rates, key_accounts, relationships

KeyAccount: Any = key_accounts.KeyAccount
AccountPlan: Any = account_plans.AccountPlan
Relationship: Any = relationships.Relationship
ExchangeRate: Any = exchange_rates.ExchangeRate

#: A domain event class, e.g. ``AccountPlan.ActionCompleted`` (the key of a dispatch table).
EventClass = type[Any]

__all__ = ["AccountPlan", "EventClass", "ExchangeRate", "KeyAccount", "Relationship"]
