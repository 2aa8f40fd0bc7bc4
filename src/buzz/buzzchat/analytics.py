"""Analytics over sent bot messages (SPEC §3.8), fast on long histories.

Sent messages are counted per hour and per day as they are sent (`counts`). A period's figure
sums the days and hours wholly inside it plus an exact count of the few messages in its first,
partial hour, so the work grows with the days in the period, never with the messages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, Table, func, select
from sqlalchemy.orm import Session

from buzz.buzzchat import counts
from buzz.buzzchat.models import BotMessage, MessageKind, MessageStatus
from buzz.wire import CamelModel

__all__ = [
    "Analytics",
    "DayCounts",
    "Period",
    "TriggerCount",
    "daily_by_kind",
    "faq_triggers",
    "summary",
]


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    ALL = "all"


_SPANS = {
    Period.DAY: timedelta(days=1),
    Period.WEEK: timedelta(days=7),
    Period.MONTH: timedelta(days=30),
}


class Breakdown(CamelModel):
    welcome: float
    faq: float
    timer: float
    api: float


class Analytics(CamelModel):
    total_messages: int
    welcome_messages: int
    faq_replies: int
    timer_messages: int
    api_messages: int
    period: Period
    breakdown: Breakdown


class TriggerCount(CamelModel):
    keyword: str
    count: int


class DayCounts(CamelModel):
    """Bot messages sent on one UTC day (within the period), by kind."""

    day: date
    welcome: int
    faq: int
    timer: int
    api: int
    total: int


def _ceil(moment: datetime, floor: Callable[[datetime], datetime], unit: timedelta) -> datetime:
    floored = floor(moment)
    return floored if floored == moment else floored + unit


def _sums(
    session: Session, *, account_id: str, period: Period, now: datetime, by: str, per_day: bool
) -> dict[tuple[datetime | None, str], int]:
    """Sent messages in the period by `by` ("kind" or "keyword"), from the cheapest rows; keyed
    by (UTC day, value) when `per_day`, else by (None, value).

    All time: the daily counters. Else the window [start, now] is split into the start's partial
    hour (counted from the messages themselves, exactly), the whole hours before the first
    whole day (hourly counters), and the days from there on (daily counters). The first two
    parts lie inside the start's own day, so per day they are that day's.
    """
    hourly, daily = (
        (counts.HOURLY_MESSAGES, counts.DAILY_MESSAGES)
        if by == "kind"
        else (counts.HOURLY_FAQ, counts.DAILY_FAQ)
    )
    totals: dict[tuple[datetime | None, str], int] = {}

    def add(query: Select[Any], day: datetime | None) -> None:
        """Rows of (value, n), all of `day`; or of (value, day, n) when `day` is None and the
        query groups by day."""
        for row in session.execute(query):
            value, n = row[0], row[-1]
            if value is not None:
                key = (row[1] if len(row) == 3 else day, value)
                totals[key] = totals.get(key, 0) + int(n or 0)

    def summed(
        table: Table,
        column: str,
        since: datetime | None,
        until: datetime | None,
        day: datetime | None,
    ) -> None:
        grouped = [table.c[by]]
        if per_day and column == "day":
            grouped.append(table.c.day)
        query = select(*grouped, func.sum(table.c.count)).where(table.c.account_id == account_id)
        if since is not None:
            query = query.where(table.c[column] >= since)
        if until is not None:
            query = query.where(table.c[column] < until)
        add(query.group_by(*grouped), day)

    if period is Period.ALL:
        summed(daily, "day", None, None, None)
        return totals
    start = now - _SPANS[period]
    start_day = counts.day_of(start) if per_day else None
    first_hour = _ceil(start, counts.hour_of, timedelta(hours=1))
    first_day = _ceil(start, counts.day_of, timedelta(days=1))
    if start < first_hour:
        column = getattr(BotMessage, by)
        add(
            select(column, func.count())
            .where(
                BotMessage.account_id == account_id,
                BotMessage.sent_at >= start,
                BotMessage.sent_at < first_hour,
                BotMessage.status == MessageStatus.SENT.value,
            )
            .group_by(column),
            start_day,
        )
    if first_hour < first_day:
        summed(hourly, "hour", first_hour, first_day, start_day)
    summed(daily, "day", first_day, None, None)
    return totals


def _totals(
    session: Session, *, account_id: str, period: Period, now: datetime, by: str
) -> dict[str, int]:
    """Sent messages in the period by `by` ("kind" or "keyword")."""
    found = _sums(session, account_id=account_id, period=period, now=now, by=by, per_day=False)
    return {value: n for (_, value), n in found.items()}


def _percent(part: int, total: int) -> float:
    return round(part * 100 / total, 1) if total else 0.0


def summary(session: Session, *, account_id: str, period: Period, now: datetime) -> Analytics:
    """Bot messages sent in the period, by kind, with each kind's share in percent."""
    by_kind: dict[str, int] = dict.fromkeys((k.value for k in MessageKind), 0)
    by_kind.update(_totals(session, account_id=account_id, period=period, now=now, by="kind"))
    total = sum(by_kind.values())
    return Analytics(
        total_messages=total,
        welcome_messages=by_kind["welcome"],
        faq_replies=by_kind["faq"],
        timer_messages=by_kind["timer"],
        api_messages=by_kind["api"],
        period=period,
        breakdown=Breakdown(
            welcome=_percent(by_kind["welcome"], total),
            faq=_percent(by_kind["faq"], total),
            timer=_percent(by_kind["timer"], total),
            api=_percent(by_kind["api"], total),
        ),
    )


def faq_triggers(
    session: Session, *, account_id: str, period: Period, limit: int, now: datetime
) -> list[TriggerCount]:
    """The FAQ triggers that got replies in the period, most replies first, then by keyword."""
    totals = _totals(session, account_id=account_id, period=period, now=now, by="keyword")
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return [TriggerCount(keyword=k, count=n) for k, n in ranked[:limit] if n > 0]


def daily_by_kind(
    session: Session, *, account_id: str, period: Period, now: datetime
) -> list[DayCounts]:
    """Bot messages sent in the period per UTC day and kind, oldest first, days without any
    included: from the day the period starts in (counted from its start, so the days add up
    to `summary`) to today; all time, from the first day with a message."""
    found = _sums(session, account_id=account_id, period=period, now=now, by="kind", per_day=True)
    days = {day for day, _ in found if day is not None}
    if period is Period.ALL:
        if not days:
            return []
        first = min(days)
    else:
        first = counts.day_of(now - _SPANS[period])
    shown = []
    day = first
    while day <= now:
        by_kind = {k.value: found.get((day, k.value), 0) for k in MessageKind}
        shown.append(DayCounts(day=day.date(), total=sum(by_kind.values()), **by_kind))
        day += timedelta(days=1)
    return shown
