"""SPEC §3.7: giveaway entries, fair picks without repeats, and new rounds."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from buzz.clock import ManualClock
from buzz.delivery.models import Delivery
from buzz.settings import Settings
from buzz.testing import SeededSubscriber, seed_subscriber
from tests.buzzchat.helpers import API, chat, error, ok, said, start_bot
from tests.conftest import app_for

ENTRIES = f"{API}/giveaway/entries"
PICK = f"{API}/giveaway/pick-winner"


def enter(client: TestClient, shop: SeededSubscriber, username: str, status: int = 201) -> Any:
    return ok(client.post(ENTRIES, json={"username": username}, headers=shop.headers), status)


def listed(client: TestClient, shop: SeededSubscriber, account: str | None = None) -> Any:
    params = {"account": account} if account else None
    data = ok(client.get(ENTRIES, headers=shop.headers, params=params))
    assert data["count"] == len(data["entries"])
    return data


def usernames(client: TestClient, shop: SeededSubscriber) -> list[str]:
    return [e["username"] for e in listed(client, shop)["entries"]]


def pick(client: TestClient, shop: SeededSubscriber, count: int | None = None) -> list[str]:
    body = None if count is None else {"count": count}
    winners: list[str] = ok(client.post(PICK, json=body, headers=shop.headers))["winners"]
    return winners


def pick_refused(client: TestClient, shop: SeededSubscriber, body: Any = None) -> str:
    return error(client.post(PICK, json=body, headers=shop.headers), 400, "VALIDATION_ERROR")


def clear(client: TestClient, shop: SeededSubscriber) -> Any:
    response = client.delete(ENTRIES, headers=shop.headers)
    assert response.status_code == 200, response.text
    return response.json()


def raised(app: FastAPI, event_type: str) -> list[dict[str, Any]]:
    """The `data` of every queued event of this type, oldest first."""
    with app.state.database.session() as session:
        payloads = session.scalars(
            select(Delivery.payload).where(Delivery.event_type == event_type).order_by(Delivery.id)
        ).all()
    return [json.loads(p)["data"] for p in payloads]


def subscribe(client: TestClient, shop: SeededSubscriber, *events: str) -> None:
    body = {"url": "https://hooks.example.com/buzzchat", "events": list(events)}
    ok(client.post(f"{API}/webhooks", json=body, headers=shop.headers), 201)


# ---- entries --------------------------------------------------------------------------------


def test_no_entries_at_first(client: TestClient, shop: SeededSubscriber) -> None:
    assert listed(client, shop) == {"entries": [], "count": 0}


def test_entries_are_listed_oldest_first_with_count(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    start_bot(client, shop, giveawayEnabled=True, welcomeEnabled=False)
    enter(client, shop, "Cat")
    clock.advance(seconds=10)
    chat(client, shop, said("Amy", "enter me"))
    clock.advance(seconds=10)
    enter(client, shop, "Ben")
    chat(
        client,
        shop,
        {
            "type": "message",
            "username": "Dan",
            "text": "enter",
            "timestamp": "2026-03-02T09:30:05Z",
        },
    )
    assert listed(client, shop) == {
        "entries": [
            {"username": "Cat", "timestamp": "2026-03-02T09:30:00Z"},
            {"username": "Dan", "timestamp": "2026-03-02T09:30:05Z"},
            {"username": "Amy", "timestamp": "2026-03-02T09:30:10Z"},
            {"username": "Ben", "timestamp": "2026-03-02T09:30:20Z"},
        ],
        "count": 4,
    }


def test_manual_entry_is_201_and_an_existing_username_is_200_unchanged(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    subscribe(client, shop, "giveaway.entry")
    assert enter(client, shop, "Amy") == {"username": "Amy", "timestamp": "2026-03-02T09:30:00Z"}
    clock.advance(minutes=1)
    assert enter(client, shop, "AMY", status=200) == {
        "username": "Amy",
        "timestamp": "2026-03-02T09:30:00Z",
    }
    assert usernames(client, shop) == ["Amy"]
    assert raised(app, "giveaway.entry") == [
        {"username": "Amy", "entryTime": "2026-03-02T09:30:00Z", "accountId": shop.account_id}
    ]


@pytest.mark.parametrize("body", [{}, {"username": ""}, {"username": "u" * 101}, {"username": 7}])
def test_bad_manual_entry_is_400(
    client: TestClient, shop: SeededSubscriber, body: dict[str, Any]
) -> None:
    error(client.post(ENTRIES, json=body, headers=shop.headers), 400, "VALIDATION_ERROR")
    assert usernames(client, shop) == []


def test_entries_belong_to_their_account(
    client: TestClient, shop: SeededSubscriber, other_shop: SeededSubscriber
) -> None:
    account = ok(client.post(f"{API}/accounts", json={"name": "Second"}, headers=shop.headers), 201)
    ok(
        client.post(
            ENTRIES,
            json={"username": "Amy"},
            headers=shop.headers,
            params={"account": account["id"]},
        ),
        201,
    )
    enter(client, shop, "Ben")
    assert [e["username"] for e in listed(client, shop, account["id"])["entries"]] == ["Amy"]
    assert usernames(client, shop) == ["Ben"]
    assert usernames(client, other_shop) == []


# ---- picking winners ----------------------------------------------------------------------


def test_pick_with_no_entries_is_400(client: TestClient, shop: SeededSubscriber) -> None:
    pick_refused(client, shop)
    pick_refused(client, shop, {"count": 1})


def test_pick_more_than_the_entries_is_400(client: TestClient, shop: SeededSubscriber) -> None:
    for name in ("Amy", "Ben"):
        enter(client, shop, name)
    pick_refused(client, shop, {"count": 3})
    assert sorted(pick(client, shop, 2)) == ["Amy", "Ben"]


@pytest.mark.parametrize("count", [0, 11, -1, "1", 1.0, None])
def test_bad_count_is_400(client: TestClient, shop: SeededSubscriber, count: Any) -> None:
    for name in ("Amy", "Ben"):
        enter(client, shop, name)
    pick_refused(client, shop, {"count": count})


def test_ten_winners_at_once(client: TestClient, shop: SeededSubscriber) -> None:
    names = [f"viewer{i}" for i in range(12)]
    for name in names:
        enter(client, shop, name)
    winners = pick(client, shop, 10)
    assert len(winners) == len(set(winners)) == 10
    assert set(winners) <= set(names)


def test_body_is_optional_and_count_defaults_to_1(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    for name in ("Amy", "Ben", "Cat"):
        enter(client, shop, name)
    clock.advance(minutes=3)
    data = ok(client.post(PICK, headers=shop.headers))
    assert len(data["winners"]) == 1
    assert data["winners"][0] in {"Amy", "Ben", "Cat"}
    assert data["timestamp"] == "2026-03-02T09:33:00Z"
    assert len(ok(client.post(PICK, json={}, headers=shop.headers))["winners"]) == 1


def test_a_winner_never_wins_twice_in_a_round(client: TestClient, shop: SeededSubscriber) -> None:
    names = {"Amy", "Ben", "Cat", "Dan"}
    for name in names:
        enter(client, shop, name)
    winners = [w for _ in names for w in pick(client, shop)]
    assert sorted(winners) == sorted(names)
    pick_refused(client, shop)
    assert set(usernames(client, shop)) == names


def test_pick_counts_only_entries_yet_to_win(client: TestClient, shop: SeededSubscriber) -> None:
    for name in ("Amy", "Ben", "Cat"):
        enter(client, shop, name)
    first = pick(client, shop, 2)
    pick_refused(client, shop, {"count": 2})
    [last] = pick(client, shop)
    assert sorted([*first, last]) == ["Amy", "Ben", "Cat"]


def test_winner_who_enters_again_cannot_win_again(
    client: TestClient, shop: SeededSubscriber
) -> None:
    enter(client, shop, "Amy")
    assert pick(client, shop) == ["Amy"]
    enter(client, shop, "amy", status=200)
    pick_refused(client, shop)


def test_giveaway_winner_is_raised(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    subscribe(client, shop, "giveaway.winner")
    for name in ("Amy", "Ben", "Cat"):
        enter(client, shop, name)
    clock.advance(seconds=30)
    winners = pick(client, shop, 2)
    assert raised(app, "giveaway.winner") == [
        {"winners": winners, "timestamp": "2026-03-02T09:30:30Z", "accountId": shop.account_id}
    ]
    pick_refused(client, shop, {"count": 2})
    assert len(raised(app, "giveaway.winner")) == 1


# ---- clearing -----------------------------------------------------------------------------


def test_clear_starts_a_new_round_where_winners_can_win_again(
    client: TestClient, shop: SeededSubscriber
) -> None:
    enter(client, shop, "Amy")
    assert pick(client, shop) == ["Amy"]
    assert clear(client, shop) == {"success": True, "message": "All entries cleared"}
    assert listed(client, shop) == {"entries": [], "count": 0}
    pick_refused(client, shop)
    enter(client, shop, "Amy")
    assert pick(client, shop) == ["Amy"]


def test_clear_of_an_empty_giveaway_succeeds(client: TestClient, shop: SeededSubscriber) -> None:
    assert clear(client, shop) == {"success": True, "message": "All entries cleared"}


def test_chat_entries_start_again_after_clear(client: TestClient, shop: SeededSubscriber) -> None:
    start_bot(client, shop, giveawayEnabled=True, welcomeEnabled=False)
    chat(client, shop, said("Amy", "enter"))
    clear(client, shop)
    chat(client, shop, said("Amy", "enter"), said("Ben", "enter"))
    assert usernames(client, shop) == ["Amy", "Ben"]


# ---- fairness -------------------------------------------------------------------------------


@pytest.fixture
def roomy_client(settings: Settings, clock: ManualClock) -> Iterator[TestClient]:
    """An app whose rate limit lets one test make a few thousand calls."""
    roomy = settings.model_copy(update={"rate_limit_per_minute": 100_000})
    with app_for(roomy, clock) as app, TestClient(app) as client:
        yield client


def test_single_picks_are_spread_over_every_entry(roomy_client: TestClient) -> None:
    """600 single picks from 3 entries: each expected 200 times (sd ~11.5); 100 is ~8.7 sd off."""
    app: FastAPI = roomy_client.app  # type: ignore[assignment]
    shop = seed_subscriber(app, name="Fair Shop")
    start_bot(roomy_client, shop, giveawayEnabled=True, welcomeEnabled=False)
    picked: Counter[str] = Counter()
    for _ in range(600):
        chat(roomy_client, shop, said("Amy", "enter"), said("Ben", "enter"), said("Cat", "enter"))
        picked.update(pick(roomy_client, shop))
        clear(roomy_client, shop)
    assert set(picked) == {"Amy", "Ben", "Cat"}
    assert sum(picked.values()) == 600
    assert min(picked.values()) >= 100, picked


# ---- Idempotency-Key -------------------------------------------------------------------------


def test_a_retried_pick_with_the_same_idempotency_key_returns_the_first_draw(
    app: FastAPI, client: TestClient, shop: SeededSubscriber
) -> None:
    subscribe(client, shop, "giveaway.winner")
    for name in ("Amy", "Ben", "Cat", "Dan", "Eve", "Fay"):
        enter(client, shop, name)
    headers = {**shop.headers, "Idempotency-Key": "draw-1"}

    first = ok(client.post(PICK, json={"count": 2}, headers=headers))
    retries = [ok(client.post(PICK, json={"count": 2}, headers=headers)) for _ in range(3)]

    assert retries == [first, first, first]
    assert len(raised(app, "giveaway.winner")) == 1  # drawn once, announced once
    # Those two won; four are left to draw from, whatever the retries did.
    assert len(pick(client, shop, 4)) == 4
    pick_refused(client, shop)
    # The same key with another count is a mistake, not a retry.
    message = error(client.post(PICK, json={"count": 1}, headers=headers), 400, "VALIDATION_ERROR")
    assert "Idempotency-Key" in message


def test_picks_without_a_key_or_with_new_keys_draw_again(
    client: TestClient, shop: SeededSubscriber
) -> None:
    for name in ("Amy", "Ben", "Cat"):
        enter(client, shop, name)
    first = ok(client.post(PICK, headers={**shop.headers, "Idempotency-Key": "a"}))
    second = ok(client.post(PICK, headers={**shop.headers, "Idempotency-Key": "b"}))
    third = pick(client, shop)
    assert len({*first["winners"], *second["winners"], *third}) == 3
