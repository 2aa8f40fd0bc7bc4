"""Accounts (SPEC §3.3): 1..10 per subscriber, exactly one active, `?account=` scoping."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from buzz.clock import ManualClock
from buzz.testing import SeededSubscriber
from tests.buzzchat.helpers import API, error, ok, settings_patch

DEFAULT_SETTINGS = {
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


def accounts(client: TestClient, shop: SeededSubscriber) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ok(client.get(f"{API}/accounts", headers=shop.headers))[
        "accounts"
    ]
    return found


def create(client: TestClient, shop: SeededSubscriber, name: str) -> dict[str, Any]:
    data: dict[str, Any] = ok(
        client.post(f"{API}/accounts", json={"name": name}, headers=shop.headers), 201
    )
    return data


def switch(client: TestClient, shop: SeededSubscriber, account_id: str) -> Any:
    return client.post(
        f"{API}/accounts/switch", json={"accountId": account_id}, headers=shop.headers
    )


def active_ids(client: TestClient, shop: SeededSubscriber) -> list[str]:
    return [a["id"] for a in accounts(client, shop) if a["isActive"]]


def test_a_new_subscriber_has_one_active_account(
    client: TestClient, shop: SeededSubscriber
) -> None:
    assert accounts(client, shop) == [
        {"id": shop.account_id, "name": "Sunny Shop", "isActive": True}
    ]
    assert shop.account_id.startswith("acc_")


def test_created_account_is_inactive_and_listed_oldest_first(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    clock.advance(seconds=1)
    second = create(client, shop, "Evening stream")
    clock.advance(seconds=1)
    third = create(client, shop, "Weekend stream")
    assert set(second) == {"id", "name", "isActive"}
    assert second["id"].startswith("acc_")
    assert second["isActive"] is False
    assert [a["id"] for a in accounts(client, shop)] == [shop.account_id, second["id"], third["id"]]
    assert active_ids(client, shop) == [shop.account_id]


def test_account_name_is_trimmed(client: TestClient, shop: SeededSubscriber) -> None:
    assert create(client, shop, "  Late show  ")["name"] == "Late show"


def test_fifty_character_name_is_accepted(client: TestClient, shop: SeededSubscriber) -> None:
    assert create(client, shop, "n" * 50)["name"] == "n" * 50


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "n" * 51},
        {},
        {"name": None},
        {"name": 7},
        {"name": ["a"]},
        {"name": "ok", "isActive": True},
    ],
    ids=["empty", "blank", "51-chars", "missing", "null", "number", "list", "unknown-field"],
)
def test_invalid_account_bodies_are_400(
    client: TestClient, shop: SeededSubscriber, body: dict[str, Any]
) -> None:
    response = client.post(f"{API}/accounts", json=body, headers=shop.headers)
    error(response, 400, "VALIDATION_ERROR")
    assert len(accounts(client, shop)) == 1


def test_new_account_has_default_settings(client: TestClient, shop: SeededSubscriber) -> None:
    settings_patch(client, shop, botActive=True, welcomeDelay=0)
    second = create(client, shop, "Second")
    data = ok(client.get(f"{API}/settings", params={"account": second["id"]}, headers=shop.headers))
    assert data == DEFAULT_SETTINGS


def test_at_most_ten_accounts(client: TestClient, shop: SeededSubscriber) -> None:
    for n in range(9):
        create(client, shop, f"Stream {n}")
    response = client.post(f"{API}/accounts", json={"name": "Eleventh"}, headers=shop.headers)
    error(response, 400, "VALIDATION_ERROR")
    assert len(accounts(client, shop)) == 10


def test_deleting_frees_a_slot(client: TestClient, shop: SeededSubscriber) -> None:
    created = [create(client, shop, f"Stream {n}") for n in range(9)]
    ok(client.delete(f"{API}/accounts/{created[0]['id']}", headers=shop.headers))
    create(client, shop, "Tenth again")
    assert len(accounts(client, shop)) == 10


def test_switch_makes_exactly_that_account_active(
    client: TestClient, shop: SeededSubscriber
) -> None:
    second = create(client, shop, "Second")
    third = create(client, shop, "Third")
    switched = ok(switch(client, shop, second["id"]))
    assert switched == {"id": second["id"], "name": "Second", "isActive": True}
    assert active_ids(client, shop) == [second["id"]]
    ok(switch(client, shop, third["id"]))
    assert active_ids(client, shop) == [third["id"]]


def test_switching_to_the_active_account_keeps_it_active(
    client: TestClient, shop: SeededSubscriber
) -> None:
    create(client, shop, "Second")
    assert ok(switch(client, shop, shop.account_id))["isActive"] is True
    assert active_ids(client, shop) == [shop.account_id]


def test_switch_to_unknown_account_is_404(client: TestClient, shop: SeededSubscriber) -> None:
    assert error(switch(client, shop, "acc_nope"), 404, "NOT_FOUND") == "Account not found"
    assert active_ids(client, shop) == [shop.account_id]


def test_switch_without_account_id_is_400(client: TestClient, shop: SeededSubscriber) -> None:
    for body in ({}, {"accountId": ""}, {"accountId": None}, {"accountId": 5}):
        response = client.post(f"{API}/accounts/switch", json=body, headers=shop.headers)
        error(response, 400, "VALIDATION_ERROR")


def test_snake_case_body_field_is_an_unknown_field(
    client: TestClient, shop: SeededSubscriber
) -> None:
    second = create(client, shop, "Second")
    response = client.post(
        f"{API}/accounts/switch", json={"account_id": second["id"]}, headers=shop.headers
    )
    error(response, 400, "VALIDATION_ERROR")
    assert active_ids(client, shop) == [shop.account_id]


def test_routes_without_account_param_use_the_active_account(
    client: TestClient, shop: SeededSubscriber
) -> None:
    second = create(client, shop, "Second")
    ok(switch(client, shop, second["id"]))
    settings_patch(client, shop, welcomeMessage="Hi from second, {username}")
    seen = ok(client.get(f"{API}/settings", params={"account": second["id"]}, headers=shop.headers))
    assert seen["welcomeMessage"] == "Hi from second, {username}"
    first = ok(
        client.get(f"{API}/settings", params={"account": shop.account_id}, headers=shop.headers)
    )
    assert first["welcomeMessage"] == DEFAULT_SETTINGS["welcomeMessage"]


def test_account_param_scopes_settings_between_two_accounts(
    client: TestClient, shop: SeededSubscriber
) -> None:
    second = create(client, shop, "Second")
    settings_patch(client, shop, account=second["id"], welcomeDelay=0, giveawayEnabled=True)
    settings_patch(client, shop, account=shop.account_id, welcomeDelay=1234)
    a = ok(client.get(f"{API}/settings", headers=shop.headers))
    b = ok(client.get(f"{API}/settings", params={"account": second["id"]}, headers=shop.headers))
    assert (a["welcomeDelay"], a["giveawayEnabled"]) == (1234, False)
    assert (b["welcomeDelay"], b["giveawayEnabled"]) == (0, True)
    assert active_ids(client, shop) == [shop.account_id]


def test_unknown_account_param_is_404(client: TestClient, shop: SeededSubscriber) -> None:
    response = client.get(f"{API}/settings", params={"account": "acc_nope"}, headers=shop.headers)
    assert error(response, 404, "NOT_FOUND") == "Account not found"


def test_delete_inactive_account(client: TestClient, shop: SeededSubscriber) -> None:
    second = create(client, shop, "Second")
    response = client.delete(f"{API}/accounts/{second['id']}", headers=shop.headers)
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Account deleted"}
    assert [a["id"] for a in accounts(client, shop)] == [shop.account_id]
    gone = client.get(f"{API}/settings", params={"account": second["id"]}, headers=shop.headers)
    assert error(gone, 404, "NOT_FOUND") == "Account not found"


def test_delete_active_account_is_400(client: TestClient, shop: SeededSubscriber) -> None:
    create(client, shop, "Second")
    response = client.delete(f"{API}/accounts/{shop.account_id}", headers=shop.headers)
    error(response, 400, "VALIDATION_ERROR")
    assert active_ids(client, shop) == [shop.account_id]


def test_delete_the_only_account_is_400(client: TestClient, shop: SeededSubscriber) -> None:
    response = client.delete(f"{API}/accounts/{shop.account_id}", headers=shop.headers)
    error(response, 400, "VALIDATION_ERROR")
    assert len(accounts(client, shop)) == 1


def test_delete_unknown_account_is_404(client: TestClient, shop: SeededSubscriber) -> None:
    response = client.delete(f"{API}/accounts/acc_nope", headers=shop.headers)
    assert error(response, 404, "NOT_FOUND") == "Account not found"


def test_previously_active_account_can_be_deleted_after_a_switch(
    client: TestClient, shop: SeededSubscriber
) -> None:
    second = create(client, shop, "Second")
    ok(switch(client, shop, second["id"]))
    ok(client.delete(f"{API}/accounts/{shop.account_id}", headers=shop.headers))
    assert accounts(client, shop) == [{"id": second["id"], "name": "Second", "isActive": True}]
    assert ok(client.get(f"{API}/settings", headers=shop.headers)) == DEFAULT_SETTINGS


def test_switch_answers_the_published_success_message_and_the_account(
    client: TestClient, shop: SeededSubscriber
) -> None:
    # SPEC §3.3: the published openapi.yaml answers SuccessMessage {success, message}; clients
    # that read `data` get the account too.
    second = create(client, shop, "Second")
    body = switch(client, shop, second["id"]).json()
    assert set(body) == {"success", "message", "data"}
    assert body["success"] is True
    assert body["message"] == "Switched to account Second"
    assert body["data"]["id"] == second["id"]
