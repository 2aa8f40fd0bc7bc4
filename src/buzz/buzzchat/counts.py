"""Hourly counters of sent bot messages, kept in the transaction that sends them (SPEC §3.8)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from buzz.buzzchat.models import HourlyFaqCount, HourlyMessageCount

__all__ = ["SentCount", "add_sent", "hour_of", "insert_new"]

MESSAGE_COUNTS: Table = HourlyMessageCount.__table__  # type: ignore[assignment]
FAQ_COUNTS: Table = HourlyFaqCount.__table__  # type: ignore[assignment]

# (account id, sent at, kind, FAQ keyword or None)
SentCount = tuple[str, datetime, str, str | None]


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def add_sent(session: Session, sent: list[SentCount]) -> None:
    """Count sent messages into their hour, by kind and by FAQ keyword."""
    kinds: Counter[tuple[str, datetime, str]] = Counter()
    keywords: Counter[tuple[str, datetime, str]] = Counter()
    for account_id, sent_at, kind, keyword in sent:
        kinds[(account_id, hour_of(sent_at), kind)] += 1
        if keyword is not None:
            keywords[(account_id, hour_of(sent_at), keyword)] += 1
    _upsert(session, MESSAGE_COUNTS, "kind", kinds)
    _upsert(session, FAQ_COUNTS, "keyword", keywords)


def insert_new(session: Session, table: Table, values: dict[str, Any], *, keys: list[str]) -> bool:
    """Insert a row unless one with the same `keys` exists; True if this call inserted it.

    Atomic on both databases (ON CONFLICT DO NOTHING), so two requests racing on the same
    username cannot both win, nor fail with a unique violation.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = session.execute(
        insert(table).values(values).on_conflict_do_nothing(index_elements=keys)
    )
    return bool(getattr(result, "rowcount", 0))


def _upsert(
    session: Session, table: Table, label: str, counts: Counter[tuple[str, datetime, str]]
) -> None:
    if not counts:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [
        {"account_id": account_id, "hour": hour, label: value, "count": n}
        for (account_id, hour, value), n in sorted(counts.items())
    ]
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=["account_id", "hour", label],
        set_={"count": table.c.count + statement.excluded.count},
    )
    session.execute(statement, rows)
