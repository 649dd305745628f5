"""The log-line progress of a send: counts, rate and an ETA that is never "nan"."""

from __future__ import annotations

import logging

from bulk_enroll.model import Status
from bulk_enroll.send.progress import LogProgress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_no_eta_before_anything_settled():
    clock = Clock()
    progress = LogProgress(every_s=15.0, clock=clock)
    progress.start(pairs=10, calls=2)
    clock.now += 5
    line = progress.line(clock.now)
    assert line.endswith("0 pairs/s, ETA -")
    assert "nan" not in line


def test_no_eta_when_nothing_was_sent_at_all(caplog):
    clock = Clock()
    progress = LogProgress(clock=clock)
    with caplog.at_level(logging.INFO, logger="bulk_enroll.send.progress"):
        progress.start(pairs=0, calls=0)
        progress.close()
    assert "nan" not in caplog.text
    assert caplog.messages[-1].endswith("ETA -")


def test_eta_from_the_rate_once_pairs_settle():
    clock = Clock()
    progress = LogProgress(clock=clock)
    progress.start(pairs=30, calls=3)
    clock.now += 10
    progress.called(retry=False)
    progress.settled(10, Status.ENROLLED)
    assert progress.line(clock.now) == (
        "progress: 10/30 pairs settled, 1 calls (0 retries), 0 not enrolled, 1 pairs/s, ETA 20 s"
    )


def test_the_learned_limit_and_the_time_waited_on_it_are_in_the_line():
    clock = Clock()
    progress = LogProgress(clock=clock)
    progress.start(pairs=30, calls=3)
    progress.waited(1.0, None)
    assert "server limit not learned yet, 1 s waited," in progress.line(clock.now)
    progress.waited(3.4, 19.47)
    assert "server limit ~19.5 calls/s, 3 s waited, ETA" in progress.line(clock.now)


def test_the_bar_shows_the_learned_limit(tmp_path):
    from bulk_enroll.send.progress import BarProgress

    with (tmp_path / "bar.txt").open("w") as stream:
        bar = BarProgress(stream)
        bar.start(pairs=10, calls=1)
        bar.waited(2.0, 12.0)
        bar.settled(10, Status.ENROLLED)
        bar.close()
    assert "limit=~12 calls/s, 2 s waited" in (tmp_path / "bar.txt").read_text()
