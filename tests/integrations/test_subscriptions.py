"""Event subscriptions of an integration: URL and slash-command rules, conflicts, list, delete."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from buzz.testing import SeededUser
from tests.integrations.helpers import (
    assert_bad_request,
    assert_error,
    make_integration,
    make_subscription,
    subscription_body,
    subscriptions_path,
)

EVENT_TYPES = [
    "MESSAGE_POSTED",
    "SLASH_COMMAND",
    "THREAD_CREATED",
    "USERS_JOINED_CHANNEL",
    "USERS_LEFT_CHANNEL",
]
NON_SLASH_EVENT_TYPES = [t for t in EVENT_TYPES if t != "SLASH_COMMAND"]
HOOK = "https://hooks.example.com/buzz"


@pytest.fixture
def integration_id(client: TestClient, alice: SeededUser) -> str:
    """An integration of Alice's."""
    integration_id: str = make_integration(client, alice)["id"]
    return integration_id


def subscriptions_of(
    client: TestClient, user: SeededUser, integration_id: str, **params: Any
) -> list[Any]:
    """The integration's subscriptions, as the list route answers them to `user`."""
    response = client.get(subscriptions_path(integration_id), params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    subscriptions: list[Any] = response.json()["subscriptions"]
    return subscriptions


def assert_refused(
    client: TestClient, user: SeededUser, integration_id: str, body: dict[str, Any], field: str
) -> None:
    """The create route answers 400 naming `field`, and writes nothing."""
    response = client.post(subscriptions_path(integration_id), json=body, headers=user.headers)
    assert_bad_request(response, field)
    assert subscriptions_of(client, user, integration_id) == []


def slash(command: str, url: str = HOOK) -> dict[str, Any]:
    return subscription_body(eventType="SLASH_COMMAND", url=url, slashCommand=command)


# --- the seed's sample -----------------------------------------------------------------------


def test_seed_sample_with_its_http_url_is_refused(
    client: TestClient, alice: SeededUser, integration_id: str
) -> None:
    sample = {
        "eventType": "SLASH_COMMAND",
        "url": "http:my.domain.com/buzz-integration/close-deal",
        "slashCommand": "close",
    }

    assert_refused(client, alice, integration_id, sample, "url")


def test_seed_sample_with_an_https_url_answers_200_with_the_seed_fields(
    client: TestClient, alice: SeededUser, integration_id: str
) -> None:
    sample = slash("close", url="https://my.domain.com/buzz-integration/close-deal")

    response = client.post(subscriptions_path(integration_id), json=sample, headers=alice.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    # The seed's fields, plus `active` (a disabled subscription says so, with its reason).
    assert set(body) == {"id", "eventType", "url", "slashCommand", "active"}
    assert body["active"] is True
    assert str(uuid.UUID(body["id"])) == body["id"]
    assert {key: body[key] for key in sample} == sample


# --- url ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/buzz",
        "ftp://hooks.example.com/buzz",
        "https://",
        "https:///path",
        "//hooks.example.com/x",
        "/buzz/hook",
        "hooks.example.com/buzz",
        "https:hooks.example.com/buzz",
        " https://hooks.example.com/buzz",
        "https://hooks.example.com/buzz ",
        "https://hooks.example.com/bu zz",
        "https://hooks.example.com/buzz\n",
        "https://user:pass@hooks.example.com/",
        "https://user@hooks.example.com/",
        "https://hooks.example.com/" + "x" * (2048 - len("https://hooks.example.com/") + 1),
        "",
    ],
    ids=[
        "http",
        "ftp",
        "no-host",
        "empty-host",
        "scheme-relative",
        "relative",
        "no-scheme",
        "no-slashes",
        "leading-space",
        "trailing-space",
        "inner-space",
        "trailing-newline",
        "user-info",
        "user-only",
        "2049-chars",
        "empty",
    ],
)
def test_url_that_is_not_an_absolute_https_url_is_refused(
    client: TestClient, alice: SeededUser, integration_id: str, url: str
) -> None:
    assert_refused(client, alice, integration_id, subscription_body(url=url), "url")


def test_url_is_required(client: TestClient, alice: SeededUser, integration_id: str) -> None:
    assert_refused(client, alice, integration_id, subscription_body(url=None), "url")


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/" + "x" * (2048 - len("https://hooks.example.com/")),
        "https://hooks.example.com:8443/path?q=1",
        "https://hooks.example.com",
        "https://hooks.example.com/path/@handle",
    ],
    ids=["2048-chars", "port-and-query", "no-path", "at-sign-in-path"],
)
def test_absolute_https_url_is_accepted_as_given(
    client: TestClient, alice: SeededUser, integration_id: str, url: str
) -> None:
    assert make_subscription(client, alice, integration_id, url=url)["url"] == url


