"""How fast one connection may call its app: the quota the vendor announces, spent without being refused.

A `Pacer` is shared by every request of one `SaaSClient` (list pages in flight together, activity
look-ups, reclaim calls), so it is thread-safe and each request asks it for a turn first.

- Where the app announces its quota on every answer (Okta's `X-Rate-Limit-*`, GitHub's and Zoom's
  `X-RateLimit-*`, the IETF `RateLimit`/`RateLimit-Policy` fields of
  draft-ietf-httpapi-ratelimit-headers-10, Zendesk's `X-Rate-Limit` with draft-06's `RateLimit-*`),
  the pacer counts what is left of the window, keeps back
  the part of the budget that is not ours (`RateLimit.share`) and the requests still in flight, and
  holds the next request until the window resets: no request is refused once the first answer is read.
  At a reset every request still in flight counts in the new window (the app's clock ticks a little
  before ours, and a request sent just before our reset may reach it after its own); an answer that
  then comes back from the window gone by gives its turn back. An answer from a newer window than the
  pacer counts is a reset it missed: that request and all in flight count in the new one.
- `Retry-After` (seconds or an HTTP date) holds every request of the connection, not only the one told.
- Where the app announces nothing, it adapts (AIMD): the requests in flight grow by one per round
  trip and halve on a 503 or a refusal that says nothing (a bare 429), which also holds every request
  a while (0.25 s, doubled at each refusal in a row); a refusal also sets a pace just under the rate
  that was accepted in the second before it (what the quota allows, as near as the pacer can tell),
  which holds until a quiet spell of RATE_STEADY seconds, then creeps up; a refusal at that pace
  lowers it by the same rule. A template's documented limit is the pace to start from and never
  exceeded.
- Rising latency is a signal too, for such an app only (TCP Vegas' and Netflix concurrency-limits'
  idea): when the median latency of LATENCY_RECENT answers, twice in a row, is twice the least of
  the last LATENCY_MEMORY seconds, with more than one request in flight, the requests in flight are
  cut by a fifth, and the next verdict waits for answers to requests sent after the queue before the
  cut drained. On a shared machine our own slowness once looked like the app's and halved the fetch;
  so the latency is the app's (`requests`' `elapsed`: the request sent to the answer's headers read,
  not our reading of the body nor the wait for a turn), a median ignores a stall of ours, the
  tolerance is 2x, a cut is gentle and the window does not grow while the app queues: an app of k
  workers that queues the rest settles at 2-3k in flight, its k workers busy, never below k.
  `RateLimit.latency_signal: false` turns it off.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from seatkeeper.profiles.model import RateLimit

MAX_IN_FLIGHT = 32  # what the pacer allows at most; each fetch's thread pool is smaller still
RESET_MARGIN = 0.01  # seconds after an announced reset before the next request: the app's clock ticks too
SAME_WINDOW = 0.5  # resets this close (seconds) name the same window (Okta's and GitHub's are whole seconds)
FIRST_PROBE, MAX_PROBE = 0.25, 30.0  # seconds: the wait after a refusal that says nothing, doubled each time
RATE_EVIDENCE = 4  # answers in the last second before a refusal can tell a pace
RATE_CUT_EVERY = 1.0  # seconds: a quota's window, as far as the pacer can tell without being told
# A learned pace is this much under the rate accepted before a refusal: evenly spaced requests at
# exactly the quota would put one too many in a window whenever an answer is a few ms late.
RATE_MARGIN = 0.95
RATE_STEADY = 10.0  # seconds without a refusal before a learned pace creeps up again
# Rising latency, for an app that announces no quota (see the module's docstring):
LATENCY_RECENT = 8  # answers, all to requests sent since the last cut, whose median is the recent latency
LATENCY_TOLERANCE = 2.0  # the recent latency over the usual one that says the app queues our requests
# Stretches in a row that must say so: with 16 pages at once against an app as fast under load, our
# own reading of the answers made one stretch of 8 1.85x the least (bench/pacing.py), once over 2x.
LATENCY_SUSTAINED = 2
LATENCY_BACKOFF = 0.8  # the cut: gentle, so an app that queues beyond k at once keeps its k workers busy
LATENCY_MEMORY = 30.0  # seconds: the usual latency is the least seen in this long


def _seconds(value: str | None, now: float) -> float | None:
    """A wait in seconds, an epoch time, or an HTTP date, as seconds from now."""
    if not value:
        return None
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        try:
            return max(parsedate_to_datetime(value).timestamp() - now, 0.0)
        except (TypeError, ValueError):
            return None
    if not math.isfinite(number):
        return None
    # Epoch seconds (Okta's and GitHub's resets) or a delay in seconds (Retry-After, RateLimit-Reset).
    return max(number - now, 0.0) if number > 1_000_000_000 else max(number, 0.0)


RATE_LIMIT_PREFIXES = ("X-Rate-Limit", "X-RateLimit", "RateLimit")


def wait_requested(headers: Any, now: float | None = None) -> float | None:
    """How long the app asks us to wait: Retry-After, else the reset time of an exhausted quota."""
    now = time.time() if now is None else now
    if (after := _seconds(headers.get("Retry-After"), now)) is not None:
        return after
    quota = announced_quota(headers, now)
    if quota is not None and quota.remaining <= 0:
        return quota.reset_after
    return None


# Google's quota errors come as 403 with one of these reasons in error.errors[]
# (https://developers.google.com/admin-sdk/directory/v1/limits).
GOOGLE_QUOTA_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})


def told_to_slow_down(response: Any) -> bool:
    """Whether a 403 is a rate limit rather than a refused credential: GitHub answers an exhausted quota with
    403 and X-RateLimit-Remaining: 0 (Retry-After for its secondary limits), Google with a quota reason."""
    if wait_requested(response.headers) is not None:
        return True
    if len(response.content) > 16_384:
        return False
    try:
        errors = response.json()["error"]["errors"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(errors, list) and any(
        isinstance(error, dict) and error.get("reason") in GOOGLE_QUOTA_REASONS for error in errors
    )


# --- what the app announces ----------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    """One answer's word on the current window: what is left of it and when it starts again."""

    remaining: int
    reset_after: float | None  # seconds from the answer; None when the app does not say
    limit: int | None = None  # requests per window


