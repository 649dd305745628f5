"""`model.count`: the one wording of "N things" that messages, log lines and reports share."""

from __future__ import annotations

import pytest

from bulk_enroll.model import count


@pytest.mark.parametrize(
    ("number", "noun", "expected"),
    [
        (1, "row", "1 row"),
        (0, "row", "0 rows"),
        (2500, "call", "2,500 calls"),
        (1, "retry", "1 retry"),
        (3, "retry", "3 retries"),
        (2, "settings group", "2 settings groups"),
    ],
)
def test_count_puts_the_noun_in_the_right_number(number: int, noun: str, expected: str) -> None:
    assert count(number, noun) == expected
