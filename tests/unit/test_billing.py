"""A subscription's billing dates: the next bill after a day, and the bills between two days."""

from __future__ import annotations

from datetime import date

from seatkeeper.core.money import Amount
from seatkeeper.licensing.billing import bills_between, next_billing_date
from seatkeeper.licensing.reclamation import ReclamationSummary, with_saving_dates
from tests.unit.test_position import profile


def test_a_monthly_subscription_is_billed_on_its_renewal_date_s_day_the_31st_at_a_short_month_s_end():
    # Given a monthly subscription that renews on January 31st, 2027
    renews = date(2027, 1, 31)
    # Then after November 15th, 2026 the next bill is November 30th; after it, December 31st; after
    # January 31st, February 28th (2027 is no leap year); before and after the renewal date alike
    assert next_billing_date(renews, "monthly", after=date(2026, 11, 15)) == date(2026, 11, 30)
    assert next_billing_date(renews, "monthly", after=date(2026, 11, 30)) == date(2026, 12, 31)
    assert next_billing_date(renews, "monthly", after=date(2027, 1, 31)) == date(2027, 2, 28)
    assert next_billing_date(renews, "monthly", after=date(2028, 2, 1)) == date(2028, 2, 29)


def test_an_annual_subscription_saves_from_its_next_renewal_and_a_quarterly_one_from_its_next_quarter():
    renews = date(2027, 1, 31)
    # A day after the renewal is a year away from the next bill; the day before it, one day
    assert next_billing_date(renews, "annual", after=date(2027, 1, 31)) == date(2028, 1, 31)
    assert next_billing_date(renews, "annual", after=date(2026, 12, 6)) == date(2027, 1, 31)
    assert next_billing_date(renews, "annual", after=date(2025, 3, 1)) == date(2026, 1, 31)
    # Quarterly: January, April, July, October, on the 31st or the month's last day
    assert next_billing_date(renews, "quarterly", after=date(2026, 12, 6)) == date(2027, 1, 31)
    assert next_billing_date(renews, "quarterly", after=date(2026, 5, 1)) == date(2026, 7, 31)
    assert next_billing_date(renews, "quarterly", after=date(2026, 3, 1)) == date(2026, 4, 30)


def test_without_a_renewal_date_the_next_bill_is_unknown_not_guessed():
    assert next_billing_date(None, "monthly", after=date(2026, 12, 6)) is None
    assert next_billing_date(None, "annual", after=date(2026, 12, 6)) is None


def test_the_bills_between_two_days_count_both_ends():
    renews = date(2027, 1, 15)
    # Monthly on the 15th: March 15th to June 15th holds four bills, March 16th to June 14th two
    assert bills_between(renews, "monthly", date(2026, 3, 15), date(2026, 6, 15)) == 4
    assert bills_between(renews, "monthly", date(2026, 3, 16), date(2026, 6, 14)) == 2
    assert bills_between(renews, "annual", date(2026, 1, 1), date(2026, 12, 31)) == 1
    assert bills_between(renews, "annual", date(2026, 1, 16), date(2026, 12, 31)) == 0


def test_a_profile_s_reclamations_are_dated_from_its_next_bill_once_they_finish_with_a_saving():
    def summary(rid, finished_at, amount):
        return ReclamationSummary(
            id=rid,
            profile_id="prf",
            status="completed" if finished_at else "running",
            dry_run=False,
            candidates=3,
            created_at="2026-10-01T09:00:00+00:00",
            finished_at=finished_at,
            reclaimed=3 if amount else 0,
            savings=Amount(amount=amount, currency="USD", period="monthly") if amount is not None else None,
        )

    # Given a monthly app that renews on the 15th, one finished reclamation that saved $30, one still
    # running and one that finished without a saving
    billed = profile(purchased=10)
    billed = billed.model_copy(
        update={"subscription": billed.subscription.model_copy(update={"renewal_date": date(2027, 3, 15)})}
    )
    summaries = [
        summary("a", "2026-10-20T16:00:00+00:00", 30),
        summary("b", None, None),
        summary("c", "2026-10-20T16:00:00+00:00", 0),
    ]
    # When they are dated
    dated = with_saving_dates(summaries, billed)
    # Then only the first saves, from November 15th; without a renewal date from an unknown day
    assert [s.saving_starts_on for s in dated] == [date(2026, 11, 15), None, None]
    undated = billed.model_copy(update={"subscription": billed.subscription.model_copy(update={"renewal_date": None})})
    assert with_saving_dates(summaries, undated)[0].saving_starts_on is None