_ITEM = re.compile(r'\s*(?:"[^"]*"|[A-Za-z*][\w.*:/%-]*)((?:\s*;\s*[A-Za-z*][\w.*-]*(?:=[^;,]*)?)*)\s*(?:,|$)')
_PARAM = re.compile(r";\s*([A-Za-z*][\w.*-]*)(?:=([^;,]*))?")


def _structured_list(value: str) -> list[tuple[str, dict[str, str]]]:
    """An RFC 8941 list of items with parameters, as the IETF fields use it: `"name";q=100;w=60, ...`."""
    items = []
    for match in _ITEM.finditer(value):
        if not match.group(0).strip():
            continue
        name = match.group(0).split(";", 1)[0].strip().strip(",").strip().strip('"')
        items.append((name, {k.lower(): (v or "").strip() for k, v in _PARAM.findall(match.group(1))}))
    return items


def _integer(value: str | None) -> int | None:
    try:
        return int(float(value)) if value else None
    except (TypeError, ValueError, OverflowError):
        return None


def _ietf_quota(headers: Any) -> Quota | None:
    """draft-ietf-httpapi-ratelimit-headers-10: `RateLimit: "p";r=<remaining>;t=<seconds to reset>` and
    `RateLimit-Policy: "p";q=<quota>;w=<window seconds>`; of several policies, the one nearest exhaustion."""
    field = headers.get("RateLimit")
    if not field or "r=" not in field:
        return None
    policies = dict(_structured_list(headers.get("RateLimit-Policy") or ""))
    tightest: Quota | None = None
    for name, params in _structured_list(field):
        remaining = _integer(params.get("r"))
        if remaining is None:
            continue
        reset = _integer(params.get("t"))
        policy = policies.get(name, {})
        if reset is None:
            reset = _integer(policy.get("w"))
        quota = Quota(max(remaining, 0), float(reset) if reset is not None else None, _integer(policy.get("q")))
        if tightest is None or quota.remaining < tightest.remaining:
            tightest = quota
    return tightest


