"""The local stack's scheduler reads EventBridge Scheduler expressions as AWS does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from seatkeeper_local.schedules import LocalScheduler, Schedule, next_fire

T = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)  # a Saturday


@pytest.mark.parametrize(
    ("expression", "zone", "expected"),
    [
        ("rate(5 minutes)", "UTC", datetime(2026, 11, 28, 10, 35, tzinfo=UTC)),
        ("rate(1 day)", "UTC", datetime(2026, 11, 29, 10, 30, tzinfo=UTC)),
        ("cron(0 3 * * ? *)", "UTC", datetime(2026, 11, 29, 3, 0, tzinfo=UTC)),
        ("cron(0 3 * * ? *)", "Europe/Berlin", datetime(2026, 11, 29, 2, 0, tzinfo=UTC)),  # CET is UTC+1
        ("cron(15 12 * * ? *)", "UTC", datetime(2026, 11, 28, 12, 15, tzinfo=UTC)),
        ("cron(0 9 ? * MON-FRI *)", "UTC", datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),  # the next Monday
        ("cron(0/20 * * * ? *)", "UTC", datetime(2026, 11, 28, 10, 40, tzinfo=UTC)),
        ("cron(0 0 1 JAN ? *)", "UTC", datetime(2027, 1, 1, 0, 0, tzinfo=UTC)),
        ("at(2026-12-01T08:00:00)", "UTC", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        ("at(2026-01-01T08:00:00)", "UTC", None),
    ],
)
def test_next_fire(expression, zone, expected):
    assert next_fire(expression, zone, T) == expected


@pytest.mark.parametrize("expression", ["cron(0 3 L * ? *)", "cron(0 3 * *)", "every day", "cron(99 3 * * ? *)"])
def test_expressions_it_does_not_understand_are_refused(expression):
    with pytest.raises(ValueError):
        next_fire(expression, "UTC", T)


def test_a_due_schedule_starts_its_target_once_and_moves_on():
    now = [T]
    started = []
    scheduler = LocalScheduler(
        [Schedule("daily", "arn:sm", "cron(0 3 * * ? *)", "UTC", "{}")],
        start=lambda arn, name, payload: started.append((arn, payload)),
        clock=lambda: now[0],
    )
    assert scheduler.tick() == [] and started == []
    now[0] = datetime(2026, 11, 29, 3, 0, 5, tzinfo=UTC)
    assert scheduler.tick() == ["daily"]
    assert scheduler.tick() == []
    assert started == [("arn:sm", "{}")]
    assert scheduler.schedules[0].due == datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
