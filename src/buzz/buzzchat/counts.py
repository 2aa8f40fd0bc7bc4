"""Hourly counters of sent bot messages, kept in the transaction that sends them (SPEC §3.8)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from buzz.buzzchat.models import HourlyFaqCount, HourlyMessageCount

__all__ = ["SentCount", "add_sent", "hour_of"]

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
