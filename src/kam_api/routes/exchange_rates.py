"""Exchange rates: record a dated rate to the reporting currency (directors and admins), list
the rates recorded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kam_api.command_routes import CommandRoutes
from kam_api.deps import AppSettings, CurrentUser, Director, MinPosition, Views
from kam_api.schemas.reads import ExchangeRatePublic
from kam_domain import commands as cmd
from kam_projections.money import exchange_rates

router = APIRouter(prefix="/exchange-rates", tags=["exchange rates"])

commands = CommandRoutes(router)
commands.post(
    "",
    cmd.RecordExchangeRate,
    "Records what one unit of a currency is worth in the reporting currency "
    "(KAM_REPORTING_CURRENCY) from a day on; the portfolio converts a period's figures with "
    "the latest rate effective on or before the period's last day. Recording the same day "
    "again replaces that day's rate (both stay in the log). Directors and admins only.",
    role=Director,
)


@router.get("", response_model=list[ExchangeRatePublic])
def list_exchange_rates(
    user: CurrentUser,
    views: Views,
    settings: AppSettings,
    _wait: MinPosition,
    currency: Annotated[str | None, Query(pattern="^[A-Z]{3}$")] = None,
) -> list[ExchangeRatePublic]:
    """The recorded rates (the current one of each currency pair and day), with who recorded
    each and when, by currency and effective day."""
    return [
        ExchangeRatePublic.model_validate(
            {**r, "reporting": r["to_currency"] == settings.reporting_currency}
        )
        for r in exchange_rates(views, currency)
    ]