def announced_quota(headers: Any, now: float | None = None) -> Quota | None:
    """The quota an answer's headers announce, in whichever of the known styles the app uses."""
    now = time.time() if now is None else now
    if (ietf := _ietf_quota(headers)) is not None:
        return ietf
    told: list[Quota] = []
    for prefix in RATE_LIMIT_PREFIXES:
        remaining = _integer(headers.get(f"{prefix}-Remaining"))
        if remaining is not None:
            told.append(
                Quota(
                    max(remaining, 0),
                    _seconds(headers.get(f"{prefix}-Reset"), now),
                    _integer(headers.get(f"{prefix}-Limit")),
                )
            )
    if not told:
        return None
    # Zendesk tells one quota under two names, each with a part the other lacks ("x-rate-limit: 700
    # ratelimit-limit: 700 x-rate-limit-remaining: 699 ratelimit-remaining: 699 ratelimit-reset: 41"), and
    # names its limit X-Rate-Limit alone: what is left alike is one quota, whole from its parts.
    tightest = min(told, key=lambda quota: quota.remaining)
    same = [quota for quota in told if quota.remaining == tightest.remaining]
    reset = next((quota.reset_after for quota in same if quota.reset_after is not None), None)
    limit = next((quota.limit for quota in same if quota.limit is not None), None)
    if limit is None and headers.get("X-Rate-Limit-Remaining") is not None:
        limit = _integer(headers.get("X-Rate-Limit"))
    return Quota(tightest.remaining, reset, limit)


# --- the pacer ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pace:
    """What a connection has spent so far: for the sync's progress and its `Sync Succeeded` event."""

    requests: int
    refused: int
    quota_wait_seconds: float
    per_second: float | None  # requests a second since the first one


