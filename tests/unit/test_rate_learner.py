"""The rate learner on a fake clock, against fake servers of every shape (tests/rate_sim.py):
four workers, 50 ms latency, the limit not configured."""

from __future__ import annotations

import pytest

from bulk_enroll.sandbox.rate_shapes import RateRule, Shape
from bulk_enroll.send.rate_learner import HEADROOM, RateLearner
from bulk_enroll.transport.rate_headers import RateLimitHint
from tests.rate_sim import simulate

T0 = 1000.0

SHAPES = {
    "20/1 s sliding": (RateRule(20, 1, Shape.SLIDING), {}),
    "20/1 s fixed": (RateRule(20, 1, Shape.FIXED), {}),
    "100/5 s fixed": (RateRule(100, 5, Shape.FIXED), {}),
    "10/10 s sliding": (RateRule(10, 10, Shape.SLIDING), {}),
    "300/60 s fixed": (RateRule(300, 60, Shape.FIXED), {}),
    "bucket 20/s, burst 40": (RateRule(20, 1, Shape.BUCKET, burst=40), {}),
    "20/1 s, no Retry-After": (RateRule(20, 1, Shape.SLIDING), {"retry_after": False}),
    "20/1 s fixed, no Retry-After": (RateRule(20, 1, Shape.FIXED), {"retry_after": False}),
}


@pytest.mark.parametrize("name", SHAPES)
def test_every_shape_reaches_nine_tenths_of_the_limit_with_few_429s(name):
    rule, options = SHAPES[name]
    seconds = max(60.0, 4 * rule.window_s)
    result = simulate(rule, seconds=seconds, **options)
    assert result.share(rule) >= 0.9, result
    assert result.refusals_per_100_after_first_window() < 5, result.refusal_times
    assert result.learner.limit == pytest.approx(rule.limit / rule.window_s, rel=0.15)


@pytest.mark.parametrize("offset", [0.13, 0.5, 0.62, 0.91])
@pytest.mark.parametrize("rule", [RateRule(100, 5, Shape.FIXED), RateRule(300, 60, Shape.FIXED)])
def test_fixed_windows_are_learned_whatever_the_phase_the_run_starts_at(rule, offset):
    # Met halfway, the first window looks shorter than it is; the next wait outlasting the
    # window believed says so, and the limit is learned again from a whole window.
    result = simulate(rule, seconds=max(60, 5 * rule.window_s), offset=offset * rule.window_s)
    assert result.share(rule) >= 0.9
    assert result.refusals_per_100_after_first_window() < 5
    # Within a third: met at its middle, a 60 s window can stay believed shorter (30 s), and
    # cruising a little fast then costs one 429 and one pause per window, not throughput.
    assert result.learner.limit == pytest.approx(rule.limit / rule.window_s, rel=0.35)


def test_the_first_window_of_a_whole_second_retry_after_is_snapped_to_the_real_window():
    # 20 accepted in 0.25 s, then Retry-After: 1 (the real wait, 0.75 s, rounded up): the
    # window is 1 s, not 1.25 s, so the limit is 20/s from the first 429, not 16.
    learner = RateLearner(T0)
    for i in range(20):
        learner.accepted(T0 + i * 0.0125, T0 + 0.05 + i * 0.0125)
    assert learner.refused(T0 + 0.25, T0 + 0.3, retry_after=1) == 0.0
    assert learner.limit == 20 and learner.window == 1
    assert learner.paused_until == T0 + 1.3  # everyone waits out the Retry-After


def test_a_marginal_429_while_cruising_pauses_nobody_but_the_refused_call():
    learner = RateLearner(T0, remembered=20.0, window=1.0)
    now = T0
    for _ in range(100):  # cruising at 19/s for 5 s
        slot = learner.reserve(now)
        learner.accepted(slot.at, slot.at + 0.05)
        now = slot.at
    generation = learner.generation
    wait = learner.refused(now, now + 0.05, retry_after=1)
    assert wait == 1  # the refused call honours its Retry-After
    assert learner.generation == generation  # nobody else is paused
    assert learner.reserve(now + 0.06).at < now + 0.2  # the others go on at the pace


def test_refusals_of_calls_sent_before_the_reaction_are_echoes():
    learner = RateLearner(T0)
    for i in range(20):
        learner.accepted(T0 + i * 0.01, T0 + 0.05 + i * 0.01)
    learner.refused(T0 + 0.2, T0 + 0.25, retry_after=1)
    limit, pause = learner.limit, learner.paused_until
    for late in range(3):  # in flight when the first 429 arrived: no news
        learner.refused(T0 + 0.21 + late * 0.01, T0 + 0.26 + late * 0.01, retry_after=1)
    assert (learner.limit, learner.paused_until, learner.refusals) == (limit, pause, 4)


def test_after_a_pause_workers_resume_one_slot_apart_not_all_at_once():
    learner = RateLearner(T0, remembered=10.0)
    learner.reserve(T0)
    learner.refused(T0, T0 + 0.05, retry_after=None)  # refused before anything got through
    slots = [learner.reserve(T0 + 0.06).at for _ in range(4)]
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    assert slots[0] >= learner.paused_until
    assert all(gap == pytest.approx(1 / (HEADROOM * learner.limit)) for gap in gaps)


def test_a_slot_handed_out_before_a_pause_is_void():
    learner = RateLearner(T0)
    slot = learner.reserve(T0)
    learner.refused(T0 - 1, T0 + 0.05, retry_after=2)
    assert not learner.valid(slot)
    assert learner.reserve(T0 + 0.1).at >= T0 + 2.05


