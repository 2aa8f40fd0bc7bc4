"""SPEC §3.8 and §7: sent bot messages per UTC day and kind over a period (the portal's chart),
adding up to the period's totals exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from buzz.buzzchat import analytics
from buzz.buzzchat.analytics import DayCounts, Period
from buzz.clock import ManualClock
from buzz.testing import SeededSubscriber
from tests.buzzchat.helpers import API, chat, ok, said, start_bot


def send(client: TestClient, shop: SeededSubscriber, text: str = "Hi") -> None:
    ok(client.post(f"{API}/messages/send", json={"message": text}, headers=shop.headers))


def at(clock: ManualClock, moment: datetime) -> None:
    assert moment >= clock.now, "the clock only moves forward"
    clock.now = moment


def days(app: FastAPI, shop: SeededSubscriber, period: Period, now: datetime) -> list[DayCounts]:
    with app.state.database.session() as session:
        return analytics.daily_by_kind(session, account_id=shop.account_id, period=period, now=now)


def totals(app: FastAPI, shop: SeededSubscriber, period: Period, now: datetime) -> dict[str, int]:
    with app.state.database.session() as session:
        found = analytics.summary(session, account_id=shop.account_id, period=period, now=now)
    return {
        "welcome": found.welcome_messages,
        "faq": found.faq_replies,
        "timer": found.timer_messages,
        "api": found.api_messages,
    }


def added(shown: list[DayCounts]) -> dict[str, int]:
    return {
        kind: sum(getattr(d, kind) for d in shown) for kind in ("welcome", "faq", "timer", "api")
    }


@pytest.fixture
def history(client: TestClient, shop: SeededSubscriber, clock: ManualClock) -> datetime:
    """API messages and FAQ replies over ten days; returns the moment to read them at."""
    clock.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    start_bot(
        client, shop, welcomeEnabled=False, faqRules=[{"triggers": ["ship"], "reply": "Free"}]
    )
    send(client, shop)  # 1 March, before the week
    at(clock, datetime(2026, 3, 2, 10, 10, tzinfo=UTC))
    send(client, shop)  # 2 March, ten minutes before the week starts: outside
    at(clock, datetime(2026, 3, 2, 10, 30, tzinfo=UTC))
    send(client, shop)  # in the week's first, partial hour
    at(clock, datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    chat(client, shop, said("amy", "ship?"))  # the week's whole hours of its first day
    at(clock, datetime(2026, 3, 5, 8, 0, tzinfo=UTC))
    send(client, shop)
    send(client, shop)
    at(clock, datetime(2026, 3, 9, 10, 0, tzinfo=UTC))
    chat(client, shop, said("ben", "ship it"))
    send(client, shop)
    return datetime(2026, 3, 9, 10, 20, tzinfo=UTC)


def test_a_week_lists_each_day_from_its_start_counting_only_what_is_inside(
    app: FastAPI, shop: SeededSubscriber, history: datetime
) -> None:
    shown = days(app, shop, Period.WEEK, history)
    assert [d.day for d in shown] == [date(2026, 3, n) for n in range(2, 10)]
    by_day = {d.day.day: (d.welcome, d.faq, d.timer, d.api, d.total) for d in shown}
    assert by_day == {
        2: (0, 1, 0, 1, 2),  # 10:30 and 15:00, not 10:10 (the week starts at 10:20)
        3: (0, 0, 0, 0, 0),
        4: (0, 0, 0, 0, 0),
        5: (0, 0, 0, 2, 2),
        6: (0, 0, 0, 0, 0),
        7: (0, 0, 0, 0, 0),
        8: (0, 0, 0, 0, 0),
        9: (0, 1, 0, 1, 2),
    }


@pytest.mark.parametrize("period", list(Period))
def test_the_days_add_up_to_the_period_totals(
    app: FastAPI, shop: SeededSubscriber, history: datetime, period: Period
) -> None:
    assert added(days(app, shop, period, history)) == totals(app, shop, period, history)


def test_a_day_is_yesterday_from_this_time_and_today(
    app: FastAPI, shop: SeededSubscriber, history: datetime
) -> None:
    shown = days(app, shop, Period.DAY, history)
    assert [(d.day, d.total) for d in shown] == [(date(2026, 3, 8), 0), (date(2026, 3, 9), 2)]


def test_all_time_starts_on_the_first_day_with_a_message(
    app: FastAPI, shop: SeededSubscriber, history: datetime
) -> None:
    shown = days(app, shop, Period.ALL, history)
    assert shown[0].day == date(2026, 3, 1)
    assert shown[-1].day == date(2026, 3, 9)
    assert len(shown) == 9
    assert sum(d.total for d in shown) == 8


def test_without_messages_all_time_has_no_days_and_a_week_has_eight_empty_ones(
    app: FastAPI, shop: SeededSubscriber, clock: ManualClock
) -> None:
    assert days(app, shop, Period.ALL, clock.now) == []
    week = days(app, shop, Period.WEEK, clock.now)
    assert len(week) == 8
    assert all(d.total == 0 for d in week)


def test_another_accounts_messages_are_not_counted(
    app: FastAPI, shop: SeededSubscriber, other_shop: SeededSubscriber, history: datetime
) -> None:
    assert days(app, other_shop, Period.ALL, history) == []
    assert sum(d.total for d in days(app, other_shop, Period.WEEK, history)) == 0
