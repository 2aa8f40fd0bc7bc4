"""`/analytics` (SPEC §3.8)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from buzz.buzzchat import analytics
from buzz.buzzchat.analytics import Analytics, Period, TriggerCount
from buzz.buzzchat.auth import AccountDep
from buzz.buzzchat.routes.common import new_router
from buzz.buzzchat.schemas import Ok
from buzz.db import SessionDep
from buzz.web.routing import ClockDep
from buzz.wire import CamelModel

router = new_router("Analytics", 400, 404)

PeriodQuery = Annotated[
    Period, Query(description="day (24 h), week (7 d), month (30 d) or all; default week.")
]


class Triggers(CamelModel):
    triggers: list[TriggerCount]


@router.get("/analytics", response_model=Ok[Analytics])
def get_analytics(
    account: AccountDep, session: SessionDep, now: ClockDep, period: PeriodQuery = Period.WEEK
) -> Ok[Analytics]:
    """Bot messages sent in the period, by kind, with each kind's share in percent."""
    return Ok(data=analytics.summary(session, account_id=account.id, period=period, now=now))


@router.get("/analytics/faq-triggers", response_model=Ok[Triggers])
def get_faq_triggers(
    account: AccountDep,
    session: SessionDep,
    now: ClockDep,
    period: PeriodQuery = Period.WEEK,
    limit: Annotated[int, Query(ge=1, le=100, description="How many triggers (1..100).")] = 10,
) -> Ok[Triggers]:
    """The FAQ triggers that got the most replies in the period."""
    found = analytics.faq_triggers(
        session, account_id=account.id, period=period, limit=limit, now=now
    )
    return Ok(data=Triggers(triggers=found))
