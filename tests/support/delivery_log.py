"""What both families' delivery-log tests share (SPEC §3.10): the fields of an entry, and the
bad queries and recover bodies each family must refuse with a 400 naming the field."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any

RECORD_FIELDS = {
    "id",
    "eventId",
    "eventType",
    "status",
    "attempts",
    "lastResponseCode",
    "lastError",
    "nextAttemptAt",
    "createdAt",
}
ATTEMPT_FIELDS = {"at", "responseCode", "durationMs", "error", "responseBody"}


def later(moment: str, **delta: float) -> str:
    """`moment` (ISO 8601) moved by `timedelta(**delta)`, in ISO 8601."""
    return (datetime.fromisoformat(moment) + timedelta(**delta)).isoformat()


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def case_id(value: Any) -> str:
    """A readable pytest id for a query or body of the tables below."""
    if isinstance(value, dict):
        return "&".join(f"{k}={v}"[:40] for k, v in value.items()) or "empty"
    return "" if isinstance(value, str) else str(value)[:50]


# (query, the field its 400 names)
BAD_QUERIES: list[tuple[dict[str, str], str]] = [
    ({"status": "bogus"}, "status"),
    ({"status": "FAILED"}, "status"),
    ({"since": "0.5"}, "since"),
    ({"since": "1772443800"}, "since"),
    ({"since": "not-a-date"}, "since"),
    ({"since": "2026-03-02"}, "since"),
    ({"since": "2026-03-02T09:30:00"}, "since"),  # no offset: which instant is unknown
    ({"until": "0.5"}, "until"),
    ({"since": "2026-03-02T10:00:00Z", "until": "2026-03-02T10:00:00Z"}, "until"),
    ({"since": "2026-03-02T10:00:00Z", "until": "2026-03-02T09:00:00Z"}, "until"),
    ({"since": "2026-03-02T10:00:00Z", "until": "2026-03-02T11:00:00+02:00"}, "until"),
    ({"eventType": ""}, "eventType"),
    ({"cursor": "garbage"}, "cursor"),
    ({"cursor": "@@@@"}, "cursor"),
    ({"cursor": b64(b"x:12")}, "cursor"),
    ({"cursor": b64(b"12")}, "cursor"),
    ({"cursor": b64(b"d:")}, "cursor"),
    ({"cursor": b64(b"d:abc")}, "cursor"),
    ({"cursor": b64(b"d:-1")}, "cursor"),
    ({"cursor": b64(b"d:" + b"9" * 19)}, "cursor"),
    ({"cursor": "A" * 65}, "cursor"),
]

# A moment past the ends of the calendar once turned to UTC.
PAST_THE_END = "9999-12-31T23:59:59-23:59"
BEFORE_THE_START = "0001-01-01T00:00:00+23:59"
OUT_OF_RANGE_QUERIES = [({"since": PAST_THE_END}, "since"), ({"until": BEFORE_THE_START}, "until")]
OUT_OF_RANGE_BODIES = [
    ({"since": BEFORE_THE_START}, "since"),
    ({"since": "2026-03-02T09:30:00Z", "until": PAST_THE_END}, "until"),
]

UNORDERED_WINDOWS = [
    {"since": "2026-03-02T09:30:00Z", "until": "2026-03-02T09:30:00Z"},
    {"since": "2026-03-02T09:30:00Z", "until": "2026-03-02T09:00:00Z"},
]

# (recover body, the field its 400 names), in both families
BAD_RECOVER_BODIES: list[tuple[Any, str]] = [
    ({}, "since"),
    ({"until": "2026-03-05T00:00:00Z"}, "since"),
    ({"since": None}, "since"),
    ({"since": 0.5}, "since"),
    ({"since": "0.5"}, "since"),
    ({"since": 1772443800}, "since"),
    ({"since": "not-a-date"}, "since"),
    ({"since": "2026-03-02T09:30:00"}, "since"),
    ({"since": "2026-03-02T09:30:00Z", "until": "yesterday"}, "until"),
    *((body, "until") for body in UNORDERED_WINDOWS),
    (["2026-03-02T09:30:00Z"], "body"),
]
