"""Handler of the exchange-rate command: one ``ExchangeRate`` history per currency pair."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kam_domain import commands as cmd
from kam_domain.commands.base import CommandResult
from kam_domain.errors import NotFoundError
from kam_domain.exchange_rates import ExchangeRate
from kam_domain.handlers.table import handles
from kam_domain.values import Envelope

if TYPE_CHECKING:
    from kam_domain.app_core import KamApplicationBase


@handles(cmd.RecordExchangeRate)
def record_exchange_rate(
    app: KamApplicationBase, command: cmd.RecordExchangeRate, meta: Envelope, expected: int | None
) -> CommandResult:
    """Records a rate of the currency to the application's reporting currency."""
    pair = ExchangeRate.create_id(command.currency, app.reporting_currency)

    def attempt(fresh: bool) -> CommandResult:
        try:
            history = app.load_expected(ExchangeRate, pair, expected, fresh=fresh)
        except NotFoundError:
            if expected is not None:
                raise
            history = ExchangeRate.open(
                currency=command.currency, to_currency=app.reporting_currency, meta=meta
            )
        history.record(rate=command.rate, effective_on=command.effective_on, meta=meta)
        return app.commit(history)

    return app.run(attempt, pair)
