"""Learning a rate limit nobody published, from the server's answers: a pure object of time.

The API's limit is unknown: N calls per W seconds (sliding or fixed window), or a token bucket,
maybe shared with other clients of the account. What the client sees is which calls were
accepted, which were refused (429), the `Retry-After` (often whole seconds, or none) and
sometimes `RateLimit-*` headers. From those:

- **Discovery.** Without an estimate, calls go out as fast as the workers allow. The first 429
  ends a burst that filled the server's window: the calls accepted since the burst began, over
  the time from its start to the end of the server's wait, is the limit. A whole-second
  Retry-After is rounded up, so that span is snapped to the usual windows (1, 2, 5, 10, 15, 30,
  60 s...) when one fits within the rounding. Without Retry-After the wait is guessed: until the
  burst's first call leaves the smallest window that can hold the burst. A later wait longer
  than the window believed means that burst met a fixed window halfway: both are learned again
  from the cycle that wait ends.
- **Cruising.** Calls are spaced evenly at 95% of the estimate: slots are handed out one
  interval apart, so after a pause the workers resume one by one instead of all at once.
- **Marginal 429s** (cruising for a while, then one refusal): the estimate was a little high.
  It drops to the calls accepted in the last window; only the refused call waits out its
  Retry-After, the others go on at the lower pace. Nobody is silenced for a whole second
  because one call came a few milliseconds early.
- **Exhausted** (refused again soon after a pause, or twice in one window): the quota is spent,
  so everyone pauses for the server's wait, and the estimate becomes what the server actually
  let through over the last cycle (from the end of the previous pause to the end of this one):
  that is the sustained rate of a bucket, and the share left by other clients.
- **Probing.** After a quiet spell in which the pace really held calls back, the estimate rises
  5%; a probe that draws a 429 doubles the quiet spell before the next one. A configured limit
  (`BULK_ENROLL_RATE_LIMIT`) or a server-announced one caps it.
- **Server headers** beat guesses: `remaining: 0` pauses until the reset before any 429, and a
  policy window with a limit gives the rate outright.

Time is a parameter of every method (`now`), so tests drive it through each shape with a fake
clock. The object is not thread-safe; `throttle.Throttle` adds the lock and the sleeping.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from bulk_enroll.transport.rate_headers import RateLimitHint

HEADROOM = 0.95  # cruise just under the limit: exactly at it, jitter means 429s
PROBE_STEP = 1.05
MIN_RATE = 1 / 60  # never slower than one call a minute
WINDOWS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600)  # seconds, as APIs use
HISTORY_S = 3600.0
HISTORY_MAX = 20_000
MAX_PROBE_INTERVAL_S = 120.0
MAX_GUESS_S = 60.0  # the longest wait guessed when the server gives none


@dataclass(frozen=True)
class Slot:
    """When a caller may send; void if a pause started after it was handed out."""

    at: float
    generation: int


class RateLearner:
    """The limit estimate, the pacing and the pauses of one run (see the module docstring)."""

    def __init__(self, now: float, *, ceiling: float | None = None,
                 remembered: float | None = None, window: float | None = None) -> None:
        self.ceiling = ceiling if ceiling and ceiling > 0 else None  # configured, calls/s
        known = [r for r in (remembered, self.ceiling) if r and r > 0]
        self.limit: float | None = min(known) if known else None  # believed calls/s
        self.window = window  # believed window, seconds
        self.learned = False  # the estimate comes from answers (now or remembered), not settings
        self._from_memory = bool(remembered and self.limit == remembered)
        self.refusals = 0
        self.last_accepted = now
        self.generation = 0
        self._server_cap: float | None = None  # a limit the server announced
        self._next_slot = now
        self._paused_until = now
        self._accepted: deque[float] = deque()
        self._cycle_start = now  # the end of the last pause (or the start of the run)
        self._reacted_at = -math.inf  # refusals of calls sent before this carry no news
        self._last_fresh_refusal = -math.inf
        self._calm_since = now
        self._probe_after = 2.0
        self._held_back = False  # the pace delayed a call since the last probe
        self._cautious = False  # refused before anything was accepted: one call per second
        self._backoff = 0.0  # doubles while refusals without Retry-After follow each other
        self._exhausted_streak = 0  # cycles in a row that ended soon in a 429
        self._estimated_at = now  # when a 429 last set the estimate
        self._since_estimate = 0  # calls sent after that and accepted

    # --- pacing ------------------------------------------------------------------------------

    @property
    def rate(self) -> float:
        """Calls per second handed out now (infinite before anything is known)."""
        if self.limit is None:
            return 1.0 if self._cautious else math.inf
        return max(MIN_RATE, HEADROOM * self.limit)

    def reserve(self, now: float) -> Slot:
        """The next free slot; slots are one interval apart, and none falls in a pause."""
        start = max(now, self._next_slot, self._paused_until)
        if self._next_slot > max(now, self._paused_until):
            self._held_back = True
        if math.isfinite(self.rate):
            self._next_slot = start + 1.0 / self.rate
        return Slot(start, self.generation)

    def valid(self, slot: Slot) -> bool:
        return slot.generation == self.generation

    # --- answers -----------------------------------------------------------------------------

    def accepted(self, sent_at: float, now: float, hint: RateLimitHint | None = None) -> None:
        """A call got through (whatever its verdict): the server admitted it."""
        self._accepted.append(now)
        if sent_at >= self._estimated_at:
            self._since_estimate += 1
        while self._accepted and (self._accepted[0] < now - HISTORY_S
                                  or len(self._accepted) > HISTORY_MAX):
            self._accepted.popleft()
        self.last_accepted = now
        self._cautious = False
        self._backoff = 0.0
        if hint is not None:
            self._follow(hint)
            if hint.remaining == 0 and hint.reset_s is not None and self.limit is None:
                # The quota is spent: as good as a first 429 for learning, and none was drawn.
                # (Later, a full window at the cruising pace is mostly a sliding window's edge.)
                self._react(sent_at, now, hint.reset_s)
                return
        self._maybe_probe(now)

    def refused(self, sent_at: float, now: float, retry_after: float | None,
                hint: RateLimitHint | None = None) -> float:
        """A 429. Returns how long the refused call itself should wait before its next slot."""
        self.refusals += 1
        if hint is not None:
            self._follow(hint)
            if retry_after is None and hint.reset_s is not None and not hint.remaining:
                retry_after = hint.reset_s
        return self._react(sent_at, now, retry_after)

    def _react(self, sent_at: float, now: float, retry_after: float | None) -> float:
        """What a spent quota teaches, whether a 429 or `remaining: 0` said so."""
        if sent_at < self._reacted_at:
            return 0.0  # sent before we reacted to an earlier 429: no news
        self._reacted_at = now
        self._calm_since = now
        wait = retry_after if retry_after is not None else self._guess_wait(now)
        if retry_after is None:
            self._backoff = min(max(2 * self._backoff, 0.25), MAX_GUESS_S)
        window = self.window or 1.0
        if self.limit is None or (retry_after is not None and retry_after > window):
            # First 429, or the server's wait outlasts the window we believed (a fixed window
            # the first burst met halfway through): learn both again from this cycle.
            self._discover(now, wait, retry_after is None)
        elif (self.generation and now - self._cycle_start <= window
              or now - self._last_fresh_refusal <= window):
            self._exhausted(now, wait)
        else:
            self._marginal(now)
            self._last_fresh_refusal = now
            self._exhausted_streak = 0
            return wait
        self._last_fresh_refusal = now
        return 0.0

    def _discover(self, now: float, wait: float, guessed: bool) -> None:
        burst = [t for t in self._accepted if t >= self._cycle_start]
        if not burst:  # refused before anything got through: go slowly until something does
            self._cautious = True
            self._pause(now, now + wait)
            return
        span = now - burst[0]
        window = _snap(span + wait, slack=0.0 if guessed else _rounding(wait))
        self.limit = self._capped(len(burst) / window)
        self.window = window
        self.learned = True
        self._estimated(now)
        self._exhausted_streak = 0
        self._pause(now, now + wait)

    def _exhausted(self, now: float, wait: float) -> None:
        """Refused again soon after a pause: measure what the server let through.

        First what it admitted in the last window (right for windows, and for the share other
        clients leave); if the next cycle ends in a 429 as soon, what it admitted over the whole
        cycle including this wait (right for a bucket, whose pause refills a burst).
        """
        assert self.limit is not None
        window = self.window or 1.0
        self._exhausted_streak += 1
        got = sum(1 for t in self._accepted if t >= self._cycle_start)
        in_window = sum(1 for t in self._accepted if t > now - window)
        if self._exhausted_streak >= 2 and got:
            estimate = got / (now + wait - self._cycle_start)
        elif in_window:
            estimate = in_window / window
        else:
            estimate = self.limit / PROBE_STEP
        self.limit = self._capped(min(self.limit / PROBE_STEP, estimate))
        self.learned = True
        self._estimated(now)
        self._probe_later()
        self._pause(now, now + wait)

    def _marginal(self, now: float) -> None:
        """One refusal while cruising: the estimate is a little high; no pause for everyone."""
        assert self.limit is not None
        window = self.window or 1.0
        in_window = sum(1 for t in self._accepted if t > now - window)
        self.limit = self._capped(min(self.limit, in_window / window) if in_window else
                                  self.limit / PROBE_STEP)
        self.learned = True
        self._estimated(now)
        self._probe_later()

    def _guess_wait(self, now: float) -> float:
        """No Retry-After: until the oldest call of the smallest window holding the recent
        calls leaves it (when a sliding window would admit again), at least the backoff."""
        recent = [t for t in self._accepted if t >= self._cycle_start]
        if self.window is not None:
            in_window = [t for t in recent if t > now - self.window]
            guess = in_window[0] + self.window - now if in_window else 1.0 / self.rate
        elif recent:
            window = next((w for w in WINDOWS if recent[0] + w > now), WINDOWS[-1])
            guess = recent[0] + window - now
        else:
            guess = 1.0
        return max(guess, self._backoff, 0.0)

    def _follow(self, hint: RateLimitHint) -> None:
        """A limit and its window, announced by the server, beat any estimate."""
        if hint.limit and hint.window_s:
            self._server_cap = hint.limit / hint.window_s
            self.window = hint.window_s
            if self.limit is None or self.limit > self._server_cap:
                self.limit = self._server_cap
            self.learned = True

    def _maybe_probe(self, now: float) -> None:
        """After a quiet spell in which the pace held calls back, try 5% more. The spell
        lasts two windows at least: an overshoot shows only once a window has passed."""
        if self.limit is None or now - self._calm_since < self._quiet_spell():
            return
        self._calm_since = now
        if not self._held_back:
            return  # the pace was not what limited us: nothing to learn
        self._held_back = False
        self.limit = self._capped(self.limit * PROBE_STEP)
        self.learned = self.learned or self._from_memory  # more than remembered got through

    @property
    def confirmed(self) -> bool:
        """The estimate is worth remembering for the next run: the server announced it, or
        a call sent after the 429 that set it was accepted. An estimate from a last 429
        before the run stopped (a Retry-After of hours: maintenance, a proxy) is only a
        guess, and remembered it would hold every later run to that crawl."""
        return self.learned and (self._server_cap is not None or self._since_estimate > 0)

    # --- helpers -----------------------------------------------------------------------------

    def _estimated(self, now: float) -> None:
        self._estimated_at = now
        self._since_estimate = 0

    def _pause(self, now: float, until: float) -> None:
        if until <= self._paused_until:
            return
        self._paused_until = until
        self._next_slot = max(self._next_slot, until)
        self._cycle_start = until
        self.generation += 1

    def _capped(self, limit: float) -> float:
        caps = [c for c in (self.ceiling, self._server_cap) if c]
        return max(MIN_RATE / HEADROOM, min([limit, *caps]))

    def _quiet_spell(self) -> float:
        return max(self._probe_after, 2 * (self.window or 1.0))

    def _probe_later(self) -> None:
        """A probe drew a 429: wait twice as long before the next one."""
        ceiling = max(MAX_PROBE_INTERVAL_S, 10 * (self.window or 1.0))
        self._probe_after = min(2 * self._quiet_spell(), ceiling)

    @property
    def paused_until(self) -> float:
        return self._paused_until


def _rounding(wait: float) -> float:
    """How much a Retry-After may overstate the real wait: up to a second when whole."""
    return 1.0 if float(wait).is_integer() and wait > 0 else 0.0


def _snap(span: float, slack: float) -> float:
    """The usual window within (span - slack, span], the largest if several; else `span`."""
    fitting = [w for w in WINDOWS if span - slack < w <= span + 1e-9]
    return float(fitting[-1]) if fitting else max(span, 1e-3)
