"""SPEC §3.4: the bot's settings per account, their defaults and limits, and bot.started/stopped."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from buzz.delivery.models import Delivery
from buzz.testing import SeededSubscriber
from tests.buzzchat.helpers import API, error, ok, settings_patch

DEFAULTS: dict[str, Any] = {
    "botActive": False,
    "welcomeEnabled": True,
    "welcomeMessage": "Welcome to the stream, {username}!",
    "welcomeDelay": 5000,
    "timerEnabled": True,
    "timerMessages": [],
    "faqEnabled": True,
    "faqRules": [],
    "giveawayEnabled": False,
    "giveawayKeywords": ["enter"],
}


def get_settings(
    client: TestClient, shop: SeededSubscriber, account: str | None = None
) -> dict[str, Any]:
    params = {"account": account} if account else None
    data: dict[str, Any] = ok(client.get(f"{API}/settings", headers=shop.headers, params=params))
    return data


def refused(client: TestClient, shop: SeededSubscriber, **fields: Any) -> str:
    """PATCH that must be a 400 VALIDATION_ERROR; returns the error message."""
    response = client.patch(f"{API}/settings", json=fields, headers=shop.headers)
    return error(response, 400, "VALIDATION_ERROR")


def timer(message: str = "Follow us!", minutes: int = 5, **extra: Any) -> dict[str, Any]:
    return {"message": message, "intervalMinutes": minutes, **extra}


def rule(*triggers: str, reply: str = "See the pinned post", **extra: Any) -> dict[str, Any]:
    return {"triggers": list(triggers), "reply": reply, **extra}


def subscribe(client: TestClient, shop: SeededSubscriber, *events: str) -> str:
    body = {"url": "https://hooks.example.com/buzzchat", "events": list(events)}
    webhook: dict[str, Any] = ok(
        client.post(f"{API}/webhooks", json=body, headers=shop.headers), 201
    )
    return str(webhook["id"])


def logged_types(client: TestClient, shop: SeededSubscriber, webhook_id: str) -> list[str]:
    """Event types in the webhook's delivery log, newest first."""
    data = ok(client.get(f"{API}/webhooks/{webhook_id}/deliveries", headers=shop.headers))
    return [d["eventType"] for d in data["deliveries"]]


def raised(app: FastAPI, event_type: str) -> list[dict[str, Any]]:
    """The `data` of every queued event of this type, oldest first."""
    with app.state.database.session() as session:
        payloads = session.scalars(
            select(Delivery.payload).where(Delivery.event_type == event_type).order_by(Delivery.id)
        ).all()
    return [json.loads(p)["data"] for p in payloads]


# ---- defaults and partial updates -------------------------------------------------------------


def test_new_subscriber_has_every_default(client: TestClient, shop: SeededSubscriber) -> None:
    assert get_settings(client, shop) == DEFAULTS


def test_new_account_starts_with_default_settings(
    client: TestClient, shop: SeededSubscriber
) -> None:
    settings_patch(client, shop, welcomeDelay=0, giveawayEnabled=True)
    account = ok(client.post(f"{API}/accounts", json={"name": "Second"}, headers=shop.headers), 201)
    assert get_settings(client, shop, account["id"]) == DEFAULTS


def test_patch_returns_full_settings_and_keeps_other_fields(
    client: TestClient, shop: SeededSubscriber
) -> None:
    updated = settings_patch(client, shop, welcomeDelay=3000)
    assert updated == {**DEFAULTS, "welcomeDelay": 3000}
    updated = settings_patch(client, shop, faqEnabled=False)
    assert updated == {**DEFAULTS, "welcomeDelay": 3000, "faqEnabled": False}
    assert get_settings(client, shop) == updated


def test_empty_patch_changes_nothing(client: TestClient, shop: SeededSubscriber) -> None:
    assert settings_patch(client, shop) == DEFAULTS


