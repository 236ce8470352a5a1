"""CSV exports for finance: the overview's applications, a profile's users and a reclamation's candidates.

Names, e-mails and cost centers come from people and SaaS apps: a cell that a spreadsheet
would read as a formula (starting with = + - @, or a tab or carriage return) is written with a
leading apostrophe, as OWASP's CSV injection advice says, so that it stays text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from seatkeeper.core.money import Rate
from seatkeeper.licensing.analytics import Overview
from seatkeeper.licensing.reclamation import Reclamation
from seatkeeper.profiles.records import ProfileRecord
from seatkeeper.sync.runs import SnapshotStore, TakenBack, UserStatus, tracks_activity, users_with_standing

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

OVERVIEW_COLUMNS = (
    "application",
    "profile_id",
    "vendor",
    "cost_center",
    "position",
    "licenses_purchased",
    "assigned",
    "active",
    "stale",
    "unknown",
    "unassigned",
    "shortfall",
    "taken_back",
    "utilisation_percent",
    "currency",
    "cost_per_license_per_month",
    "spend_per_month",
    "spend_per_year",
    "potential_savings_per_month",
    "potential_savings_per_year",
    "true_up_cost_per_month",
    "true_up_cost_per_year",
    "reconciled_at",
)
# kind: the more list of seat holders (users.also) that lists the user, last so that earlier columns keep their place.
USER_COLUMNS = ("id", "email", "name", "role", "status", "last_activity", "activity", "reclaimed_at", "kind")
CANDIDATE_COLUMNS = (
    "id",
    "email",
    "name",
    "role",
    "tier",
    "last_activity",
    "activity_source",
    "why",
    "saves",
    "currency",
    "period",
    "keep_answer",
    "outcome",
    "kind",
)


def cell(value: Any) -> str:
    """A value as a CSV cell that no spreadsheet runs as a formula."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(header)
    writer.writerows([cell(v) for v in row] for row in rows)
    return out.getvalue()


def overview_csv(figures: Overview) -> str:
    """One row per application: its position and its money, per month and per year."""

    def rows() -> Iterator[list[Any]]:
        for a in figures.per_application:
            p = a.latest
            row: list[Any] = [a.name, a.profile_id, a.vendor, a.cost_center, p.position if p else "not_reconciled"]
            if p is None:
                row += [None] * 9 + [a.cost_per_license.currency, a.cost_per_license.per_month] + [None] * 7
                yield row
                continue
            savings, true_up = Rate.of(p.potential_savings), Rate.of(p.true_up_cost)
            yield [
                *row,
                *(p.licenses_purchased, p.assigned, p.active, p.stale, p.unknown, p.unused, p.shortfall),
                p.taken_back,
                a.utilisation,
                a.cost_per_license.currency,
                a.cost_per_license.per_month,
                a.spend.per_month if a.spend else None,
                a.spend.per_year if a.spend else None,
                savings.per_month,
                savings.per_year,
                true_up.per_month,
                true_up.per_year,
                p.reconciled_at.isoformat(timespec="seconds"),
            ]

    return _csv(OVERVIEW_COLUMNS, rows())


def activity_words(last_activity: datetime | None, *, tracked: bool) -> str:
    """The dashboard's words for a user without activity: the app never saw them, or never says."""
    if last_activity is not None:
        return ""
    return "never signed in" if tracked else "no activity data"


def users_csv(
    profile: ProfileRecord,
    snapshots: SnapshotStore,
    *,
    status: UserStatus | None = None,
    now: datetime | None = None,
    taken_back: Mapping[str, TakenBack] | None = None,
) -> str:
    """Every user of the last successful sync (or those of one status), in the store's order, each status
    in the users list's word (a seat a reclamation took back reads reclaimed, with its date)."""
    tracked = tracks_activity(profile.profile)

    def rows() -> Iterator[list[Any]]:
        for user in users_with_standing(profile, snapshots, status=status, now=now, taken_back=taken_back):
            seen = user.last_activity.isoformat(timespec="seconds") if user.last_activity else None
            words = activity_words(user.last_activity, tracked=tracked)
            taken = user.reclaimed_at.isoformat(timespec="seconds") if user.reclaimed_at else None
            yield [user.id, user.email, user.name, user.role, user.status, seen, words, taken, user.kind]

    return _csv(USER_COLUMNS, rows())


def candidates_csv(record: Reclamation) -> str:
    """Every candidate of a plan, as the admin reviews it: why, what it saves, the keep answer and the outcome."""
    answers = {d.user_id: d.status for d in record.decisions}
    outcomes = {o.user_id: o.outcome for o in record.outcomes}
    cost = record.seat_cost

    def rows() -> Iterator[list[Any]]:
        for c in record.candidates:
            seen = c.last_activity.isoformat(timespec="seconds") if c.last_activity else None
            saves = c.saves if c.saves is not None else cost.amount if cost else None
            yield [
                *(c.id, c.email, c.name, c.role, c.tier, seen, c.activity_source, c.why, saves),
                cost.currency if cost else None,
                cost.period if cost else None,
                answers.get(c.id),
                outcomes.get(c.id),
                c.kind,
            ]

    return _csv(CANDIDATE_COLUMNS, rows())
