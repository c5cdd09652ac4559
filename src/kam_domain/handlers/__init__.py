"""One handler per command (``HANDLERS``), registered as the handler modules are imported."""

from __future__ import annotations

from kam_domain.handlers import accounts, exchange_rates, plans, relationships
from kam_domain.handlers.table import HANDLERS, Handler

__all__ = ["HANDLERS", "Handler", "accounts", "exchange_rates", "plans", "relationships"]
