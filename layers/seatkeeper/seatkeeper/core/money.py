"""Money in seatkeeper: amounts per billing period and the rates they add up to, never mixing currencies."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer

Money = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class Amount(BaseModel):
    model_config = ConfigDict(defer_build=True)

    amount: Money
    currency: str
    period: str


MONTHS_IN = {"monthly": 1, "quarterly": 3, "annual": 12}

FOUR_PLACES = Decimal("0.0001")  # as precise as a cost per license


class Rate(BaseModel):
    """Money per month and per year, whatever the billing period it was bought for."""

    model_config = ConfigDict(defer_build=True)

    currency: str
    per_month: Money
    per_year: Money

    @classmethod
    def of(cls, amount: Amount) -> Rate:
        """An amount per billing period as a rate: quarterly is a third per month and four per year."""
        months = MONTHS_IN[amount.period]
        return cls(
            currency=amount.currency,
            per_month=(amount.amount / months).quantize(FOUR_PLACES),
            per_year=(amount.amount * 12 / months).quantize(FOUR_PLACES),
        )


def rates(amounts: Iterable[Amount | Rate]) -> list[Rate]:
    """Rates summed per currency (money in different currencies is never added up), by currency."""
    sums: dict[str, tuple[Decimal, Decimal]] = {}
    for item in amounts:
        rate = item if isinstance(item, Rate) else Rate.of(item)
        month, year = sums.get(rate.currency, (Decimal(0), Decimal(0)))
        sums[rate.currency] = (month + rate.per_month, year + rate.per_year)
    return [Rate(currency=c, per_month=m, per_year=y) for c, (m, y) in sorted(sums.items())]
