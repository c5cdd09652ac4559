"""Commands on exchange rates (directors and admins only)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import Field

from kam_domain.commands.base import Command, currency_enum


class RecordExchangeRate(Command):
    """Records what one unit of a currency is worth in the reporting currency from a day on."""

    currency: Annotated[
        str,
        Field(
            pattern=r"^[A-Z]{3}$",
            description="An ISO 4217 currency code other than the reporting currency",
            examples=["USD"],
            json_schema_extra=currency_enum,
        ),
    ]
    rate: Annotated[
        Decimal,
        Field(
            gt=0,
            max_digits=18,
            decimal_places=8,
            description="Units of the reporting currency one unit of `currency` is worth",
            examples=["0.92"],
        ),
    ]
    effective_on: Annotated[
        date, Field(description="The first day the rate applies to (a period's last day picks)")
    ]
