"""BuzzChat webhooks as a resource (SPEC §3.9): create, read, update, delete, their limits and
rules, the secret shown once, rotation's answer, and another subscriber's webhook being 404."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from buzz.clock import ManualClock
from buzz.testing import SeededSubscriber
from tests.buzzchat.helpers import API, error, ok

HOOK_URL = "https://example.com/webhooks/buzzchat"
SIX_EVENTS = [
    "giveaway.entry",
    "giveaway.winner",
    "message.sent",
    "message.received",
    "bot.started",
    "bot.stopped",
]
NOW = "2026-03-02T09:30:00Z"  # the `clock` fixture's time
SHOWN_FIELDS = {
    "id",
    "url",
    "events",
    "description",
    "active",
    "disabledReason",
    "createdAt",
    "lastTriggeredAt",
}


def create(client: TestClient, shop: SeededSubscriber, **fields: Any) -> dict[str, Any]:
    """POST /webhooks (seed sample by default) → the created webhook, with its secret."""
    body = {"url": HOOK_URL, "events": ["giveaway.entry", "giveaway.winner"], **fields}
    created: dict[str, Any] = ok(
        client.post(f"{API}/webhooks", json=body, headers=shop.headers), 201
    )
    return created


def refused(client: TestClient, shop: SeededSubscriber, body: dict[str, Any]) -> str:
    """POST /webhooks with `body`, which must be a 400 VALIDATION_ERROR; its message."""
    return error(
        client.post(f"{API}/webhooks", json=body, headers=shop.headers), 400, "VALIDATION_ERROR"
    )


def listed(client: TestClient, shop: SeededSubscriber) -> list[dict[str, Any]]:
    hooks: list[dict[str, Any]] = ok(client.get(f"{API}/webhooks", headers=shop.headers))[
        "webhooks"
    ]
    return hooks


# --- create ---------------------------------------------------------------------------------


def test_seed_sample_answers_201_with_the_seed_fields_and_a_secret(
    client: TestClient, shop: SeededSubscriber
) -> None:
    hook = create(client, shop)
    assert set(hook) == SHOWN_FIELDS | {"secret"}
    assert hook["id"].startswith("wh_")
    assert hook["url"] == HOOK_URL
    assert hook["events"] == ["giveaway.entry", "giveaway.winner"]
    assert hook["active"] is True
    assert hook["disabledReason"] is None
    assert hook["description"] is None
    assert hook["createdAt"] == NOW
    assert hook["lastTriggeredAt"] is None
    assert hook["secret"].startswith("whsec_")


def test_secret_is_a_standard_webhooks_secret_of_32_random_bytes(
    client: TestClient, shop: SeededSubscriber
) -> None:
    first, second = create(client, shop)["secret"], create(client, shop)["secret"]
    assert first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    Webhook(first)  # standardwebhooks accepts it as a signing secret


def test_description_is_kept_trimmed_up_to_500_chars(
    client: TestClient, shop: SeededSubscriber
) -> None:
    assert create(client, shop, description="  Zapier: new entries  ")["description"] == (
        "Zapier: new entries"
    )
    assert create(client, shop, description="d" * 500)["description"] == "d" * 500
    refused(client, shop, {"url": HOOK_URL, "events": ["bot.started"], "description": "d" * 501})


def test_all_six_events_are_accepted(client: TestClient, shop: SeededSubscriber) -> None:
    assert create(client, shop, events=SIX_EVENTS)["events"] == SIX_EVENTS


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/webhooks",
        "http:my.domain.com",
        "https://user:secret@example.com/webhooks",
        "https://example.com/webhooks#part",
        "example.com/webhooks",
        "https://",
        "ftp://example.com/webhooks",
        "",
    ],
)
def test_url_that_is_not_a_plain_https_url_is_refused(
    client: TestClient, shop: SeededSubscriber, url: str
) -> None:
    refused(client, shop, {"url": url, "events": ["giveaway.entry"]})


@pytest.mark.parametrize(
    ("events", "why"),
    [
        (["giveaway.entry", "order.created"], "unknown event"),
        (["webhook.test"], "the test event is not subscribable"),
        (["Giveaway.Entry"], "event names are exact"),
        (["giveaway.entry", "giveaway.entry"], "duplicate"),
        ([], "no events"),
        ([*SIX_EVENTS, "giveaway.entry"], "seven events (six at most)"),
        ([*SIX_EVENTS, "webhook.test"], "seven events (six at most)"),
        ("giveaway.entry", "a string, not a list"),
    ],
)
def test_events_must_be_one_to_six_distinct_of_the_seeds_six(
    client: TestClient, shop: SeededSubscriber, events: Any, why: str
) -> None:
    refused(client, shop, {"url": HOOK_URL, "events": events})


@pytest.mark.parametrize(
    "body",
    [
        {"url": HOOK_URL},
        {"events": ["giveaway.entry"]},
        {"url": HOOK_URL, "events": ["giveaway.entry"], "secret": "whsec_mine"},
        {"url": HOOK_URL, "events": ["giveaway.entry"], "description": None},
        {"url": HOOK_URL, "events": ["giveaway.entry"], "active": False},
    ],
)
def test_missing_unknown_or_null_fields_are_refused(
    client: TestClient, shop: SeededSubscriber, body: dict[str, Any]
) -> None:
    refused(client, shop, body)
    assert listed(client, shop) == []


def test_ten_webhooks_are_allowed_and_the_eleventh_is_refused(
    client: TestClient, shop: SeededSubscriber, other_shop: SeededSubscriber
) -> None:
    hooks = [create(client, shop, url=f"{HOOK_URL}/{n}") for n in range(10)]
    refused(client, shop, {"url": f"{HOOK_URL}/10", "events": ["giveaway.entry"]})
    assert len(listed(client, shop)) == 10
    create(client, other_shop)  # the limit is per subscriber
    ok(client.delete(f"{API}/webhooks/{hooks[0]['id']}", headers=shop.headers))
    create(client, shop, url=f"{HOOK_URL}/10")


# --- read -----------------------------------------------------------------------------------


def test_list_shows_the_subscribers_webhooks_oldest_first_without_secrets(
    client: TestClient, shop: SeededSubscriber, other_shop: SeededSubscriber, clock: ManualClock
) -> None:
    first = create(client, shop, url=f"{HOOK_URL}/1")
    clock.advance(seconds=1)
    second = create(client, shop, url=f"{HOOK_URL}/2", events=["bot.started"])
    create(client, other_shop)
    hooks = listed(client, shop)
    assert hooks == [
        {k: v for k, v in first.items() if k != "secret"},
        {k: v for k, v in second.items() if k != "secret"},
    ]
    assert all("secret" not in hook for hook in hooks)


def test_get_shows_the_webhook_without_its_secret(
    client: TestClient, shop: SeededSubscriber
) -> None:
    created = create(client, shop, description="CRM sync")
    shown = ok(client.get(f"{API}/webhooks/{created['id']}", headers=shop.headers))
    assert set(shown) == SHOWN_FIELDS
    assert shown == {k: v for k, v in created.items() if k != "secret"}


def test_unknown_webhook_is_404(client: TestClient, shop: SeededSubscriber) -> None:
    error(client.get(f"{API}/webhooks/wh_nope", headers=shop.headers), 404, "NOT_FOUND")
    error(client.delete(f"{API}/webhooks/wh_nope", headers=shop.headers), 404, "NOT_FOUND")


def test_new_webhook_has_an_empty_delivery_log(client: TestClient, shop: SeededSubscriber) -> None:
    hook = create(client, shop)
    shown = ok(client.get(f"{API}/webhooks/{hook['id']}/deliveries", headers=shop.headers))
    assert shown == {"deliveries": [], "next": None}
    error(
        client.get(
            f"{API}/webhooks/{hook['id']}/deliveries/00000000-0000-0000-0000-000000000000",
            headers=shop.headers,
        ),
        404,
        "NOT_FOUND",
    )


# --- update ---------------------------------------------------------------------------------


def patch(
    client: TestClient, shop: SeededSubscriber, hook_id: str, **fields: Any
) -> dict[str, Any]:
    updated: dict[str, Any] = ok(
        client.patch(f"{API}/webhooks/{hook_id}", json=fields, headers=shop.headers)
    )
    return updated


def test_patch_changes_the_url_only(client: TestClient, shop: SeededSubscriber) -> None:
    hook = create(client, shop, description="keep me")
    updated = patch(client, shop, hook["id"], url="https://hooks.example.org/new")
    assert updated["url"] == "https://hooks.example.org/new"
    assert updated["events"] == hook["events"]
    assert updated["description"] == "keep me"
    assert "secret" not in updated
    shown = ok(client.get(f"{API}/webhooks/{hook['id']}", headers=shop.headers))
    assert shown == updated


def test_patch_replaces_the_events_as_in_the_seed(
    client: TestClient, shop: SeededSubscriber
) -> None:
    hook = create(client, shop)
    updated = patch(
        client,
        shop,
        hook["id"],
        events=["giveaway.entry", "giveaway.winner", "bot.started"],
        active=True,
    )
    assert updated["events"] == ["giveaway.entry", "giveaway.winner", "bot.started"]
    assert updated["active"] is True
    assert updated["url"] == HOOK_URL


def test_patch_changes_the_description(client: TestClient, shop: SeededSubscriber) -> None:
    hook = create(client, shop)
    assert patch(client, shop, hook["id"], description="Zapier")["description"] == "Zapier"


def test_patch_active_false_switches_off_and_true_back_on(
    client: TestClient, shop: SeededSubscriber
) -> None:
    hook = create(client, shop)
    off = patch(client, shop, hook["id"], active=False)
    assert off["active"] is False
    on = patch(client, shop, hook["id"], active=True)
    assert on["active"] is True
    assert on["disabledReason"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"url": "http://example.com/webhooks"},
        {"url": "http:my.domain.com"},
        {"events": []},
        {"events": ["order.created"]},
        {"events": ["bot.started", "bot.started"]},
        {"events": [*SIX_EVENTS, "bot.started"]},
        {"active": "false"},
        {"active": 0},
        {"active": None},
        {"url": None},
        {"secret": "whsec_mine"},
        {"description": "d" * 501},
    ],
)
def test_patch_with_an_invalid_field_is_refused_and_changes_nothing(
    client: TestClient, shop: SeededSubscriber, body: dict[str, Any]
) -> None:
    hook = create(client, shop)
    error(
        client.patch(f"{API}/webhooks/{hook['id']}", json=body, headers=shop.headers),
        400,
        "VALIDATION_ERROR",
    )
    shown = ok(client.get(f"{API}/webhooks/{hook['id']}", headers=shop.headers))
    assert shown == {k: v for k, v in hook.items() if k != "secret"}


# --- delete ---------------------------------------------------------------------------------


def test_delete_answers_200_and_the_webhook_is_gone(
    client: TestClient, shop: SeededSubscriber
) -> None:
    hook = create(client, shop)
    response = client.delete(f"{API}/webhooks/{hook['id']}", headers=shop.headers)
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Webhook deleted"}
    error(client.get(f"{API}/webhooks/{hook['id']}", headers=shop.headers), 404, "NOT_FOUND")
    error(client.delete(f"{API}/webhooks/{hook['id']}", headers=shop.headers), 404, "NOT_FOUND")
    assert listed(client, shop) == []


# --- rotate-secret --------------------------------------------------------------------------


def test_rotate_secret_answers_a_new_secret_and_when_the_old_one_stops(
    client: TestClient, shop: SeededSubscriber
) -> None:
    hook = create(client, shop)
    rotated = ok(client.post(f"{API}/webhooks/{hook['id']}/rotate-secret", headers=shop.headers))
    assert set(rotated) == {"id", "secret", "previousSecretExpiresAt"}
    assert rotated["id"] == hook["id"]
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != hook["secret"]
    assert rotated["previousSecretExpiresAt"] == "2026-03-03T09:30:00Z"
    assert "secret" not in ok(client.get(f"{API}/webhooks/{hook['id']}", headers=shop.headers))


# --- who may see it -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PATCH", "", {"active": False}),
        ("DELETE", "", None),
        ("POST", "/test", None),
        ("POST", "/rotate-secret", None),
        ("GET", "/deliveries", None),
    ],
)
def test_another_subscribers_webhook_is_404_and_left_alone(
    client: TestClient,
    shop: SeededSubscriber,
    other_shop: SeededSubscriber,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    hook = create(client, shop)
    response = client.request(
        method, f"{API}/webhooks/{hook['id']}{suffix}", json=body, headers=other_shop.headers
    )
    error(response, 404, "NOT_FOUND")
    assert listed(client, shop) == [{k: v for k, v in hook.items() if k != "secret"}]
    assert listed(client, other_shop) == []


def test_another_subscribers_delivery_is_404(
    client: TestClient, shop: SeededSubscriber, other_shop: SeededSubscriber
) -> None:
    hook = create(client, shop)
    ok(client.post(f"{API}/giveaway/entries", json={"username": "amy"}, headers=shop.headers), 201)
    deliveries = ok(client.get(f"{API}/webhooks/{hook['id']}/deliveries", headers=shop.headers))
    delivery_id = deliveries["deliveries"][0]["id"]
    path = f"{API}/webhooks/{hook['id']}/deliveries/{delivery_id}"
    error(client.get(path, headers=other_shop.headers), 404, "NOT_FOUND")
    error(client.post(f"{path}/redeliver", headers=other_shop.headers), 404, "NOT_FOUND")
    # Nor through a webhook of their own.
    theirs = create(client, other_shop)
    error(
        client.get(
            f"{API}/webhooks/{theirs['id']}/deliveries/{delivery_id}", headers=other_shop.headers
        ),
        404,
        "NOT_FOUND",
    )


def test_webhooks_need_a_key_and_the_business_tier(
    client: TestClient, free_shop: SeededSubscriber, pro_shop: SeededSubscriber
) -> None:
    body = {"url": HOOK_URL, "events": ["giveaway.entry"]}
    error(client.post(f"{API}/webhooks", json=body), 401, "INVALID_API_KEY")
    for lower in (free_shop, pro_shop):
        error(
            client.post(f"{API}/webhooks", json=body, headers=lower.headers),
            403,
            "INSUFFICIENT_TIER",
        )


def test_webhooks_are_served_at_v1_too(client: TestClient, shop: SeededSubscriber) -> None:
    body = {"url": HOOK_URL, "events": ["giveaway.entry"]}
    created = ok(client.post("/v1/webhooks", json=body, headers=shop.headers), 201)
    assert listed(client, shop)[0]["id"] == created["id"]
    assert (
        ok(client.get(f"/v1/webhooks/{created['id']}", headers=shop.headers))["id"]
        == (created["id"])
    )


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"offset": -1}])
def test_delivery_log_page_outside_its_bounds_is_refused(
    client: TestClient, shop: SeededSubscriber, params: dict[str, int]
) -> None:
    hook = create(client, shop)
    response = client.get(
        f"{API}/webhooks/{hook['id']}/deliveries", params=params, headers=shop.headers
    )
    error(response, 400, "VALIDATION_ERROR")


def test_test_to_a_private_address_is_refused_by_the_target_guard(
    client: TestClient, shop: SeededSubscriber
) -> None:
    """Private targets are not allowed by default (SPEC §4.4): the test reports it, not sent."""
    hook = create(client, shop, url="https://127.0.0.1:9/hook")
    result = ok(client.post(f"{API}/webhooks/{hook['id']}/test", headers=shop.headers))
    assert result["delivered"] is False
    assert "responseCode" not in result  # no HTTP answer: absent, never null (the contract)
    assert result["error"]
    [logged] = ok(client.get(f"{API}/webhooks/{hook['id']}/deliveries", headers=shop.headers))[
        "deliveries"
    ]
    assert logged["eventType"] == "webhook.test"
    assert logged["status"] == "failed"