# --- eventType ---------------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", ["MESSAGE", "message_posted", "", None])
def test_event_type_outside_the_five_is_refused(
    client: TestClient, alice: SeededUser, integration_id: str, event_type: str | None
) -> None:
    body = subscription_body(eventType=event_type)

    assert_refused(client, alice, integration_id, body, "eventType")


@pytest.mark.parametrize("event_type", NON_SLASH_EVENT_TYPES)
def test_each_non_slash_event_type_is_accepted_without_slash_command(
    client: TestClient, alice: SeededUser, integration_id: str, event_type: str
) -> None:
    subscription = make_subscription(client, alice, integration_id, eventType=event_type)

    assert subscription["eventType"] == event_type
    assert "slashCommand" not in subscription


# --- slashCommand ------------------------------------------------------------------------------


def test_slash_command_subscription_without_slash_command_is_refused(
    client: TestClient, alice: SeededUser, integration_id: str
) -> None:
    body = subscription_body(eventType="SLASH_COMMAND")

    assert_refused(client, alice, integration_id, body, "slashCommand")


def test_slash_command_subscription_with_null_slash_command_is_refused(
    client: TestClient, alice: SeededUser, integration_id: str
) -> None:
    body = {**subscription_body(eventType="SLASH_COMMAND"), "slashCommand": None}

    assert_refused(client, alice, integration_id, body, "slashCommand")


@pytest.mark.parametrize("event_type", NON_SLASH_EVENT_TYPES)
def test_slash_command_with_another_event_type_is_refused(
    client: TestClient, alice: SeededUser, integration_id: str, event_type: str
) -> None:
    body = subscription_body(eventType=event_type, slashCommand="close")

    assert_refused(client, alice, integration_id, body, "slashCommand")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("close", "close"),
        ("/close", "close"),
        ("/Close", "close"),
        ("CLOSE", "close"),
        ("deal_2-b", "deal_2-b"),
        ("/" + "x" * 32, "x" * 32),
        ("7", "7"),
    ],
)
def test_slash_command_is_stored_without_slash_in_lower_case(
    client: TestClient, alice: SeededUser, integration_id: str, given: str, stored: str
) -> None:
    created = make_subscription(
        client, alice, integration_id, eventType="SLASH_COMMAND", slashCommand=given
    )

    assert created["slashCommand"] == stored
    assert [s["slashCommand"] for s in subscriptions_of(client, alice, integration_id)] == [stored]


@pytest.mark.parametrize(
    "command",
    [
        "x" * 33,
        "/" + "x" * 33,
        "clo se",
        "close!",
        "/",
        "",
        "//close",
        "clöse",
        "close\n",
        " close",
    ],
    ids=[
        "33-chars",
        "slash-33-chars",
        "space",
        "bang",
        "slash-alone",
        "empty",
        "two-slashes",
        "non-ascii",
        "trailing-newline",
        "leading-space",
    ],
)
def test_slash_command_outside_the_allowed_characters_is_refused(
    client: TestClient, alice: SeededUser, integration_id: str, command: str
) -> None:
    assert_refused(client, alice, integration_id, slash(command), "slashCommand")


# --- duplicates --------------------------------------------------------------------------------


def test_the_same_subscription_twice_is_a_409(
    client: TestClient, alice: SeededUser, integration_id: str
) -> None:
    first = make_subscription(client, alice, integration_id)

    response = client.post(
        subscriptions_path(integration_id), json=subscription_body(), headers=alice.headers
    )

    assert_error(response, 409)
    assert subscriptions_of(client, alice, integration_id) == [first]


def test_slash_commands_that_normalize_alike_are_the_same_subscription(
    client: TestClient, alice: SeededUser, integration_id: str
) -> None:
    first = make_subscription(client, alice, integration_id, **slash("/close"))

    for again in ("close", "/CLOSE"):
        response = client.post(
            subscriptions_path(integration_id), json=slash(again), headers=alice.headers
        )
        assert_error(response, 409)
    assert subscriptions_of(client, alice, integration_id) == [first]


def test_another_slash_command_or_event_type_at_the_same_url_is_accepted(
    client: TestClient, alice: SeededUser, integration_id: str
) -> None:
    created = [
        make_subscription(
            client, alice, integration_id, eventType="SLASH_COMMAND", slashCommand=command
        )
        for command in ("close", "open")
    ]
    created.append(make_subscription(client, alice, integration_id, eventType="MESSAGE_POSTED"))

    assert {s["id"] for s in subscriptions_of(client, alice, integration_id)} == {
        s["id"] for s in created
    }


def test_the_same_subscription_on_two_integrations_is_accepted(
    client: TestClient, alice: SeededUser, integration_id: str
) -> None:
    other = make_integration(client, alice, name="Other")["id"]

    make_subscription(client, alice, integration_id)
    make_subscription(client, alice, other)

    assert len(subscriptions_of(client, alice, integration_id)) == 1
    assert len(subscriptions_of(client, alice, other)) == 1