def test_account_parameter_scopes_settings(
    client: TestClient, shop: SeededSubscriber, other_shop: SeededSubscriber
) -> None:
    account = ok(client.post(f"{API}/accounts", json={"name": "Second"}, headers=shop.headers), 201)
    settings_patch(client, shop, account=account["id"], welcomeDelay=0)
    assert get_settings(client, shop, account["id"])["welcomeDelay"] == 0
    assert get_settings(client, shop)["welcomeDelay"] == 5000
    assert get_settings(client, other_shop)["welcomeDelay"] == 5000
    response = client.get(
        f"{API}/settings", headers=other_shop.headers, params={"account": account["id"]}
    )
    assert error(response, 404, "NOT_FOUND") == "Account not found"


# ---- scalar fields --------------------------------------------------------------------------


def test_welcome_message_of_500_chars_is_accepted(
    client: TestClient, shop: SeededSubscriber
) -> None:
    text = "w" * 500
    assert settings_patch(client, shop, welcomeMessage=text)["welcomeMessage"] == text


def test_welcome_message_of_501_chars_is_400(client: TestClient, shop: SeededSubscriber) -> None:
    refused(client, shop, welcomeMessage="w" * 501)
    assert get_settings(client, shop)["welcomeMessage"] == DEFAULTS["welcomeMessage"]


def test_welcome_message_is_trimmed_and_cannot_be_blank(
    client: TestClient, shop: SeededSubscriber
) -> None:
    assert settings_patch(client, shop, welcomeMessage="  Hi {username}  ")["welcomeMessage"] == (
        "Hi {username}"
    )
    refused(client, shop, welcomeMessage="")
    refused(client, shop, welcomeMessage="   ")


@pytest.mark.parametrize("delay", [0, 60_000])
def test_welcome_delay_limits_are_accepted(
    client: TestClient, shop: SeededSubscriber, delay: int
) -> None:
    assert settings_patch(client, shop, welcomeDelay=delay)["welcomeDelay"] == delay


@pytest.mark.parametrize("delay", [-1, 60_001, "5000", 5000.0, True])
def test_welcome_delay_out_of_range_or_not_an_integer_is_400(
    client: TestClient, shop: SeededSubscriber, delay: Any
) -> None:
    refused(client, shop, welcomeDelay=delay)
    assert get_settings(client, shop)["welcomeDelay"] == 5000


@pytest.mark.parametrize(
    "field", ["botActive", "welcomeEnabled", "timerEnabled", "faqEnabled", "giveawayEnabled"]
)
def test_booleans_are_strict(client: TestClient, shop: SeededSubscriber, field: str) -> None:
    refused(client, shop, **{field: "true"})
    refused(client, shop, **{field: 1})
    assert get_settings(client, shop) == DEFAULTS


def test_explicit_null_and_unknown_fields_are_400(
    client: TestClient, shop: SeededSubscriber
) -> None:
    refused(client, shop, welcomeMessage=None)
    refused(client, shop, timerMessages=None)
    refused(client, shop, botactive=True)
    assert get_settings(client, shop) == DEFAULTS


# ---- timers ---------------------------------------------------------------------------------


def test_ten_timers_are_accepted_with_ids_and_defaults(
    client: TestClient, shop: SeededSubscriber
) -> None:
    timers = settings_patch(
        client, shop, timerMessages=[timer(f"Timer {i}", i + 1) for i in range(10)]
    )["timerMessages"]
    assert [t["message"] for t in timers] == [f"Timer {i}" for i in range(10)]
    assert [t["intervalMinutes"] for t in timers] == list(range(1, 11))
    assert all(t["enabled"] is True for t in timers)
    assert all(t["id"].startswith("tmr_") for t in timers)
    assert len({t["id"] for t in timers}) == 10


