"""SPEC §3.8: analytics of sent bot messages per period, and the top FAQ triggers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from buzz.clock import ManualClock
from buzz.testing import SeededSubscriber, run_due
from tests.buzzchat.helpers import API, chat, error, ok, said, settings_patch, start_bot

ZERO = {"welcome": 0.0, "faq": 0.0, "timer": 0.0, "api": 0.0}


def analytics(
    client: TestClient, shop: SeededSubscriber, period: str | None = None, **params: Any
) -> dict[str, Any]:
    if period is not None:
        params["period"] = period
    data: dict[str, Any] = ok(client.get(f"{API}/analytics", headers=shop.headers, params=params))
    return data


def total(client: TestClient, shop: SeededSubscriber, period: str) -> int:
    return int(analytics(client, shop, period)["totalMessages"])


def triggers(client: TestClient, shop: SeededSubscriber, **params: Any) -> list[tuple[str, int]]:
    data = ok(client.get(f"{API}/analytics/faq-triggers", headers=shop.headers, params=params))
    return [(t["keyword"], t["count"]) for t in data["triggers"]]


def send(client: TestClient, shop: SeededSubscriber, text: str = "Hi", delay: int = 0) -> None:
    body = {"message": text, "delay": delay}
    ok(client.post(f"{API}/messages/send", json=body, headers=shop.headers))


def faq_bot(client: TestClient, shop: SeededSubscriber, *trigger_sets: list[str]) -> None:
    rules = [{"triggers": t, "reply": f"About {t[0]}"} for t in trigger_sets]
    start_bot(client, shop, welcomeEnabled=False, faqRules=rules)


# ---- counts and breakdown -------------------------------------------------------------------


def test_no_messages_is_all_zeros_in_every_period(
    client: TestClient, shop: SeededSubscriber
) -> None:
    for period in ("day", "week", "month", "all"):
        assert analytics(client, shop, period) == {
            "totalMessages": 0,
            "welcomeMessages": 0,
            "faqReplies": 0,
            "timerMessages": 0,
            "apiMessages": 0,
            "period": period,
            "breakdown": ZERO,
        }
    assert triggers(client, shop) == []


def test_period_defaults_to_week(client: TestClient, shop: SeededSubscriber) -> None:
    assert analytics(client, shop)["period"] == "week"


@pytest.mark.parametrize("period", ["year", "DAY", "", "7d"])
def test_unknown_period_is_400(client: TestClient, shop: SeededSubscriber, period: str) -> None:
    params = {"period": period}
    for path in ("analytics", "analytics/faq-triggers"):
        response = client.get(f"{API}/{path}", headers=shop.headers, params=params)
        error(response, 400, "VALIDATION_ERROR")


def test_mixed_kinds_give_exact_counts_and_percentages(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(
        client,
        shop,
        welcomeDelay=0,
        faqRules=[
            {"triggers": ["ship"], "reply": "Free shipping"},
            {"triggers": ["pay"], "reply": "Cards"},
        ],
        timerMessages=[{"message": "Follow us", "intervalMinutes": 1}],
    )
    chat(client, shop, said("Amy", "shipping?"), said("Amy", "pay?"))
    clock.advance(minutes=1)
    run_due(app)
    settings_patch(client, shop, botActive=False)
    assert analytics(client, shop, "day") == {
        "totalMessages": 4,
        "welcomeMessages": 1,
        "faqReplies": 2,
        "timerMessages": 1,
        "apiMessages": 0,
        "period": "day",
        "breakdown": {"welcome": 25.0, "faq": 50.0, "timer": 25.0, "api": 0.0},
    }


def test_percentages_are_rounded_to_one_decimal(client: TestClient, shop: SeededSubscriber) -> None:
    start_bot(client, shop, welcomeDelay=0, faqRules=[{"triggers": ["ship"], "reply": "Free"}])
    chat(client, shop, said("Amy", "ship?"))
    send(client, shop)
    assert analytics(client, shop)["breakdown"] == {
        "welcome": 33.3,
        "faq": 33.3,
        "timer": 0.0,
        "api": 33.3,
    }
    send(client, shop)
    send(client, shop)
    data = analytics(client, shop)
    assert (data["totalMessages"], data["apiMessages"]) == (5, 3)
    assert data["breakdown"] == {"welcome": 20.0, "faq": 20.0, "timer": 0.0, "api": 60.0}


def test_two_thirds_rounds_up(client: TestClient, shop: SeededSubscriber) -> None:
    start_bot(client, shop, welcomeDelay=0)
    chat(client, shop, said("Amy", "hi"), said("Ben", "hi"))
    send(client, shop)
    assert analytics(client, shop)["breakdown"] == {
        "welcome": 66.7,
        "faq": 0.0,
        "timer": 0.0,
        "api": 33.3,
    }


def test_scheduled_and_cancelled_messages_are_not_counted(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop)
    send(client, shop, "Soon", delay=60_000)
    assert total(client, shop, "all") == 0
    clock.advance(minutes=1)
    run_due(app)
    assert analytics(client, shop, "all")["apiMessages"] == 1
    send(client, shop, "Never", delay=60_000)
    settings_patch(client, shop, botActive=False)
    clock.advance(minutes=5)
    run_due(app)
    assert total(client, shop, "all") == 1


# ---- periods --------------------------------------------------------------------------------


def test_day_week_month_and_all_windows(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop)
    send(client, shop, "first")
    clock.advance(days=2)
    send(client, shop, "second")
    assert [total(client, shop, p) for p in ("day", "week", "month", "all")] == [1, 2, 2, 2]
    clock.advance(days=6)  # first is 8 days old
    assert [total(client, shop, p) for p in ("day", "week", "month", "all")] == [0, 1, 2, 2]
    clock.advance(days=23)  # first is 31 days old, second 29
    assert [total(client, shop, p) for p in ("day", "week", "month", "all")] == [0, 0, 1, 2]
    clock.advance(days=2)
    assert [total(client, shop, p) for p in ("day", "week", "month", "all")] == [0, 0, 0, 2]


def test_message_in_the_first_partial_hour_of_the_window(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop)
    clock.advance(minutes=40)  # 10:10
    send(client, shop, "at 10:10")
    clock.advance(minutes=50)  # 11:00
    send(client, shop, "at 11:00")
    clock.advance(hours=22, minutes=5)  # 09:05 next day: window starts 09:05
    assert total(client, shop, "day") == 2
    clock.advance(hours=1)  # 10:05: 10:10 is in the window's first, partial hour
    assert total(client, shop, "day") == 2
    clock.advance(minutes=10)  # 10:15
    assert total(client, shop, "day") == 1
    clock.advance(minutes=46)  # 11:01
    assert total(client, shop, "day") == 0
    assert total(client, shop, "week") == 2


def test_message_counts_from_when_it_was_sent(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop)
    send(client, shop, "in an hour", delay=3_600_000)
    clock.advance(hours=1)
    run_due(app)
    clock.advance(hours=23, minutes=30)  # made 24.5 h ago, sent 23.5 h ago
    assert total(client, shop, "day") == 1
    clock.advance(hours=1)
    assert total(client, shop, "day") == 0


# ---- FAQ triggers ---------------------------------------------------------------------------


def test_faq_triggers_by_count_then_keyword(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    faq_bot(client, shop, ["size"], ["shipping"], ["payment"], ["color"])
    chat(
        client,
        shop,
        said("a", "size?"),
        said("b", "shipping?"),
        said("c", "payment?"),
        said("d", "color?"),
    )
    clock.advance(seconds=30)
    chat(client, shop, said("a", "shipping?"), said("b", "payment?"), said("c", "color?"))
    clock.advance(seconds=30)
    chat(client, shop, said("a", "color?"))
    assert triggers(client, shop) == [("color", 3), ("payment", 2), ("shipping", 2), ("size", 1)]
    assert triggers(client, shop, limit=2) == [("color", 3), ("payment", 2)]
    assert triggers(client, shop, limit=1) == [("color", 3)]


def test_faq_trigger_counts_the_trigger_that_matched_and_only_replies(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    faq_bot(client, shop, ["ship", "deliver"])
    chat(client, shop, said("a", "delivery time?"), said("b", "shipping?"))  # second: cooldown
    clock.advance(seconds=30)
    chat(client, shop, said("c", "do you ship?"))
    assert triggers(client, shop) == [("deliver", 1), ("ship", 1)]
    assert analytics(client, shop)["faqReplies"] == 2


def test_faq_triggers_limit_is_1_to_100(client: TestClient, shop: SeededSubscriber) -> None:
    faq_bot(client, shop, ["ship"])
    chat(client, shop, said("a", "ship?"))
    assert triggers(client, shop, limit=100) == [("ship", 1)]
    for limit in (0, 101, "ten"):
        response = client.get(
            f"{API}/analytics/faq-triggers", headers=shop.headers, params={"limit": limit}
        )
        error(response, 400, "VALIDATION_ERROR")


def test_faq_triggers_by_period(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    faq_bot(client, shop, ["ship"], ["pay"])
    chat(client, shop, said("a", "ship?"))
    clock.advance(days=3)
    chat(client, shop, said("a", "pay?"))
    assert triggers(client, shop, period="day") == [("pay", 1)]
    assert triggers(client, shop) == [("pay", 1), ("ship", 1)]
    clock.advance(days=5)  # ship 8 days old
    assert triggers(client, shop, period="week") == [("pay", 1)]
    assert triggers(client, shop, period="month") == [("pay", 1), ("ship", 1)]
    clock.advance(days=30)
    assert triggers(client, shop, period="month") == []
    assert triggers(client, shop, period="all") == [("pay", 1), ("ship", 1)]


def test_faq_trigger_in_the_first_partial_hour_of_the_window(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    faq_bot(client, shop, ["ship"])
    clock.advance(minutes=40)  # 10:10
    chat(client, shop, said("a", "ship?"))
    clock.advance(hours=23, minutes=55)  # 10:05 next day
    assert triggers(client, shop, period="day") == [("ship", 1)]
    clock.advance(minutes=10)  # 10:15
    assert triggers(client, shop, period="day") == []


# ---- accounts -------------------------------------------------------------------------------


def test_account_parameter_scopes_analytics(
    client: TestClient, shop: SeededSubscriber, other_shop: SeededSubscriber
) -> None:
    account = ok(client.post(f"{API}/accounts", json={"name": "Second"}, headers=shop.headers), 201)
    second = {"account": account["id"]}
    settings_patch(
        client,
        shop,
        account=account["id"],
        botActive=True,
        welcomeEnabled=False,
        faqRules=[{"triggers": ["ship"], "reply": "Free"}],
    )
    chat(client, shop, said("a", "ship?"), account=account["id"])
    ok(
        client.post(
            f"{API}/messages/send", json={"message": "Hi"}, headers=shop.headers, params=second
        )
    )
    assert total(client, shop, "all") == 0
    assert triggers(client, shop) == []
    data = analytics(client, shop, "all", **second)
    assert (data["totalMessages"], data["faqReplies"], data["apiMessages"]) == (2, 1, 1)
    assert triggers(client, shop, **second) == [("ship", 1)]
    assert total(client, other_shop, "all") == 0
    for path in ("analytics", "analytics/faq-triggers"):
        response = client.get(f"{API}/{path}", headers=other_shop.headers, params=second)
        assert error(response, 404, "NOT_FOUND") == "Account not found"
        response = client.get(f"{API}/{path}", headers=shop.headers, params={"account": "acc_nope"})
        assert error(response, 404, "NOT_FOUND") == "Account not found"
