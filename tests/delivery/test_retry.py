"""The retry schedule: 5 s .. 10 h gaps after the first attempt, ±20 %, Retry-After (§4.2)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from buzz.delivery.retry import (
    MAX_ATTEMPTS,
    RETRY_GAPS,
    classify,
    next_attempt_at,
    parse_retry_after,
    retry_after_for,
)

FIRST = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class NoJitter(random.Random):
    """Always the middle of the jitter range, so the nominal schedule shows."""

    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


def seconds(delta: timedelta) -> float:
    return delta.total_seconds()


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(status: int) -> None:
    assert classify(status) == "delivered"


def test_410_is_gone() -> None:
    assert classify(410) == "gone"


@pytest.mark.parametrize("status", [100, 301, 302, 304, 307, 400, 401, 404, 409, 429, 500, 503])
def test_everything_else_including_redirects_is_retried(status: int) -> None:
    assert classify(status) == "retry"


def test_on_time_attempts_follow_the_cumulative_schedule_then_give_up() -> None:
    rng = NoJitter()
    when = FIRST
    offsets: list[timedelta] = []
    for attempts_made in range(1, MAX_ATTEMPTS + 1):
        due = next_attempt_at(
            first_attempt_at=FIRST, attempts_made=attempts_made, now=when, retry_after=None, rng=rng
        )
        if due is None:
            break
        offsets.append(due - FIRST)
        when = due
    assert offsets == [
        timedelta(seconds=5),
        timedelta(minutes=5, seconds=5),
        timedelta(minutes=35, seconds=5),
        timedelta(hours=2, minutes=35, seconds=5),
        timedelta(hours=7, minutes=35, seconds=5),
        timedelta(hours=17, minutes=35, seconds=5),
        timedelta(hours=27, minutes=35, seconds=5),
    ]
    assert MAX_ATTEMPTS == 8


def test_the_eighth_failure_gives_up_even_with_retry_after() -> None:
    due = next_attempt_at(
        first_attempt_at=FIRST, attempts_made=8, now=NOW, retry_after=10, rng=random.Random(1)
    )
    assert due is None


def test_attempts_made_starts_at_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        next_attempt_at(
            first_attempt_at=FIRST, attempts_made=0, now=FIRST, retry_after=None, rng=NoJitter()
        )


@pytest.mark.parametrize("attempts_made", range(1, MAX_ATTEMPTS))
def test_each_gap_is_jittered_within_20_percent(attempts_made: int) -> None:
    slot = FIRST + sum(RETRY_GAPS[: attempts_made - 1], timedelta())
    gap = RETRY_GAPS[attempts_made - 1]
    waits = set()
    rng = random.Random(20260302)
    for _ in range(200):
        due = next_attempt_at(
            first_attempt_at=FIRST, attempts_made=attempts_made, now=slot, retry_after=None, rng=rng
        )
        assert due is not None
        wait = seconds(due - slot)
        assert 0.8 * seconds(gap) <= wait <= 1.2 * seconds(gap)
        waits.add(wait)
    assert len(waits) > 100  # really jittered, not a constant


def test_the_same_seed_gives_the_same_schedule() -> None:
    def schedule(seed: int) -> list[datetime | None]:
        rng = random.Random(seed)
        return [
            next_attempt_at(
                first_attempt_at=FIRST, attempts_made=n, now=FIRST, retry_after=None, rng=rng
            )
            for n in range(1, MAX_ATTEMPTS + 1)
        ]

    assert schedule(7) == schedule(7)
    assert schedule(7) != schedule(8)


def test_an_early_attempt_keeps_the_schedule_anchored_to_the_first() -> None:
    # Attempt 3 ran a minute early (jitter); attempt 4 is still due 35 min 5 s after the first.
    nominal_slot = FIRST + timedelta(minutes=5, seconds=5)
    due = next_attempt_at(
        first_attempt_at=FIRST,
        attempts_made=3,
        now=nominal_slot - timedelta(minutes=1),
        retry_after=None,
        rng=NoJitter(),
    )
    assert due == FIRST + timedelta(minutes=35, seconds=5)


def test_a_late_attempt_keeps_its_spacing_instead_of_bunching_up() -> None:
    # The worker was down for a day: the next retry still waits its gap from now.
    now = FIRST + timedelta(days=1)
    due = next_attempt_at(
        first_attempt_at=FIRST, attempts_made=2, now=now, retry_after=None, rng=NoJitter()
    )
    assert due == now + timedelta(minutes=5)


def test_retry_after_delays_a_sooner_retry() -> None:
    due = next_attempt_at(
        first_attempt_at=FIRST, attempts_made=1, now=FIRST, retry_after=120, rng=NoJitter()
    )
    assert due == FIRST + timedelta(seconds=120)


def test_retry_after_never_hastens_a_later_retry() -> None:
    due = next_attempt_at(
        first_attempt_at=FIRST, attempts_made=3, now=NOW, retry_after=1, rng=NoJitter()
    )
    assert due == NOW + timedelta(minutes=30)


def test_retry_after_is_capped_at_one_hour() -> None:
    due = next_attempt_at(
        first_attempt_at=FIRST, attempts_made=1, now=FIRST, retry_after=86400, rng=NoJitter()
    )
    assert due == FIRST + timedelta(hours=1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (" 30 ", 30.0),
        ("1.5", 1.5),
        ("7200", 3600.0),
        ("Mon, 02 Mar 2026 12:01:30 GMT", 90.0),
        ("Mon, 02 Mar 2026 18:00:00 GMT", 3600.0),
        ("Mon, 02 Mar 2026 11:00:00 GMT", 0.0),
        ("Mon, 02 Mar 2026 12:00:10 -0000", 10.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1e3", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_parse_retry_after_treats_a_naive_now_as_utc() -> None:
    naive_now = NOW.replace(tzinfo=None)
    assert parse_retry_after("Mon, 02 Mar 2026 12:00:45 GMT", now=naive_now) == 45.0


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_on_429_and_503(status: int) -> None:
    assert retry_after_for(status, {"Retry-After": "30"}, NOW) == 30.0
    assert retry_after_for(status, httpx.Headers({"retry-after": "30"}), NOW) == 30.0
    assert retry_after_for(status, {}, NOW) is None


@pytest.mark.parametrize("status", [200, 301, 410, 500, 502, 504])
def test_retry_after_is_ignored_on_other_statuses(status: int) -> None:
    assert retry_after_for(status, {"Retry-After": "30"}, NOW) is None