# --- list and delete ---------------------------------------------------------------------------


def test_list_shows_every_subscription_with_slash_command_only_on_slash_ones(
    client: TestClient, alice: SeededUser, integration_id: str
) -> None:
    posted = make_subscription(client, alice, integration_id)
    command = make_subscription(
        client, alice, integration_id, eventType="SLASH_COMMAND", slashCommand="close"
    )

    response = client.get(subscriptions_path(integration_id), headers=alice.headers)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"subscriptions"}
    by_id = {s["id"]: s for s in body["subscriptions"]}
    assert by_id == {posted["id"]: posted, command["id"]: command}
    assert by_id[posted["id"]] == {
        "id": posted["id"],
        "eventType": "MESSAGE_POSTED",
        "url": "https://hooks.example.com/buzz/messages",
        "active": True,
    }
    assert by_id[command["id"]]["slashCommand"] == "close"


def test_list_of_an_integration_without_subscriptions_is_empty(
    client: TestClient, alice: SeededUser, integration_id: str
) -> None:
    assert subscriptions_of(client, alice, integration_id) == []


def test_deleted_subscription_is_gone_from_the_list(
    client: TestClient, alice: SeededUser, integration_id: str
) -> None:
    gone = make_subscription(client, alice, integration_id)
    kept = make_subscription(client, alice, integration_id, eventType="THREAD_CREATED")

    response = client.delete(
        f"{subscriptions_path(integration_id)}/{gone['id']}", headers=alice.headers
    )

    assert response.status_code == 204
    assert response.content == b""
    assert subscriptions_of(client, alice, integration_id) == [kept]


def test_deleted_subscription_can_be_created_again(
    client: TestClient, alice: SeededUser, integration_id: str
) -> None:
    gone = make_subscription(client, alice, integration_id)
    path = f"{subscriptions_path(integration_id)}/{gone['id']}"
    assert client.delete(path, headers=alice.headers).status_code == 204

    again = make_subscription(client, alice, integration_id)

    assert again["id"] != gone["id"]


@pytest.mark.parametrize("unknown", [str(uuid.uuid4()), "no-such-subscription"])
def test_deleting_an_unknown_subscription_is_404(
    client: TestClient, alice: SeededUser, integration_id: str, unknown: str
) -> None:
    response = client.delete(
        f"{subscriptions_path(integration_id)}/{unknown}", headers=alice.headers
    )

    assert_error(response, 404)


def test_deleting_a_subscription_twice_is_404_the_second_time(
    client: TestClient, alice: SeededUser, integration_id: str
) -> None:
    subscription = make_subscription(client, alice, integration_id)
    path = f"{subscriptions_path(integration_id)}/{subscription['id']}"

    assert client.delete(path, headers=alice.headers).status_code == 204
    assert_error(client.delete(path, headers=alice.headers), 404)


def test_subscription_of_another_integration_cannot_be_deleted_through_this_one(
    client: TestClient, alice: SeededUser, integration_id: str
) -> None:
    other = make_integration(client, alice, name="Other")["id"]
    theirs = make_subscription(client, alice, other)

    response = client.delete(
        f"{subscriptions_path(integration_id)}/{theirs['id']}", headers=alice.headers
    )

    assert_error(response, 404)
    assert subscriptions_of(client, alice, other) == [theirs]


@pytest.mark.parametrize("unknown", [str(uuid.uuid4()), "no-such-integration"])
def test_subscribing_an_unknown_integration_is_404(
    client: TestClient, alice: SeededUser, unknown: str
) -> None:
    response = client.post(
        subscriptions_path(unknown), json=subscription_body(), headers=alice.headers
    )

    assert_error(response, 404)


@pytest.mark.parametrize(("param", "value"), [("limit", 0), ("limit", 501), ("offset", -1)])
def test_subscription_list_refuses_limits_and_offsets_out_of_range(
    client: TestClient, alice: SeededUser, integration_id: str, param: str, value: int
) -> None:
    response = client.get(
        subscriptions_path(integration_id), params={param: value}, headers=alice.headers
    )

    assert_bad_request(response, param)


def test_subscription_list_pages_with_limit_and_offset(
    client: TestClient, alice: SeededUser, integration_id: str
) -> None:
    created = [
        make_subscription(client, alice, integration_id, eventType=t) for t in NON_SLASH_EVENT_TYPES
    ]

    pages = [
        [s["id"] for s in subscriptions_of(client, alice, integration_id, limit=3, offset=offset)]
        for offset in (0, 3)
    ]

    assert [len(page) for page in pages] == [3, 1]
    assert sorted(pages[0] + pages[1]) == sorted(s["id"] for s in created)
