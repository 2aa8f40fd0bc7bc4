"""Analytics over sent bot messages (SPEC §3.8), fast on long histories.

Sent messages are counted per hour as they are sent (`counts`). A period's figure is the sum of
the hours wholly inside it plus an exact count of the few messages in its first, partial hour,
so the work grows with the hours in the period, never with the messages.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from buzz.buzzchat.counts import hour_of
from buzz.buzzchat.models import (
    BotMessage,
    HourlyFaqCount,
    HourlyMessageCount,
    MessageKind,
    MessageStatus,
)
from buzz.web.routing import CamelModel

__all__ = ["Analytics", "Period", "TriggerCount", "faq_triggers", "summary"]


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


def _bounds(period: Period, now: datetime) -> tuple[datetime | None, datetime | None]:
    """(start of the period, first whole hour in it); None for all time."""
    if period is Period.ALL:
        return None, None
    start = now - _SPANS[period]
    first_hour = hour_of(start)
    if first_hour < start:
        first_hour += timedelta(hours=1)
    return start, first_hour


def _percent(part: int, total: int) -> float:
    return round(part * 100 / total, 1) if total else 0.0


def summary(session: Session, *, account_id: str, period: Period, now: datetime) -> Analytics:
    """Bot messages sent in the period, by kind, with each kind's share in percent."""
    start, first_hour = _bounds(period, now)
    by_kind: dict[str, int] = dict.fromkeys((k.value for k in MessageKind), 0)
    hourly = select(HourlyMessageCount.kind, func.sum(HourlyMessageCount.count)).where(
        HourlyMessageCount.account_id == account_id
    )
    if first_hour is not None:
        hourly = hourly.where(HourlyMessageCount.hour >= first_hour)
    for kind, n in session.execute(hourly.group_by(HourlyMessageCount.kind)):
        by_kind[kind] = by_kind.get(kind, 0) + int(n or 0)
    if start is not None and first_hour is not None and start < first_hour:
        partial = (
            select(BotMessage.kind, func.count())
            .where(
                BotMessage.account_id == account_id,
                BotMessage.sent_at >= start,
                BotMessage.sent_at < first_hour,
                BotMessage.status == MessageStatus.SENT.value,
            )
            .group_by(BotMessage.kind)
        )
        for kind, n in session.execute(partial):
            by_kind[kind] = by_kind.get(kind, 0) + int(n)
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
    start, first_hour = _bounds(period, now)
    totals: dict[str, int] = {}
    hourly = select(HourlyFaqCount.keyword, func.sum(HourlyFaqCount.count)).where(
        HourlyFaqCount.account_id == account_id
    )
    if first_hour is not None:
        hourly = hourly.where(HourlyFaqCount.hour >= first_hour)
    for keyword, n in session.execute(hourly.group_by(HourlyFaqCount.keyword)):
        totals[keyword] = totals.get(keyword, 0) + int(n or 0)
    if start is not None and first_hour is not None and start < first_hour:
        partial = (
            select(BotMessage.keyword, func.count())
            .where(
                BotMessage.account_id == account_id,
                BotMessage.sent_at >= start,
                BotMessage.sent_at < first_hour,
                BotMessage.status == MessageStatus.SENT.value,
                BotMessage.keyword.is_not(None),
            )
            .group_by(BotMessage.keyword)
        )
        for partial_keyword, n in session.execute(partial):
            if partial_keyword is not None:
                totals[partial_keyword] = totals.get(partial_keyword, 0) + int(n)
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return [TriggerCount(keyword=k, count=n) for k, n in ranked[:limit] if n > 0]
