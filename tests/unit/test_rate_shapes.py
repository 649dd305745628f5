"""The sandbox's rate-limit shapes, on a fake clock."""

from __future__ import annotations

import pytest

from bulk_enroll.sandbox.rate_shapes import RateModel, RateRule, Shape


def admitted(model: RateModel, times: list[float]) -> list[bool]:
    return [model.admit(t).admitted for t in times]


def test_sliding_window_counts_the_last_window_from_any_moment():
    model = RateModel(RateRule(3, 1.0, Shape.SLIDING))
    assert admitted(model, [0.0, 0.2, 0.4, 0.6]) == [True, True, True, False]
    refused = model.admit(0.7)
    assert not refused.admitted and refused.wait_s == pytest.approx(0.3)
    assert admitted(model, [1.0, 1.1, 1.3]) == [True, False, True]


def test_fixed_window_resets_on_the_boundary():
    model = RateModel(RateRule(3, 1.0, Shape.FIXED))
    assert admitted(model, [0.5, 0.6, 0.7, 0.8]) == [True, True, True, False]
    assert model.admit(0.9).wait_s == pytest.approx(0.1)
    assert admitted(model, [1.0, 1.01, 1.02, 1.03]) == [True, True, True, False]


def test_bucket_allows_its_burst_then_the_refill_rate():
    model = RateModel(RateRule(2, 1.0, Shape.BUCKET, burst=4))
    assert admitted(model, [0.0] * 5) == [True] * 4 + [False]
    assert model.admit(0.0).wait_s == pytest.approx(0.5)
    assert admitted(model, [0.5, 0.6, 1.0]) == [True, False, True]


def test_remaining_and_reset_are_what_headers_would_say():
    model = RateModel(RateRule(2, 5.0, Shape.FIXED))
    first = model.admit(1.0)
    assert (first.limit, first.remaining, first.reset_s) == (2, 1, 4.0)
    last = model.admit(2.0)
    assert (last.remaining, last.reset_s, last.wait_s) == (0, 3.0, 3.0)


def test_rules_refuse_nonsense():
    with pytest.raises(ValueError):
        RateRule(0)
    with pytest.raises(ValueError):
        RateRule(5, 0)
