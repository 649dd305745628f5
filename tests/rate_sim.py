"""A discrete-event simulation of the sender's workers against a rate-limited server, on a fake
clock: the limiter's unit tests run every shape in milliseconds.

Workers take a slot from the learner, wait for it (a slot voided by a pause is taken again),
send; the server model decides `latency` later, and the worker hears the answer then. Another
client of the same account may spend part of the limit at a steady pace.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

from bulk_enroll.sandbox.rate_shapes import RateModel, RateRule
from bulk_enroll.send.rate_learner import RateLearner, Slot
from bulk_enroll.transport.rate_headers import RateLimitHint


@dataclass
class SimResult:
    accepted: int
    refused: int
    duration_s: float
    refused_after_first_window: int
    accepted_after_first_window: int
    learner: RateLearner
    refusal_times: list[float] = field(default_factory=list)

    def share(self, rule: RateRule, available: float | None = None) -> float:
        """Calls per second achieved, as a share of the limit (or of what is left of it)."""
        return self.accepted / self.duration_s / (available or rule.limit / rule.window_s)

    def refusals_per_100_after_first_window(self) -> float:
        return 100 * self.refused_after_first_window / max(1, self.accepted_after_first_window)


def simulate(rule: RateRule, *, calls: int | None = None, seconds: float | None = None,
             workers: int = 4, latency: float = 0.05, retry_after: bool = True,
             headers: bool = False, other_client_rate: float = 0.0,
             learner: RateLearner | None = None, start: float = 1000.0,
             offset: float = 0.0) -> SimResult:
    """Send until `calls` are accepted (or `seconds` pass); `offset` shifts the start against
    the server's fixed windows."""
    model = RateModel(rule, start=0.0)
    learner = learner or RateLearner(start)
    events: list[tuple[float, int, str, int, object]] = []
    seq = 0

    def push(at: float, kind: str, worker: int, payload: object = None) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (at, seq, kind, worker, payload))

    for worker in range(workers):
        push(start, "free", worker)
    if other_client_rate:
        push(start, "other", -1)
    accepted = refused = late_refused = late_accepted = 0
    first_window_end = start + rule.window_s
    refusal_times: list[float] = []
    end = start + seconds if seconds is not None else math.inf
    last = start
    while events:
        now, _, kind, worker, payload = heapq.heappop(events)
        if now > end or (calls is not None and accepted >= calls):
            break
        server_time = now - start + offset
        if kind == "other":
            model.admit(server_time)
            push(now + 1 / other_client_rate, "other", -1)
        elif kind == "free":
            slot = learner.reserve(now)
            push(slot.at, "send", worker, slot)
        elif kind == "send":
            assert isinstance(payload, Slot)
            if not learner.valid(payload):
                push(now, "free", worker)
            else:
                push(now + latency, "answer", worker, now)
        elif kind == "answer":
            sent_at = float(payload)  # type: ignore[arg-type]
            decision = model.admit(server_time)
            hint = (RateLimitHint(decision.limit, decision.remaining,
                                  math.ceil(decision.reset_s), rule.window_s)
                    if headers else None)
            if decision.admitted:
                accepted += 1
                late_accepted += now > first_window_end
                last = now
                learner.accepted(sent_at, now, hint)
                push(now, "free", worker)
            else:
                refused += 1
                late_refused += now > first_window_end
                refusal_times.append(now - start)
                header = math.ceil(decision.wait_s) if retry_after else None
                wait = learner.refused(sent_at, now, header, hint)
                push(now + wait, "free", worker)
    return SimResult(accepted, refused, max(last - start, 1e-9), late_refused, late_accepted,
                     learner, refusal_times)
