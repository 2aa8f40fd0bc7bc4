"""SPEC §3.5: chat in, bot out — welcomes, FAQ replies, giveaway entries, timers, messages."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from buzz.clock import ManualClock
from buzz.delivery.models import Delivery
from buzz.testing import SeededSubscriber, run_due
from tests.buzzchat.helpers import API, chat, error, joined, ok, said, settings_patch, start_bot

T0 = "2026-03-02T09:30:00Z"


def bot_messages(client: TestClient, shop: SeededSubscriber, **params: Any) -> list[dict[str, Any]]:
    data = ok(client.get(f"{API}/messages", headers=shop.headers, params=params))
    assert data["count"] == len(data["messages"])
    messages: list[dict[str, Any]] = data["messages"]
    return messages


def texts(client: TestClient, shop: SeededSubscriber, **params: Any) -> list[str]:
    return [m["message"] for m in bot_messages(client, shop, **params)]


def entries(client: TestClient, shop: SeededSubscriber) -> list[str]:
    data = ok(client.get(f"{API}/giveaway/entries", headers=shop.headers))
    return [e["username"] for e in data["entries"]]


def subscribe(client: TestClient, shop: SeededSubscriber, *events: str) -> None:
    body = {"url": "https://hooks.example.com/buzzchat", "events": list(events)}
    ok(client.post(f"{API}/webhooks", json=body, headers=shop.headers), 201)


def raised(app: FastAPI, event_type: str) -> list[dict[str, Any]]:
    """The `data` of every queued event of this type, oldest first."""
    with app.state.database.session() as session:
        payloads = session.scalars(
            select(Delivery.payload).where(Delivery.event_type == event_type).order_by(Delivery.id)
        ).all()
    return [json.loads(p)["data"] for p in payloads]


def post_events(client: TestClient, shop: SeededSubscriber, events: list[Any]) -> Any:
    return client.post(f"{API}/chat/events", json={"events": events}, headers=shop.headers)


def faq_bot(client: TestClient, shop: SeededSubscriber, *rules: dict[str, Any]) -> list[str]:
    """A started bot with only FAQ replies on; returns the rule ids."""
    started = start_bot(client, shop, welcomeEnabled=False, faqRules=list(rules))
    return [r["id"] for r in started["faqRules"]]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# ---- welcome --------------------------------------------------------------------------------


def test_welcome_with_no_delay_is_sent_at_once(client: TestClient, shop: SeededSubscriber) -> None:
    start_bot(client, shop, welcomeDelay=0)
    chat(client, shop, joined("Amy"))
    [message] = bot_messages(client, shop)
    assert message["message"] == "Welcome to the stream, Amy!"
    assert message["kind"] == "welcome"
    assert message["status"] == "sent"
    assert message["id"].startswith("msg_")
    assert message["sendAt"] == message["sentAt"] == message["createdAt"] == T0


def test_welcome_with_60s_delay_is_sent_by_run_due_when_due(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop, welcomeDelay=60_000)
    chat(client, shop, joined("Amy"))
    [scheduled] = bot_messages(client, shop)
    assert scheduled["status"] == "scheduled"
    assert scheduled["sendAt"] == "2026-03-02T09:31:00Z"
    assert scheduled["sentAt"] is None

    clock.advance(milliseconds=59_999)
    assert run_due(app).messages == []
    assert bot_messages(client, shop)[0]["status"] == "scheduled"

    clock.advance(milliseconds=1)
    [sent] = run_due(app).messages
    assert (sent.id, sent.kind, sent.text) == (scheduled["id"], "welcome", scheduled["message"])
    [message] = bot_messages(client, shop)
    assert message["status"] == "sent"
    assert message["sentAt"] == "2026-03-02T09:31:00Z"
    assert run_due(app).messages == []


def test_username_placeholder_is_replaced_everywhere(
    client: TestClient, shop: SeededSubscriber
) -> None:
    start_bot(client, shop, welcomeDelay=0, welcomeMessage="Hi {username}! {username}, enjoy.")
    chat(client, shop, said("Bo_99", "hello"))
    assert texts(client, shop) == ["Hi Bo_99! Bo_99, enjoy."]


def test_each_username_is_welcomed_once_per_session_case_insensitively(
    client: TestClient, shop: SeededSubscriber
) -> None:
    start_bot(client, shop, welcomeDelay=0)
    chat(client, shop, joined("Amy"), said("amy", "hi"), joined("AMY"), joined("Ben"))
    chat(client, shop, said("aMy", "still here"))
    assert sorted(texts(client, shop)) == [
        "Welcome to the stream, Amy!",
        "Welcome to the stream, Ben!",
    ]


def test_messages_sent_together_are_listed_in_the_order_they_were_made(
    client: TestClient, shop: SeededSubscriber
) -> None:
    start_bot(client, shop, welcomeDelay=0, welcomeMessage="Hi {username}")
    names = ["Eve", "Dan", "Cat", "Ben", "Amy", "Fay"]
    chat(client, shop, *(joined(name) for name in names))
    assert texts(client, shop) == [f"Hi {name}" for name in names]


def test_viewers_are_welcomed_again_after_the_bot_restarts(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop, welcomeDelay=0)
    chat(client, shop, joined("Amy"))
    settings_patch(client, shop, botActive=False)
    clock.advance(seconds=1)
    start_bot(client, shop)
    chat(client, shop, joined("amy"))
    assert texts(client, shop) == ["Welcome to the stream, Amy!", "Welcome to the stream, amy!"]


def test_no_welcome_when_welcome_disabled(client: TestClient, shop: SeededSubscriber) -> None:
    start_bot(client, shop, welcomeDelay=0, welcomeEnabled=False)
    chat(client, shop, joined("Amy"), said("Ben", "hi"))
    assert bot_messages(client, shop) == []


def test_chat_is_ignored_while_the_bot_is_stopped(
    client: TestClient, shop: SeededSubscriber
) -> None:
    settings_patch(
        client,
        shop,
        welcomeDelay=0,
        giveawayEnabled=True,
        faqRules=[{"triggers": ["ship"], "reply": "Free shipping"}],
    )
    response = post_events(client, shop, [joined("Amy"), said("Ben", "ship? enter")])
    assert ok(response, 202) == {"accepted": 2, "botActive": False}
    assert bot_messages(client, shop) == []
    assert entries(client, shop) == []
    start_bot(client, shop)
    chat(client, shop, joined("Amy"))
    assert texts(client, shop) == ["Welcome to the stream, Amy!"]


def test_stopping_the_bot_cancels_a_scheduled_welcome(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop, welcomeDelay=60_000)
    chat(client, shop, joined("Amy"))
    settings_patch(client, shop, botActive=False)
    clock.advance(minutes=2)
    assert run_due(app).messages == []
    assert bot_messages(client, shop) == []
    start_bot(client, shop)
    clock.advance(minutes=2)
    assert run_due(app).messages == []


# ---- FAQ ------------------------------------------------------------------------------------


def test_faq_trigger_matches_inside_a_longer_word(
    client: TestClient, shop: SeededSubscriber
) -> None:
    faq_bot(client, shop, {"triggers": ["ship"], "reply": "We ship worldwide"})
    chat(client, shop, said("Amy", "Do you do international shipping?"))
    [reply] = bot_messages(client, shop)
    assert (reply["message"], reply["kind"], reply["status"]) == (
        "We ship worldwide",
        "faq",
        "sent",
    )


def test_faq_is_case_insensitive_by_default(client: TestClient, shop: SeededSubscriber) -> None:
    faq_bot(client, shop, {"triggers": ["Ship"], "reply": "We ship worldwide"})
    chat(client, shop, said("Amy", "SHIPPING COST?"))
    assert texts(client, shop) == ["We ship worldwide"]


def test_case_sensitive_rule_needs_the_exact_case(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    faq_bot(client, shop, {"triggers": ["PayPal"], "reply": "Yes, PayPal", "caseSensitive": True})
    chat(client, shop, said("Amy", "do you take paypal?"))
    assert bot_messages(client, shop) == []
    chat(client, shop, said("Amy", "do you take PayPal?"))
    assert texts(client, shop) == ["Yes, PayPal"]


def test_only_the_first_matching_rule_replies(client: TestClient, shop: SeededSubscriber) -> None:
    faq_bot(
        client,
        shop,
        {"triggers": ["size"], "reply": "Sizes S-XL"},
        {"triggers": ["ship"], "reply": "Ships in 2 days"},
        {"triggers": ["shipping"], "reply": "Free shipping"},
    )
    chat(client, shop, said("Amy", "shipping?"))
    assert texts(client, shop) == ["Ships in 2 days"]


def test_disabled_rule_is_skipped(app: FastAPI, client: TestClient, shop: SeededSubscriber) -> None:
    subscribe(client, shop, "message.received")
    _, second = faq_bot(
        client,
        shop,
        {"triggers": ["ship"], "reply": "Off", "enabled": False},
        {"triggers": ["shipping"], "reply": "Free shipping"},
    )
    chat(client, shop, said("Amy", "shipping?"))
    assert texts(client, shop) == ["Free shipping"]
    assert [e["ruleId"] for e in raised(app, "message.received")] == [second]


def test_no_reply_when_faq_disabled(client: TestClient, shop: SeededSubscriber) -> None:
    start_bot(
        client,
        shop,
        welcomeEnabled=False,
        faqEnabled=False,
        faqRules=[{"triggers": ["ship"], "reply": "Free shipping"}],
    )
    chat(client, shop, said("Amy", "shipping?"))
    assert bot_messages(client, shop) == []


def test_join_events_get_no_faq_reply(client: TestClient, shop: SeededSubscriber) -> None:
    faq_bot(client, shop, {"triggers": ["ship"], "reply": "Free shipping"})
    chat(client, shop, joined("shipper"))
    assert bot_messages(client, shop) == []


def test_faq_reply_waits_30s_per_rule_but_every_match_is_raised(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    subscribe(client, shop, "message.received")
    faq_bot(client, shop, {"triggers": ["ship"], "reply": "Free shipping"})
    chat(client, shop, said("Amy", "ship?"))
    clock.advance(seconds=29)
    chat(client, shop, said("Ben", "ship?"))
    assert texts(client, shop) == ["Free shipping"]
    clock.advance(seconds=1)
    chat(client, shop, said("Cat", "ship?"))
    assert texts(client, shop) == ["Free shipping", "Free shipping"]
    assert [e["username"] for e in raised(app, "message.received")] == ["Amy", "Ben", "Cat"]


def test_faq_cooldown_is_per_rule(client: TestClient, shop: SeededSubscriber) -> None:
    faq_bot(
        client,
        shop,
        {"triggers": ["ship"], "reply": "Free shipping"},
        {"triggers": ["pay"], "reply": "Cards and PayPal"},
    )
    chat(client, shop, said("Amy", "ship?"), said("Ben", "pay?"), said("Cat", "ship?"))
    assert sorted(texts(client, shop)) == ["Cards and PayPal", "Free shipping"]


def test_message_received_carries_the_match(
    app: FastAPI, client: TestClient, shop: SeededSubscriber
) -> None:
    subscribe(client, shop, "message.received")
    [rule_id] = faq_bot(client, shop, {"triggers": ["size", "Ship"], "reply": "Free shipping"})
    chat(client, shop, said("Amy", "Shipping to Canada?"), said("Ben", "no trigger here"))
    assert raised(app, "message.received") == [
        {
            "username": "Amy",
            "text": "Shipping to Canada?",
            "keyword": "Ship",
            "ruleId": rule_id,
            "accountId": shop.account_id,
        }
    ]


# ---- giveaway entries from chat -------------------------------------------------------------


def test_giveaway_keyword_enters_once_per_username(
    app: FastAPI, client: TestClient, shop: SeededSubscriber
) -> None:
    subscribe(client, shop, "giveaway.entry")
    start_bot(client, shop, welcomeEnabled=False, giveawayEnabled=True)
    chat(
        client, shop, said("Amy", "enter"), said("Amy", "ENTER please"), said("amy", "re-entering")
    )
    chat(client, shop, said("Ben", "hello"), said("Ben", "I want to Enter!"))
    assert entries(client, shop) == ["Amy", "Ben"]
    assert raised(app, "giveaway.entry") == [
        {"username": "Amy", "entryTime": T0, "accountId": shop.account_id},
        {"username": "Ben", "entryTime": T0, "accountId": shop.account_id},
    ]


def test_any_configured_giveaway_keyword_enters(client: TestClient, shop: SeededSubscriber) -> None:
    start_bot(client, shop, giveawayEnabled=True, giveawayKeywords=["!win", "Raffle"])
    chat(client, shop, said("Amy", "enter"), said("Ben", "!WIN"), said("Cat", "raffle time"))
    assert entries(client, shop) == ["Ben", "Cat"]


def test_no_entry_when_giveaway_disabled(client: TestClient, shop: SeededSubscriber) -> None:
    start_bot(client, shop, giveawayEnabled=False)
    chat(client, shop, said("Amy", "enter"))
    assert entries(client, shop) == []


# ---- timers ---------------------------------------------------------------------------------


def posted(app: FastAPI, client: TestClient, shop: SeededSubscriber) -> list[str]:
    """Run what is due, then the texts of every sent message, oldest first."""
    run_due(app)
    return texts(client, shop, status="sent")


def test_timer_posts_every_interval(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop, timerMessages=[{"message": "Follow us!", "intervalMinutes": 5}])
    clock.advance(minutes=4, seconds=59)
    assert posted(app, client, shop) == []
    clock.advance(seconds=1)
    assert posted(app, client, shop) == ["Follow us!"]
    assert posted(app, client, shop) == ["Follow us!"]
    clock.advance(minutes=5)
    assert posted(app, client, shop) == ["Follow us!", "Follow us!"]
    messages = bot_messages(client, shop)
    assert [m["kind"] for m in messages] == ["timer", "timer"]
    assert [m["sentAt"] for m in messages] == ["2026-03-02T09:35:00Z", "2026-03-02T09:40:00Z"]


def test_run_due_reports_timer_posts(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop, timerMessages=[{"message": "Follow us!", "intervalMinutes": 5}])
    clock.advance(minutes=5)
    [sent] = run_due(app).messages
    assert (sent.kind, sent.text, sent.account_id) == ("timer", "Follow us!", shop.account_id)
    assert sent.id == bot_messages(client, shop)[0]["id"]


def test_timers_keep_their_own_intervals(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(
        client,
        shop,
        timerMessages=[
            {"message": "Every 2", "intervalMinutes": 2},
            {"message": "Every 3", "intervalMinutes": 3},
        ],
    )
    for _ in range(6):
        clock.advance(minutes=1)
        run_due(app)
    sent = bot_messages(client, shop)
    assert sorted((m["sentAt"][11:16], m["message"]) for m in sent) == [
        ("09:32", "Every 2"),
        ("09:33", "Every 3"),
        ("09:34", "Every 2"),
        ("09:36", "Every 2"),
        ("09:36", "Every 3"),
    ]


def test_changing_timers_restarts_their_interval(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    started = start_bot(client, shop, timerMessages=[{"message": "Old", "intervalMinutes": 5}])
    clock.advance(minutes=3)
    timer_id = started["timerMessages"][0]["id"]
    settings_patch(
        client, shop, timerMessages=[{"id": timer_id, "message": "New", "intervalMinutes": 5}]
    )
    clock.advance(minutes=4)
    assert posted(app, client, shop) == []
    clock.advance(minutes=1)
    assert posted(app, client, shop) == ["New"]


def test_disabled_timer_posts_nothing(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(
        client,
        shop,
        timerMessages=[
            {"message": "Off", "intervalMinutes": 1, "enabled": False},
            {"message": "On", "intervalMinutes": 2},
        ],
    )
    clock.advance(minutes=2)
    assert posted(app, client, shop) == ["On"]


def test_no_timers_when_timers_disabled(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(
        client, shop, timerEnabled=False, timerMessages=[{"message": "Hi", "intervalMinutes": 1}]
    )
    clock.advance(minutes=10)
    assert posted(app, client, shop) == []
    settings_patch(client, shop, timerEnabled=True)
    clock.advance(minutes=1)
    assert posted(app, client, shop) == ["Hi"]
    settings_patch(client, shop, timerEnabled=False)
    clock.advance(minutes=5)
    assert posted(app, client, shop) == ["Hi"]


def test_no_timers_while_the_bot_is_stopped(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    settings_patch(client, shop, timerMessages=[{"message": "Hi", "intervalMinutes": 1}])
    clock.advance(minutes=5)
    assert posted(app, client, shop) == []
    start_bot(client, shop)
    settings_patch(client, shop, botActive=False)
    clock.advance(minutes=5)
    assert posted(app, client, shop) == []


# ---- message list and message.sent ------------------------------------------------------------


def test_message_list_filters_by_status_and_since_in_sending_order(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop, welcomeDelay=60_000)
    chat(client, shop, joined("Amy"))  # welcome due 09:31:00
    clock.advance(seconds=10)
    ok(client.post(f"{API}/messages/send", json={"message": "First"}, headers=shop.headers))
    clock.advance(seconds=10)
    ok(client.post(f"{API}/messages/send", json={"message": "Second"}, headers=shop.headers))
    welcome = "Welcome to the stream, Amy!"
    assert texts(client, shop) == ["First", "Second", welcome]
    assert texts(client, shop, status="sent") == ["First", "Second"]
    assert texts(client, shop, status="scheduled") == [welcome]
    assert texts(client, shop, since="2026-03-02T09:30:15Z") == ["Second", welcome]
    assert texts(client, shop, status="sent", since="2026-03-02T09:30:15Z") == ["Second"]
    assert texts(client, shop, since="2026-03-02T09:31:30Z") == []
    assert texts(client, shop, limit=2) == ["First", "Second"]
    assert texts(client, shop, limit=2, offset=2) == [welcome]


def test_message_list_rejects_bad_filters(client: TestClient, shop: SeededSubscriber) -> None:
    for params in ({"status": "cancelled"}, {"since": "yesterday"}, {"limit": 0}):
        error(
            client.get(f"{API}/messages", headers=shop.headers, params=params),
            400,
            "VALIDATION_ERROR",
        )


@pytest.mark.parametrize(
    "since", ["0.5", "1700000000", "-1", "2026-03-02", "2026-03-02T09:30:00", "true"]
)
def test_since_is_an_iso_8601_moment_with_its_offset_only(
    client: TestClient, shop: SeededSubscriber, since: str
) -> None:
    # Pydantic alone reads "0.5" as half a second after 1970 and "1700000000" as a Unix time.
    message = error(
        client.get(f"{API}/messages", headers=shop.headers, params={"since": since}),
        400,
        "VALIDATION_ERROR",
    )
    assert "since" in message


@pytest.mark.parametrize("since", ["2026-03-02T09:30:00Z", "2026-03-02T10:30:00+01:00"])
def test_since_takes_iso_8601_with_z_or_an_offset(
    client: TestClient, shop: SeededSubscriber, since: str
) -> None:
    ok(client.get(f"{API}/messages", headers=shop.headers, params={"since": since}))


def test_message_sent_is_raised_for_each_sent_message(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    subscribe(client, shop, "message.sent")
    start_bot(client, shop, welcomeDelay=1000, faqRules=[{"triggers": ["ship"], "reply": "Free"}])
    chat(client, shop, said("Amy", "ship?"))
    assert [e["kind"] for e in raised(app, "message.sent")] == ["faq"]
    clock.advance(seconds=1)
    run_due(app)
    faq, welcome = bot_messages(client, shop)
    assert raised(app, "message.sent") == [
        {
            "messageId": faq["id"],
            "message": "Free",
            "kind": "faq",
            "sentAt": T0,
            "accountId": shop.account_id,
        },
        {
            "messageId": welcome["id"],
            "message": "Welcome to the stream, Amy!",
            "kind": "welcome",
            "sentAt": iso(clock()),
            "accountId": shop.account_id,
        },
    ]


def test_a_calls_reactions_come_out_in_chat_order(
    app: FastAPI, client: TestClient, shop: SeededSubscriber
) -> None:
    subscribe(client, shop, "message.sent", "message.received", "giveaway.entry")
    start_bot(
        client,
        shop,
        welcomeDelay=0,
        giveawayEnabled=True,
        faqRules=[{"triggers": ["ship"], "reply": "Free shipping"}],
    )
    chat(
        client,
        shop,
        joined("Amy"),
        said("Ben", "ship? enter"),
        said("amy", "enter, and ship?"),
        said("Ben", "enter again"),
    )
    with app.state.database.session() as session:
        queued = session.execute(
            select(Delivery.event_type, Delivery.payload).order_by(Delivery.id)
        )
        story = [(kind, json.loads(payload)["data"]) for kind, payload in queued]
    assert [(kind, data.get("username") or data.get("message")) for kind, data in story] == [
        ("message.sent", "Welcome to the stream, Amy!"),
        ("message.sent", "Welcome to the stream, Ben!"),
        ("message.received", "Ben"),
        ("message.sent", "Free shipping"),  # the rule's one reply: its cooldown starts now
        ("giveaway.entry", "Ben"),
        ("message.received", "amy"),  # matched again, within the cooldown: raised, no reply
        ("giveaway.entry", "amy"),
    ]
    assert texts(client, shop) == [
        "Welcome to the stream, Amy!",
        "Welcome to the stream, Ben!",
        "Free shipping",
    ]
    assert entries(client, shop) == ["Ben", "amy"]


# ---- chat events validation -------------------------------------------------------------------


def test_hundred_events_are_accepted(client: TestClient, shop: SeededSubscriber) -> None:
    start_bot(client, shop)
    events = [joined(f"viewer{i}") for i in range(100)]
    assert ok(post_events(client, shop, events), 202) == {"accepted": 100, "botActive": True}


def test_more_than_100_events_or_none_is_400(client: TestClient, shop: SeededSubscriber) -> None:
    start_bot(client, shop, welcomeDelay=0)
    error(post_events(client, shop, [joined(f"v{i}") for i in range(101)]), 400, "VALIDATION_ERROR")
    error(post_events(client, shop, []), 400, "VALIDATION_ERROR")
    assert bot_messages(client, shop) == []


def test_message_event_needs_text(client: TestClient, shop: SeededSubscriber) -> None:
    start_bot(client, shop, welcomeDelay=0)
    for event in (
        {"type": "message", "username": "Amy"},
        {"type": "message", "username": "Amy", "text": ""},
        {"type": "message", "username": "Amy", "text": "   "},
    ):
        error(post_events(client, shop, [joined("Ben"), event]), 400, "VALIDATION_ERROR")
    assert bot_messages(client, shop) == []


def test_bad_chat_events_are_400(client: TestClient, shop: SeededSubscriber) -> None:
    for event in (
        {"type": "leave", "username": "Amy"},
        {"type": "join", "username": ""},
        {"type": "join", "username": "a" * 101},
        {"type": "message", "username": "Amy", "text": "x" * 2001},
        {"type": "join", "username": "Amy", "timestamp": "2026-03-02T09:30:00"},
        {"type": "join", "username": "Amy", "mood": "happy"},
    ):
        error(post_events(client, shop, [event]), 400, "VALIDATION_ERROR")
