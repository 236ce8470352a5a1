"""The local stack's scheduler reads EventBridge Scheduler expressions as AWS does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from seatkeeper_local.stack.schedules import LocalScheduler, Schedule, next_fire

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


class FlakyStart:
    """A target that refuses the first `failures` starts, as a throttled or missing state machine would."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.tried: list[str] = []
        self.started: list[str] = []

    def __call__(self, arn: str, name: str, payload: str) -> None:
        self.tried.append(name)
        if len(self.tried) <= self.failures:
            raise RuntimeError("StateMachineDoesNotExist")
        self.started.append(name)


def due_now(schedule: Schedule, start, dead_letters: list) -> LocalScheduler:
    scheduler = LocalScheduler(
        [schedule], start=start, clock=lambda: T, dead_letter=lambda s, error: dead_letters.append((s.name, str(error)))
    )
    schedule.due = T
    return scheduler


def test_a_failed_start_is_tried_again_under_the_same_name_and_then_succeeds():
    # Given a schedule that may retry twice, and a target that refuses twice
    start, dead_letters = FlakyStart(failures=2), []
    scheduler = due_now(
        Schedule("daily", "arn:sm", "rate(1 day)", "UTC", "{}", retry_attempts=2, dead_letter_arn="arn:q"),
        start,
        dead_letters,
    )
    # When it is due
    assert scheduler.tick() == ["daily"]
    # Then the third try starts it, with the name of the first (a start that did happen is not repeated)
    assert len(start.tried) == 3 and len(set(start.tried)) == 1
    assert start.started == start.tried[:1] and dead_letters == []


def test_a_start_that_keeps_failing_goes_to_the_dead_letter_queue_once_and_the_schedule_moves_on():
    # Given a target that always refuses
    start, dead_letters = FlakyStart(failures=99), []
    scheduler = due_now(
        Schedule("daily", "arn:sm", "rate(1 day)", "UTC", "{}", retry_attempts=3, dead_letter_arn="arn:q"),
        start,
        dead_letters,
    )
    # When it is due
    scheduler.tick()
    # Then it was tried 1 + 3 times, dead-lettered once with the error, and waits for its next time
    assert len(start.tried) == 4 and start.started == []
    assert dead_letters == [("daily", "StateMachineDoesNotExist")]
    assert scheduler.tick() == [] and scheduler.schedules[0].due == datetime(2026, 11, 29, 10, 30, tzinfo=UTC)