def test_a_limit_shared_with_another_client_is_learned_as_the_share_left():
    rule = RateRule(20, 1, Shape.SLIDING)
    result = simulate(rule, seconds=60, other_client_rate=8)
    assert result.share(rule, available=12) >= 0.9
    assert result.learner.limit == pytest.approx(12, rel=0.15)
    assert result.refusals_per_100_after_first_window() < 5


def test_a_fixed_window_shared_with_another_client():
    rule = RateRule(100, 5, Shape.FIXED)
    result = simulate(rule, seconds=60, other_client_rate=5)
    assert result.share(rule, available=15) >= 0.9
    assert result.refusals_per_100_after_first_window() < 5


def test_headroom_left_by_a_client_that_stops_is_found_by_probing():
    # Learned at 12/s while another client took 8/s; it has gone: the estimate climbs back.
    learner = RateLearner(T0, remembered=12.0, window=1.0)
    rule = RateRule(20, 1, Shape.SLIDING)
    result = simulate(rule, seconds=120, learner=learner, start=T0)
    assert result.learner.limit >= 18
    assert result.refusals_per_100_after_first_window() < 5


def test_announced_limit_and_window_are_used_outright_without_a_single_429():
    rule = RateRule(100, 5, Shape.FIXED)
    result = simulate(rule, seconds=30, headers=True)
    assert result.refused == 0
    assert result.learner.limit == 20 and result.share(rule) >= 0.93


def test_remaining_zero_teaches_the_limit_before_any_429():
    # X-RateLimit-* without a policy window: the burst that empties the quota is the lesson.
    learner = RateLearner(T0)
    for i in range(99):
        learner.accepted(T0 + i * 0.0125, T0 + 0.05 + i * 0.0125,
                         RateLimitHint(100, 99 - i, 5))
    learner.accepted(T0 + 1.2375, T0 + 1.2875, RateLimitHint(100, 0, 4))
    assert learner.refusals == 0
    assert learner.limit == 20 and learner.window == 5  # 100 calls over (1.25 s + 4 s) -> 5 s
    assert learner.paused_until == pytest.approx(T0 + 5.2875)


def test_a_configured_ceiling_is_never_exceeded_and_gives_95_percent_with_no_429():
    rule = RateRule(20, 1, Shape.SLIDING)
    result = simulate(rule, seconds=30, learner=RateLearner(T0, ceiling=20.0), start=T0)
    assert result.refused == 0 and result.share(rule) >= 0.94
    assert result.learner.limit == 20


def test_a_remembered_rate_starts_the_run_near_it_not_above_it():
    rule = RateRule(100, 5, Shape.FIXED)
    learner = RateLearner(T0, remembered=20.0, window=5.0)
    assert learner.rate == HEADROOM * 20
    result = simulate(rule, seconds=60, learner=learner, start=T0)
    assert result.share(rule) >= 0.93
    assert min(result.refusal_times, default=60) > 10  # no discovery burst: only probes later


def test_a_remembered_rate_above_todays_limit_comes_down():
    rule = RateRule(10, 1, Shape.SLIDING)
    learner = RateLearner(T0, remembered=20.0, window=1.0)
    result = simulate(rule, seconds=60, learner=learner, start=T0)
    assert result.learner.limit == pytest.approx(10, rel=0.15)
    assert result.share(rule) >= 0.85


def test_refused_from_the_first_call_goes_one_call_a_second_until_one_passes():
    learner = RateLearner(T0)
    learner.refused(T0, T0 + 0.05, retry_after=None)
    assert learner.limit is None and learner.rate == 1.0
    learner.accepted(T0 + 1.1, T0 + 1.15)
    assert learner.rate == float("inf")  # free to discover the limit with the next burst


def test_no_retry_after_doubles_the_guess_while_refusals_follow_each_other():
    learner = RateLearner(T0)
    first = learner.refused(T0, T0 + 0.05, retry_after=None)
    pause1 = learner.paused_until - (T0 + 0.05)
    learner.refused(learner.paused_until, learner.paused_until + 0.05, retry_after=None)
    pause2 = learner.paused_until - (T0 + 0.05 + pause1 + 0.05)
    assert first == 0.0 and pause2 >= 2 * 0.25 and pause2 >= pause1 / 2


def test_headroom_found_above_a_remembered_rate_is_worth_remembering_a_setting_is_not():
    rule = RateRule(100, 5, Shape.FIXED)
    remembered = simulate(rule, seconds=12, learner=RateLearner(T0, remembered=15.0, window=5.0),
                          start=T0)
    assert remembered.refused == 0 and remembered.learner.learned
    assert remembered.learner.limit > 15
    configured = simulate(rule, seconds=12, learner=RateLearner(T0, ceiling=15.0), start=T0)
    assert configured.refused == 0 and not configured.learner.learned


def test_an_estimate_no_accepted_call_confirmed_is_not_worth_remembering():
    learner = RateLearner(T0)
    for i in range(5):
        learner.accepted(T0 + i * 0.01, T0 + i * 0.01 + 0.005)
    learner.refused(T0 + 0.05, T0 + 0.06, retry_after=100_000)  # "come back tomorrow"
    assert learner.learned and learner.limit is not None and learner.limit < 0.1
    assert not learner.confirmed  # the run stops here: a guess, not the server's limit
    learner.accepted(T0 + 0.055, T0 + 0.07)  # in flight before the 429: no news
    assert not learner.confirmed
    learner.accepted(T0 + 100_000.1, T0 + 100_000.2)  # sent after it, and let through
    assert learner.confirmed


def test_a_limit_the_server_announces_is_confirmed_at_once():
    learner = RateLearner(T0)
    learner.accepted(T0, T0 + 0.01, RateLimitHint(limit=100, window_s=60.0))
    assert learner.confirmed
