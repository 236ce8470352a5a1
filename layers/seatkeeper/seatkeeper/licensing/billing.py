"""A subscription's billing dates: when its periods begin, and the bills from one day to another.

A subscription is billed every month, quarter or year on its renewal date's day (the 31st is the
last day of a shorter month). Without a renewal date nobody knows where its periods begin: the
functions answer None rather than guess a day.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date
from itertools import takewhile

from seatkeeper.core.money import MONTHS_IN


def _months_after(anchor: date, months: int) -> date:
    year, month = divmod(anchor.month - 1 + months, 12)
    year, month = anchor.year + year, month + 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


def billing_dates(renewal_date: date, period: str, *, after: date) -> Iterator[date]:
    """The billing dates after the day `after`, the nearest first; before or after the renewal date alike."""
    step = MONTHS_IN[period]
    # One period before the month of `after`: the first date of the walk is never later than the one sought.
    k = ((after.year - renewal_date.year) * 12 + after.month - renewal_date.month) // step - 1
    while _months_after(renewal_date, k * step) <= after:
        k += 1
    while True:
        yield _months_after(renewal_date, k * step)
        k += 1


def next_billing_date(renewal_date: date | None, period: str, *, after: date) -> date | None:
    """The first bill after the day `after`; None when the subscription has no renewal date."""
    return next(billing_dates(renewal_date, period, after=after)) if renewal_date is not None else None


def bills_between(renewal_date: date, period: str, first: date, last: date) -> int:
    """How many billing dates fall on `first`, `last` or a day between them."""
    day_before = date.fromordinal(first.toordinal() - 1)
    return sum(1 for _ in takewhile(lambda bill: bill <= last, billing_dates(renewal_date, period, after=day_before)))
