"""The local stack's EventBridge Scheduler: fires the template's ScheduleV2 schedules on time.

moto keeps the schedules (so `aws scheduler list-schedules` shows them) but never fires one;
this does, starting the target state machine with the schedule's input. It understands the
expressions EventBridge Scheduler does: rate(...), at(...) and AWS's six-field cron(...), in the
schedule's time zone. A start that fails is tried again as the schedule's RetryPolicy says (at
once here, not over minutes), then sent to its dead-letter queue, as EventBridge Scheduler does.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

log = logging.getLogger("seatkeeper_local.schedules")
MONTHS = {
    m: i
    for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)
}
DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}  # AWS: 1 = Sunday
RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int] | None:
    """The values a cron field allows; None for '*' and '?' (anything)."""
    if text in ("*", "?"):
        return None
    allowed: set[int] = set()
    for part in text.split(","):
        spec, step = part, 1
        if "/" in spec:
            spec, step_text = spec.split("/", 1)
            step = int(step_text)
        for name, number in (names or {}).items():
            spec = spec.replace(name, str(number))
        if spec == "*":
            start, stop = low, high
        elif "-" in spec:
            start, stop = (int(x) for x in spec.split("-", 1))
        else:
            start = int(spec)
            stop = high if step > 1 else start
        if not (low <= start <= high and low <= stop <= high):
            raise ValueError(f"cron value out of range: {part}")
        allowed.update(range(start, stop + 1, step))
    return allowed


@dataclass(frozen=True)
class Cron:
    minutes: set[int] | None
    hours: set[int] | None
    days: set[int] | None
    months: set[int] | None
    weekdays: set[int] | None
    years: set[int] | None

    @classmethod
    def parse(cls, text: str) -> Cron:
        fields = text.split()
        if len(fields) != 6 or any(c in text for c in "LW#"):
            raise ValueError(f"the local scheduler understands six-field cron without L, W or #: {text!r}")
        return cls(
            _field(fields[0], 0, 59),
            _field(fields[1], 0, 23),
            _field(fields[2], 1, 31),
            _field(fields[3].upper(), 1, 12, MONTHS),
            _field(fields[4].upper(), 1, 7, DAYS),
            _field(fields[5], 1970, 2199),
        )

    def _day_matches(self, moment: datetime) -> bool:
        weekday = (moment.isoweekday() % 7) + 1  # Monday=1 in Python; Sunday=1 in AWS
        checks = (
            (self.years, moment.year),
            (self.months, moment.month),
            (self.days, moment.day),
            (self.weekdays, weekday),
        )
        return all(allowed is None or value in allowed for allowed, value in checks)

    def next_after(self, moment: datetime) -> datetime | None:
        candidate = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(366 * 5):  # days
            if self._day_matches(candidate):
                for hour in range(candidate.hour, 24):
                    if self.hours is not None and hour not in self.hours:
                        continue
                    first = candidate.minute if hour == candidate.hour else 0
                    for minute in range(first, 60):
                        if self.minutes is None or minute in self.minutes:
                            return candidate.replace(hour=hour, minute=minute)
            candidate = (candidate + timedelta(days=1)).replace(hour=0, minute=0)
        return None


def next_fire(expression: str, timezone: str, after: datetime) -> datetime | None:
    """When the schedule fires next after `after` (aware, UTC); None when it never will again."""
    zone = ZoneInfo(timezone or "UTC")
    if match := re.fullmatch(r"rate\((\d+)\s+(\w+)\)", expression.strip()):
        return after + timedelta(seconds=int(match.group(1)) * RATE_UNITS[match.group(2)])
    if match := re.fullmatch(r"at\((\S+)\)", expression.strip()):
        when = datetime.fromisoformat(match.group(1)).replace(tzinfo=zone).astimezone(UTC)
        return when if when > after else None
    if match := re.fullmatch(r"cron\((.+)\)", expression.strip()):
        local = Cron.parse(match.group(1)).next_after(after.astimezone(zone))
        return local.astimezone(UTC) if local else None
    raise ValueError(f"not a schedule expression: {expression!r}")


@dataclass
class Schedule:
    name: str
    target_arn: str
    expression: str
    timezone: str
    payload: str
    retry_attempts: int = 185  # EventBridge Scheduler's default MaximumRetryAttempts
    dead_letter_arn: str | None = None
    due: datetime | None = None


class LocalScheduler:
    """Checks every few seconds which schedules are due and starts their targets."""

    def __init__(
        self,
        schedules: list[Schedule],
        start: Callable[[str, str, str], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        dead_letter: Callable[[Schedule, Exception], None] | None = None,
    ) -> None:
        self.schedules = schedules
        self.start = start
        self.clock = clock
        self.dead_letter = dead_letter
        now = clock()
        for schedule in schedules:
            schedule.due = next_fire(schedule.expression, schedule.timezone, now)
        self._stop = threading.Event()

    def tick(self) -> list[str]:
        """Fire what is due now; the names of the schedules fired."""
        now, fired = self.clock(), []
        for schedule in self.schedules:
            if schedule.due is not None and schedule.due <= now:
                name = f"{schedule.name}-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
                log.info("schedule %s fires %s", schedule.name, schedule.target_arn.rsplit(":", 1)[-1])
                schedule.due = next_fire(schedule.expression, schedule.timezone, now)
                self._fire(schedule, name)
                fired.append(schedule.name)
        return fired

    def _fire(self, schedule: Schedule, name: str) -> None:
        failure: Exception | None = None
        for _ in range(1 + schedule.retry_attempts):
            try:
                # The same execution name on every try: a start that did happen is not started twice.
                self.start(schedule.target_arn, name, schedule.payload)
                return
            except Exception as error:  # as Scheduler does, any failure to start is tried again
                failure = error
        assert failure is not None
        if schedule.dead_letter_arn is None or self.dead_letter is None:
            log.error("schedule %s could not start its target and has no dead-letter queue: %s", schedule.name, failure)
            return
        log.error("schedule %s could not start its target; sent to its dead-letter queue", schedule.name)
        self.dead_letter(schedule, failure)

    def run(self, every: float = 5.0) -> None:
        while not self._stop.wait(every):
            try:
                self.tick()
            except Exception:  # a failed start must not stop the schedule for good
                log.exception("a schedule could not start its target")

    def stop(self) -> None:
        self._stop.set()
