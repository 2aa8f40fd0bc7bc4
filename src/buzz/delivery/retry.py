"""When to try a failed delivery again (SPEC §4.2).

SPEC §4.2 lists "about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after the first attempt". The
repeated "10 h, 10 h" only makes sense as successive *gaps* (it is Svix's schedule), so we read the
list as gaps whose running sums are the offsets from the first attempt: retries are due about
5 s, 5 min 5 s, 35 min 5 s, 2 h 35 min, 7 h 35 min, 17 h 35 min and 27 h 35 min after it. That is
eight attempts in all; after the eighth failure the delivery is failed.

Each gap gets ±20 % jitter from an injected `random.Random`, so tests are deterministic and
receivers are not hit by synchronised waves. The gap is counted from the later of the attempt's
nominal slot (first attempt + the previous gaps) and `now`: on time, the schedule stays anchored to
the first attempt; after a late attempt (worker down, slow timeout, Retry-After) the remaining
retries keep their spacing instead of firing back to back.

``Retry-After`` is honoured only on 429 and 503, capped at one hour, and only ever delays a retry.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal

__all__ = [
    "JITTER",
    "MAX_ATTEMPTS",
    "MAX_RETRY_AFTER_S",
    "RETRY_AFTER_STATUSES",
    "RETRY_GAPS",
    "Verdict",
    "classify",
    "next_attempt_at",
    "parse_retry_after",
    "retry_after_for",
]

RETRY_GAPS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = 1 + len(RETRY_GAPS)
JITTER = 0.2
MAX_RETRY_AFTER_S = 3600.0
RETRY_AFTER_STATUSES = frozenset({429, 503})

# What a status means for the delivery: done, the target is gone (disable it), or try again.
Verdict = Literal["delivered", "gone", "retry"]

_DELTA_SECONDS = re.compile(r"\d+(\.\d+)?")


def classify(status_code: int) -> Verdict:
    """2xx is delivered, 410 is gone (disable the target), anything else (3xx too) is retried."""
    if 200 <= status_code < 300:
        return "delivered"
    if status_code == 410:
        return "gone"
    return "retry"


def next_attempt_at(
    *,
    first_attempt_at: datetime,
    attempts_made: int,
    now: datetime,
    retry_after: float | None,
    rng: random.Random,
) -> datetime | None:
    """When to make the next attempt after `attempts_made` failed ones, or None to give up."""
    if attempts_made < 1:
        raise ValueError(f"attempts_made must be at least 1, got {attempts_made}")
    if attempts_made >= MAX_ATTEMPTS:
        return None
    nominal_slot = first_attempt_at + sum(RETRY_GAPS[: attempts_made - 1], timedelta())
    gap = RETRY_GAPS[attempts_made - 1] * rng.uniform(1 - JITTER, 1 + JITTER)
    due = max(nominal_slot, now) + gap
    if retry_after is not None:
        due = max(due, now + timedelta(seconds=min(retry_after, MAX_RETRY_AFTER_S)))
    return due


def parse_retry_after(header_value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date), at most one hour;
    None when absent or unparsable. A date in the past means 0."""
    if header_value is None:
        return None
    value = header_value.strip()
    if not value:
        return None
    if _DELTA_SECONDS.fullmatch(value):
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000": UTC by RFC 5322
            when = when.replace(tzinfo=UTC)
        reference = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        seconds = (when - reference).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def retry_after_for(status_code: int, headers: Mapping[str, str], now: datetime) -> float | None:
    """The ``Retry-After`` delay to honour for this response: only on 429 and 503, else None."""
    if status_code not in RETRY_AFTER_STATUSES:
        return None
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    return parse_retry_after(value, now=now)