def test_eleven_timers_are_400(client: TestClient, shop: SeededSubscriber) -> None:
    refused(client, shop, timerMessages=[timer(f"Timer {i}") for i in range(11)])
    assert get_settings(client, shop)["timerMessages"] == []


@pytest.mark.parametrize("minutes", [1, 1440])
def test_timer_interval_limits_are_accepted(
    client: TestClient, shop: SeededSubscriber, minutes: int
) -> None:
    timers = settings_patch(client, shop, timerMessages=[timer(minutes=minutes)])["timerMessages"]
    assert timers[0]["intervalMinutes"] == minutes


@pytest.mark.parametrize("minutes", [0, 1441, -5, "5", 5.0])
def test_timer_interval_out_of_range_or_not_an_integer_is_400(
    client: TestClient, shop: SeededSubscriber, minutes: Any
) -> None:
    refused(client, shop, timerMessages=[timer(minutes=minutes)])


def test_timer_message_is_1_to_500_chars(client: TestClient, shop: SeededSubscriber) -> None:
    timers = settings_patch(client, shop, timerMessages=[timer("t" * 500)])["timerMessages"]
    assert timers[0]["message"] == "t" * 500
    refused(client, shop, timerMessages=[timer("t" * 501)])
    refused(client, shop, timerMessages=[timer("  ")])
    refused(client, shop, timerMessages=[{"intervalMinutes": 5}])


def test_disabled_timer_is_stored_disabled(client: TestClient, shop: SeededSubscriber) -> None:
    timers = settings_patch(client, shop, timerMessages=[timer(enabled=False)])["timerMessages"]
    assert timers[0]["enabled"] is False


# ---- FAQ rules ------------------------------------------------------------------------------


def test_twenty_faq_rules_are_accepted_with_ids_and_defaults(
    client: TestClient, shop: SeededSubscriber
) -> None:
    rules = settings_patch(client, shop, faqRules=[rule(f"q{i}") for i in range(20)])["faqRules"]
    assert [r["triggers"] for r in rules] == [[f"q{i}"] for i in range(20)]
    assert all(r["caseSensitive"] is False and r["enabled"] is True for r in rules)
    assert all(r["id"].startswith("faq_") for r in rules)
    assert len({r["id"] for r in rules}) == 20


def test_twenty_one_faq_rules_are_400(client: TestClient, shop: SeededSubscriber) -> None:
    refused(client, shop, faqRules=[rule(f"q{i}") for i in range(21)])
    assert get_settings(client, shop)["faqRules"] == []


def test_faq_triggers_are_1_to_10(client: TestClient, shop: SeededSubscriber) -> None:
    ten = [f"t{i}" for i in range(10)]
    assert settings_patch(client, shop, faqRules=[rule(*ten)])["faqRules"][0]["triggers"] == ten
    assert settings_patch(client, shop, faqRules=[rule("one")])["faqRules"][0]["triggers"] == [
        "one"
    ]
    refused(client, shop, faqRules=[rule()])
    refused(client, shop, faqRules=[rule(*ten, "eleven")])


def test_faq_trigger_is_1_to_100_chars(client: TestClient, shop: SeededSubscriber) -> None:
    rules = settings_patch(client, shop, faqRules=[rule("x" * 100)])["faqRules"]
    assert rules[0]["triggers"] == ["x" * 100]
    refused(client, shop, faqRules=[rule("x" * 101)])
    refused(client, shop, faqRules=[rule("")])


def test_faq_reply_is_1_to_500_chars(client: TestClient, shop: SeededSubscriber) -> None:
    rules = settings_patch(client, shop, faqRules=[rule("ship", reply="r" * 500)])["faqRules"]
    assert rules[0]["reply"] == "r" * 500
    refused(client, shop, faqRules=[rule("ship", reply="r" * 501)])
    refused(client, shop, faqRules=[rule("ship", reply="")])
    refused(client, shop, faqRules=[{"triggers": ["ship"]}])