class Pacer:
    """Turns for the requests of one connection (see the module's docstring)."""

    def __init__(
        self,
        declared: RateLimit | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock, self._wall_clock = clock, wall_clock
        self._turn = threading.Condition(threading.Lock())
        self._share = declared.spendable if declared else 1.0
        self._limit: int | None = declared.requests if declared else None
        self._cap = declared.concurrency if declared and declared.concurrency else MAX_IN_FLIGHT
        self._window: float | None = None  # how many more requests the current window has for us (None: unknown)
        self._window_ends: float | None = None  # when it resets (None: rolled over, no answer from the new one yet)
        self._announced = False
        self._held_until = 0.0  # Retry-After, or a backoff every request shares
        self._in_flight = 0
        self._turns: list[float] = []  # when each request in flight was given its turn
        self._line: deque[object] = deque()  # the requests waiting for a turn, in the order they asked
        self._window_size = float(self._cap)  # AIMD's congestion window, in requests
        self._rate: float | None = None  # requests a second, once declared or learned from a refusal
        self._most_rate = math.inf  # a declared limit is a ceiling, not a guess to grow out of
        if declared and declared.requests:
            self._rate = self._most_rate = declared.requests * self._share / declared.window_seconds
        self._granted = 0  # turns given in the current window (since the start, before any window is known)
        self._ended: float | None = None  # when the window before the current one ended, as the pacer saw it
        self._rolled_at = -math.inf  # when the pacer moved on to the current window
        self._others = 0  # requests of the current window someone else spent, as far as the answers prove
        self._next_at = 0.0
        self._slow = 0.0  # a moving average of answer times
        self._last_cut = -math.inf
        self._last_rate_cut = -math.inf
        self._probe = 0.0  # the last wait after a refusal that said nothing of when to come back
        self._probed_at = -math.inf  # when that wait began
        self._answered: deque[float] = deque()  # when the answers of the last second came
        self._latency_signal = declared.latency_signal if declared else True
        self._least: deque[tuple[float, float]] = deque()  # (when, latency): the windowed minimum's queue
        self._recent: list[float] = []  # latencies of the answers since the last median was taken
        self._latency_cut_at = -math.inf  # requests sent before it say nothing of what the last cut did
        self._stretch_most = 0  # the most requests in flight while the recent latencies' requests went
        self._queueing = False  # the last stretches of answers came twice as slowly as usual
        self._slow_stretches = 0  # stretches in a row that did
        self.latency_cuts = 0
        self.requests = self.refused = 0
        self._first: float | None = None
        self._waiting = 0
        self._waiting_since = 0.0
        self._quota_wait = 0.0

    # --- a turn -------------------------------------------------------------------------

    def _hold(self, now: float) -> float | None:
        """How long the next request must wait for the quota (0: go now), or None: until one comes back."""
        if now < self._held_until:
            return self._held_until - now
        if self._announced and self._window is not None and self._window < 1:
            if self._window_ends is None:
                # Rolled over and spent what a window holds before any answer from it: wait for one,
                # unless none is on its way.
                if self._in_flight:
                    return None
                self._window = self._budget()
                return 0.0
            if now < self._window_ends:
                return self._window_ends - now
        if self._rate is not None and not self._announced and now < self._next_at:
            return self._next_at - now
        return 0.0

    def _budget(self) -> float:
        return max(self._limit * self._share, 1.0) if self._limit else 1.0

    def acquire(self) -> float:
        """Wait for a turn; the moment it was given, to hand back to `release`."""
        with self._turn:
            quota_waiting = False
            # First come, first served: woken together, the waiting threads raced for the lock and a
            # page passed over again and again held up the fetch, whose pages are handed on in order.
            me = object()
            self._line.append(me)
            try:
                while True:
                    now = self._clock()
                    if self._announced and self._window_ends is not None and now >= self._window_ends:
                        self._roll_over(now)
                        self._window = self._budget() - self._granted
                    hold = self._hold(now)
                    first = self._line[0] is me
                    if first and hold == 0.0 and self._in_flight < max(1, int(self._window_size)):
                        break
                    if hold and not quota_waiting:
                        quota_waiting = True
                        self._start_waiting(now)
                    self._turn.wait(hold if hold and first else None)
            finally:
                self._line.remove(me)
                self._turn.notify_all()  # the next in line may go, or wait for what holds it
                if quota_waiting:
                    self._stop_waiting()
            if self._window is not None:
                self._window -= 1
            self._granted += 1
            if self._rate is not None:
                self._next_at = max(now, self._next_at) + 1 / self._rate
            self._in_flight += 1
            self._stretch_most = max(self._stretch_most, self._in_flight)
            self._turns.append(now)
            self.requests += 1
            if self._first is None:
                self._first = now
            return now

    def _start_waiting(self, now: float) -> None:
        # Wall time during which some request waited for quota (not the sum over threads).
        if self._waiting == 0:
            self._waiting_since = now
        self._waiting += 1

    def _stop_waiting(self) -> None:
        self._waiting -= 1
        if self._waiting == 0:
            self._quota_wait += self._clock() - self._waiting_since

    def release(
        self,
        started: float,
        status: int | None,
        headers: Any = None,
        *,
        refused: bool = False,
        latency: float | None = None,
    ) -> None:
        """The answer to the request whose turn began at `started` (status None: no answer at all);
        `latency`: the app's time to answer, from the request sent to its answer's headers read."""
        with self._turn:
            now = self._clock()
            self._in_flight -= 1
            if started in self._turns:
                self._turns.remove(started)
            quota = announced_quota(headers, self._wall_clock()) if headers is not None else None
            if quota is not None:
                self._observe(quota, now, started)
            after = _seconds(headers.get("Retry-After"), self._wall_clock()) if headers is not None else None
            if after is not None:
                self._held_until = max(self._held_until, now + after)
            told = after is not None or (quota is not None and quota.reset_after is not None)
            if refused:
                self.refused += 1
                if not told and started >= self._probed_at:
                    # Refused without a word of when to come back: every request waits, longer each time
                    # one sent after the last wait is refused too. The others in flight with this one were
                    # sent before that wait began and say nothing new: counted, four refusals at once
                    # made a wait of 2 s and idled a whole window.
                    self._probe = min(self._probe * 2, MAX_PROBE) if self._probe else FIRST_PROBE
                    self._held_until = max(self._held_until, now + self._probe)
                    self._probed_at = now
            # An app that says when to come back is waited for; one that does not is met with fewer requests.
            if (refused and not told) or status == 503:
                self._cut(now, learn_rate=refused)
            elif refused and quota is None:
                self._learn_rate(now)
            elif status is not None and status < 400:
                self._probe = 0.0
                self._grow(now, now - started)
                if latency is not None:
                    self._watch_latency(now, started, latency)
            self._turn.notify_all()

    def hold_for(self, seconds: float) -> None:
        """Every request of the connection waits this long (a backoff the app asked for another way)."""
        with self._turn:
            self._held_until = max(self._held_until, self._clock() + seconds)
            self._turn.notify_all()

    # --- what the answers say -----------------------------------------------------------

    def _roll_over(self, now: float) -> None:
        """A new window: every request still in flight counts in it until its answer proves otherwise.

        The app's window ticks on its own clock and a request takes a while to reach it, so one sent
        just before the pacer's reset may be counted after the app's (bench/pacing.py at a late start:
        one refused in the second window)."""
        self._ended, self._rolled_at = self._window_ends, now
        self._window_ends = None
        self._granted, self._others = len(self._turns), 0

    def _gone_by(self, ends: float) -> bool:
        """Whether an answer's reset names a window before the current one."""
        if self._window_ends is not None:
            return ends < self._window_ends - SAME_WINDOW
        # Rolled over, nothing heard from the new window yet: a reset the pacer saw pass, read late
        # (its time to reset is 0 by then, so the answer's `ends` is just after its reading).
        return self._ended is not None and ends <= self._ended + SAME_WINDOW

    def _observe(self, quota: Quota, now: float, started: float) -> None:
        self._announced = True
        if quota.limit:
            self._limit = quota.limit
        reserve = self._limit * (1 - self._share) if self._limit else 0.0
        # The requests sent after this one and still in flight may not be counted in its answer yet.
        after = sum(1 for turn in self._turns if turn > started)
        ends = now + quota.reset_after + RESET_MARGIN if quota.reset_after is not None else None
        current = self._window_ends
        if ends is not None and self._gone_by(ends):
            # An answer from the window gone by says nothing of this one; its request, in flight when the
            # window turned, was counted in this one as a precaution: it gives its turn back.
            if started < self._rolled_at and self._granted > 0:
                self._granted -= 1
                if self._window is not None:
                    self._window += 1
            return
        if ends is not None and (current is None or ends > current + SAME_WINDOW):
            if current is not None:
                # An answer from a newer window than the one counted: the pacer missed the reset. This
                # request and every one still in flight count in the new window, as at a reset.
                self._roll_over(now)
                self._granted += 1
            self._window_ends = ends
        if not self._limit:
            # Without the window's size only what is left counts, less what may not be counted in it yet.
            left = quota.remaining - reserve - after
            self._window = left if self._window is None else min(self._window, left)
            return
        # Our own count of the window is exact unless someone else spends it too. An answer proves
        # that only when the app counted more than we were given turns for: answers overtake each
        # other on the way, so one that is counted before ours sent earlier says nothing.
        self._others = max(self._others, self._limit - quota.remaining - self._granted)
        self._window = self._limit - reserve - self._others - self._granted

    def _grow(self, now: float, latency: float) -> None:
        self._answered.append(now)
        while self._answered and self._answered[0] < now - 1.0:
            self._answered.popleft()
        if self._announced:
            return
        self._slow = latency if not self._slow else 0.8 * self._slow + 0.2 * latency
        if not self._queueing:  # more in flight only help an app that does not queue them
            self._window_size = min(float(self._cap), self._window_size + 1 / self._window_size)
        if self._rate is not None and now - self._last_rate_cut >= RATE_STEADY:
            # About half a request a second more, each second: the quota may be more than was learned.
            self._rate = min(self._rate + 0.5 / self._rate, self._most_rate)

    def _watch_latency(self, now: float, started: float, latency: float) -> None:
        """A gentle cut when the app answers twice as slowly as usual with more than one request in flight."""
        if self._announced or not self._latency_signal:
            return
        # The usual latency: the least of the last LATENCY_MEMORY seconds (a windowed minimum, kept
        # as a queue of rising latencies), the app's own time with nothing of ours queued before it.
        while self._least and self._least[-1][1] >= latency:
            self._least.pop()
        self._least.append((now, latency))
        while self._least[0][0] < now - LATENCY_MEMORY:
            self._least.popleft()
        if started < self._latency_cut_at:
            return
        self._recent.append(latency)
        if len(self._recent) < LATENCY_RECENT:
            return
        # The median, by hand: `statistics` imports decimal, fractions and random, at every cold start.
        ordered = sorted(self._recent)
        recent, most = (ordered[(LATENCY_RECENT - 1) // 2] + ordered[LATENCY_RECENT // 2]) / 2, self._stretch_most
        self._recent.clear()
        self._stretch_most = self._in_flight
        slow = recent >= LATENCY_TOLERANCE * self._least[0][1] and most >= 2
        self._slow_stretches = self._slow_stretches + 1 if slow else 0
        self._queueing = self._slow_stretches >= LATENCY_SUSTAINED
        if not self._queueing:
            return
        self._slow_stretches = 0
        # What the cut did shows in the answers to requests sent once the queue before it drained. It
        # is a fifth of what was in flight in the stretch, not now: the fetch may be between pages.
        self._latency_cut_at = now + recent
        self._window_size = max(1.0, min(self._window_size, most) * LATENCY_BACKOFF)
        self.latency_cuts += 1

    def _cut(self, now: float, *, learn_rate: bool) -> None:
        """Multiplicative decrease, once per round trip however many answers say so at once."""
        if now - self._last_cut < max(self._slow, 0.05) * 2:
            return
        self._last_cut = now
        self._window_size = max(1.0, min(self._window_size, self._in_flight + 1) / 2)
        self._slow = 0.0
        if learn_rate:
            self._learn_rate(now)

    def _learn_rate(self, now: float) -> None:
        accepted = float(len(self._answered))
        if self._rate is None and accepted < RATE_EVIDENCE:
            return  # a refusal among the first few answers says nothing of a rate: the hold does
        if now - self._last_rate_cut >= RATE_CUT_EVERY:
            # The refusals of one window are one refusal: the rate is set once per window, just under
            # what the app accepted in the second before it refused (never above the pace kept so far).
            self._last_rate_cut = now
            if accepted >= RATE_EVIDENCE:
                ceiling = accepted if self._rate is None else min(accepted, self._rate)
                self._rate = max(RATE_MARGIN * ceiling, 0.1)
            elif self._rate is not None:
                self._rate = max(0.75 * self._rate, 0.1)

    # --- what it spent ------------------------------------------------------------------

    def pace(self) -> Pace:
        with self._turn:
            now = self._clock()
            waited = self._quota_wait + (now - self._waiting_since if self._waiting else 0.0)
            elapsed = now - self._first if self._first is not None else 0.0
            per_second = round(self.requests / elapsed, 2) if elapsed > 0.5 else None
            return Pace(self.requests, self.refused, round(waited, 3), per_second)
