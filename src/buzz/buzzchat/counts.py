"""Counters of sent bot messages, kept in the transaction that sends them (SPEC §3.8).

Each sent message adds one to its hour and to its UTC day, by kind (and FAQ replies by trigger
keyword), so analytics read at most a day of hours plus one row per day of the period.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from buzz.buzzchat.models import (
    DailyFaqCount,
    DailyMessageCount,
    HourlyFaqCount,
    HourlyMessageCount,
)

__all__ = [
    "DAILY_FAQ",
    "DAILY_MESSAGES",
    "HOURLY_FAQ",
    "HOURLY_MESSAGES",
    "SentCount",
    "add_sent",
    "day_of",
    "hour_of",
    "insert_new",
    "insert_new_many",
]

HOURLY_MESSAGES: Table = HourlyMessageCount.__table__  # type: ignore[assignment]
HOURLY_FAQ: Table = HourlyFaqCount.__table__  # type: ignore[assignment]
DAILY_MESSAGES: Table = DailyMessageCount.__table__  # type: ignore[assignment]
DAILY_FAQ: Table = DailyFaqCount.__table__  # type: ignore[assignment]

# (account id, sent at, kind, FAQ keyword or None)
SentCount = tuple[str, datetime, str, str | None]


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def day_of(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def add_sent(session: Session, sent: list[SentCount]) -> None:
    """Count sent messages into their hour and their day, by kind and by FAQ keyword."""
    for table, bucket, label, floor in (
        (HOURLY_MESSAGES, "hour", "kind", hour_of),
        (DAILY_MESSAGES, "day", "kind", day_of),
        (HOURLY_FAQ, "hour", "keyword", hour_of),
        (DAILY_FAQ, "day", "keyword", day_of),
    ):
        counted: Counter[tuple[str, datetime, str]] = Counter()
        for account_id, sent_at, kind, keyword in sent:
            value = kind if label == "kind" else keyword
            if value is not None:
                counted[(account_id, floor(sent_at), value)] += 1
        _add(session, table, bucket, label, counted)


def _insert_of(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _add(
    session: Session,
    table: Table,
    bucket: str,
    label: str,
    counts: Counter[tuple[str, datetime, str]],
) -> None:
    if not counts:
        return
    rows = [
        {"account_id": account_id, bucket: when, label: value, "count": n}
        for (account_id, when, value), n in sorted(counts.items())
    ]
    statement = _insert_of(session)(table)
    statement = statement.on_conflict_do_update(
        index_elements=["account_id", bucket, label],
        set_={"count": table.c.count + statement.excluded.count},
    )
    session.execute(statement, rows)


def insert_new(session: Session, table: Table, values: dict[str, Any], *, keys: list[str]) -> bool:
    """Insert a row unless one with the same `keys` exists; True if this call inserted it.

    Atomic on both databases (ON CONFLICT DO NOTHING), so two requests racing on the same
    username cannot both win, nor fail with a unique violation.
    """
    statement = (
        _insert_of(session)(table)
        .values(values)
        .on_conflict_do_nothing(index_elements=keys)
        .returning(table.c[keys[0]])
    )
    # A row comes back only when this statement inserted one (rowcount is not reliable here).
    return session.execute(statement).first() is not None


def insert_new_many(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    keys: list[str],
    returning: str,
) -> set[Any]:
    """`insert_new` for many rows in one statement: the `returning` column of each row this
    call inserted (rows whose keys exist already, or repeat an earlier row's, are skipped)."""
    if not rows:
        return set()
    statement = (
        _insert_of(session)(table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=keys)
        .returning(table.c[returning])
    )
    return set(session.scalars(statement))