def test_faq_rule_flags_are_stored_and_strict(client: TestClient, shop: SeededSubscriber) -> None:
    rules = settings_patch(
        client, shop, faqRules=[rule("Ship", caseSensitive=True, enabled=False)]
    )["faqRules"]
    assert rules[0]["caseSensitive"] is True
    assert rules[0]["enabled"] is False
    refused(client, shop, faqRules=[rule("ship", caseSensitive="yes")])


# ---- giveaway keywords ----------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 10])
def test_giveaway_keywords_1_to_10_are_accepted(
    client: TestClient, shop: SeededSubscriber, count: int
) -> None:
    keywords = [f"kw{i}" for i in range(count)]
    assert settings_patch(client, shop, giveawayKeywords=keywords)["giveawayKeywords"] == keywords


@pytest.mark.parametrize(
    "keywords",
    [
        [],
        [f"kw{i}" for i in range(11)],
        ["enter", "enter"],
        ["Enter", "ENTER"],
        [""],
        ["k" * 51],
    ],
    ids=["empty", "eleven", "duplicate", "duplicate-other-case", "blank", "51-chars"],
)
def test_bad_giveaway_keywords_are_400(
    client: TestClient, shop: SeededSubscriber, keywords: list[str]
) -> None:
    refused(client, shop, giveawayKeywords=keywords)
    assert get_settings(client, shop)["giveawayKeywords"] == ["enter"]


def test_giveaway_keyword_of_50_chars_is_accepted(
    client: TestClient, shop: SeededSubscriber
) -> None:
    assert settings_patch(client, shop, giveawayKeywords=["k" * 50])["giveawayKeywords"] == [
        "k" * 50
    ]


# ---- lists replace whole, ids ---------------------------------------------------------------


def test_lists_replace_the_whole_list(client: TestClient, shop: SeededSubscriber) -> None:
    settings_patch(client, shop, timerMessages=[timer("A"), timer("B")], faqRules=[rule("a")])
    updated = settings_patch(client, shop, timerMessages=[timer("C")], faqRules=[])
    assert [t["message"] for t in updated["timerMessages"]] == ["C"]
    assert updated["faqRules"] == []
    assert get_settings(client, shop) == updated


def test_kept_ids_stay_and_new_items_get_new_ids(
    client: TestClient, shop: SeededSubscriber
) -> None:
    first = settings_patch(client, shop, timerMessages=[timer("A"), timer("B")])["timerMessages"]
    a_id, b_id = first[0]["id"], first[1]["id"]
    second = settings_patch(
        client, shop, timerMessages=[timer("A changed", 9, id=a_id), timer("New")]
    )["timerMessages"]
    assert second[0] == {"id": a_id, "message": "A changed", "intervalMinutes": 9, "enabled": True}
    assert second[1]["id"].startswith("tmr_")
    assert second[1]["id"] not in (a_id, b_id)


def test_kept_faq_rule_ids_stay(client: TestClient, shop: SeededSubscriber) -> None:
    rules = settings_patch(client, shop, faqRules=[rule("ship")])["faqRules"]
    rule_id = rules[0]["id"]
    rules = settings_patch(client, shop, faqRules=[rule("pay"), rule("ship", "post", id=rule_id)])[
        "faqRules"
    ]
    assert rules[1]["id"] == rule_id
    assert rules[1]["triggers"] == ["ship", "post"]
    assert rules[0]["id"] != rule_id


def test_unknown_timer_id_is_400(client: TestClient, shop: SeededSubscriber) -> None:
    refused(client, shop, timerMessages=[timer(id="tmr_doesnotexist")])
    assert get_settings(client, shop)["timerMessages"] == []


def test_unknown_faq_rule_id_is_400(client: TestClient, shop: SeededSubscriber) -> None:
    settings_patch(client, shop, faqRules=[rule("ship")])
    refused(client, shop, faqRules=[rule("pay", id="faq_doesnotexist")])
    assert [r["triggers"] for r in get_settings(client, shop)["faqRules"]] == [["ship"]]


def test_id_of_another_accounts_item_is_400(client: TestClient, shop: SeededSubscriber) -> None:
    account = ok(client.post(f"{API}/accounts", json={"name": "Second"}, headers=shop.headers), 201)
    theirs = settings_patch(client, shop, account=account["id"], timerMessages=[timer("Theirs")])
    foreign_id = theirs["timerMessages"][0]["id"]
    refused(client, shop, timerMessages=[timer(id=foreign_id)])
    assert get_settings(client, shop)["timerMessages"] == []


# ---- nothing half-written -------------------------------------------------------------------


def test_refused_patch_changes_nothing(client: TestClient, shop: SeededSubscriber) -> None:
    refused(client, shop, welcomeMessage="Changed", welcomeDelay=60_001)
    refused(client, shop, botActive=True, faqEnabled=False, giveawayKeywords=[])
    assert get_settings(client, shop) == DEFAULTS


def test_patch_with_unknown_item_id_changes_nothing(
    client: TestClient, shop: SeededSubscriber
) -> None:
    before = settings_patch(client, shop, timerMessages=[timer("Kept")])
    refused(
        client,
        shop,
        welcomeMessage="Changed",
        botActive=True,
        timerMessages=[timer("Gone")],
        faqRules=[rule("ship", id="faq_doesnotexist")],
    )
    assert get_settings(client, shop) == before


def test_refused_start_raises_no_event(
    app: FastAPI, client: TestClient, shop: SeededSubscriber
) -> None:
    webhook_id = subscribe(client, shop, "bot.started", "bot.stopped")
    refused(client, shop, botActive=True, timerMessages=[timer(id="tmr_doesnotexist")])
    assert logged_types(client, shop, webhook_id) == []
    assert raised(app, "bot.started") == []


# ---- bot.started / bot.stopped ----------------------------------------------------------------


def test_bot_started_and_stopped_raised_only_on_a_real_change(
    client: TestClient, shop: SeededSubscriber
) -> None:
    webhook_id = subscribe(client, shop, "bot.started", "bot.stopped")
    settings_patch(client, shop, botActive=False)
    assert logged_types(client, shop, webhook_id) == []
    settings_patch(client, shop, botActive=True)
    settings_patch(client, shop, botActive=True)
    settings_patch(client, shop, welcomeDelay=0)
    assert logged_types(client, shop, webhook_id) == ["bot.started"]
    settings_patch(client, shop, botActive=False)
    settings_patch(client, shop, botActive=False)
    assert logged_types(client, shop, webhook_id) == ["bot.stopped", "bot.started"]
    settings_patch(client, shop, botActive=True)
    assert logged_types(client, shop, webhook_id) == ["bot.started", "bot.stopped", "bot.started"]


def test_bot_events_carry_account_and_time(
    app: FastAPI, client: TestClient, shop: SeededSubscriber
) -> None:
    subscribe(client, shop, "bot.started", "bot.stopped")
    settings_patch(client, shop, botActive=True)
    settings_patch(client, shop, botActive=False)
    expected = {"accountId": shop.account_id, "timestamp": "2026-03-02T09:30:00Z"}
    assert raised(app, "bot.started") == [expected]
    assert raised(app, "bot.stopped") == [expected]


def test_patch_answers_the_published_success_message_and_the_settings(
    client: TestClient, shop: SeededSubscriber
) -> None:
    # SPEC §3.3: the published openapi.yaml answers SuccessMessage {success, message}; clients
    # that read `data` get the full settings too.
    response = client.patch(f"{API}/settings", json={"welcomeDelay": 0}, headers=shop.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"success", "message", "data"}
    assert body["success"] is True
    assert body["message"] == "Settings updated"
    assert body["data"] == {**DEFAULTS, "welcomeDelay": 0}
