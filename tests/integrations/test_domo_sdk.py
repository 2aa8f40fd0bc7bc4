"""Domo's own SDK, replayed as it sends (SPEC §2.3): every unset field as `null`, its token
fetched with `GET /oauth/token`, `Authorization: Bearer` capitalised."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from buzz.integrations.callback.schemas import BotMessage, BotText
from buzz.integrations.schemas import (
    Header,
    IntegrationCreate,
    RecoverRequest,
    SubscriptionCreate,
)
from buzz.platform.schemas import AddMembers, ChannelCreate, MessageCreate, ThreadCreate
from buzz.testing import SeededUser
from buzz.wire import NullMeansAbsent
from tests.integrations.helpers import INTEGRATIONS, assert_bad_request, make_channel

# Every Buzz request body: null means absent in each of them (SPEC §2.3).
BUZZ_BODIES: tuple[type[NullMeansAbsent], ...] = (
    IntegrationCreate,
    Header,
    SubscriptionCreate,
    ChannelCreate,
    ThreadCreate,
    AddMembers,
    MessageCreate,
    BotMessage,
    BotText,
    RecoverRequest,
)


def sdk_token(client: TestClient, user: SeededUser) -> dict[str, str]:
    """The SDK's token call, and the headers it then sends."""
    basic = base64.b64encode(f"{user.client_id}:{user.client_secret}".encode()).decode()
    response = client.get(
        "/oauth/token",
        params={"grant_type": "client_credentials", "scope": "buzz"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"] == "bearer"
    assert token["scope"] == "buzz"
    return {"Authorization": f"Bearer {token['access_token']}"}


def sdk_integration(scope: str, channel_ids: list[str] | None) -> dict[str, Any]:
    """The create-integration body exactly as the SDK serialises it."""
    return {
        "id": None,
        "name": "Sentiment Analyzer",
        "description": None,
        "scope": scope,
        "channelIds": channel_ids,
        "headers": None,
    }


def test_the_sdk_creates_an_integration_and_a_subscription_with_its_nulls(
    client: TestClient, alice: SeededUser
) -> None:
    headers = sdk_token(client, alice)

    created = client.post(
        INTEGRATIONS, json=sdk_integration("PUBLIC_CHANNELS", None), headers=headers
    )

    assert created.status_code == 200, created.text
    integration = created.json()
    assert integration["headers"] == []
    assert integration.get("description") is None
    assert integration.get("channelIds") is None
    subscription = client.post(
        f"{INTEGRATIONS}/{integration['id']}/subscriptions",
        json={
            "id": None,
            "eventType": "MESSAGE_POSTED",
            "url": "https://hooks.example.com/buzz",
            "slashCommand": None,
        },
        headers=headers,
    )
    assert subscription.status_code == 200, subscription.text
    assert subscription.json()["eventType"] == "MESSAGE_POSTED"
    assert subscription.json().get("slashCommand") is None
    listed = client.get(f"{INTEGRATIONS}/{integration['id']}/subscriptions", headers=headers)
    assert [s["id"] for s in listed.json()["subscriptions"]] == [subscription.json()["id"]]


def test_the_sdk_lists_its_channels_on_a_channel_list_integration(
    client: TestClient, alice: SeededUser
) -> None:
    channel = make_channel(client, alice, title="Deals")
    headers = sdk_token(client, alice)

    created = client.post(
        INTEGRATIONS, json=sdk_integration("CHANNEL_LIST", [channel]), headers=headers
    )

    assert created.status_code == 200, created.text
    assert created.json()["channelIds"] == [channel]


def test_a_null_where_the_rule_needs_a_value_is_still_refused(
    client: TestClient, alice: SeededUser
) -> None:
    headers = sdk_token(client, alice)

    # CHANNEL_LIST needs its channels: null means absent, and absent is refused.
    missing_channels = client.post(
        INTEGRATIONS, json=sdk_integration("CHANNEL_LIST", None), headers=headers
    )
    missing_name = client.post(
        INTEGRATIONS,
        json={**sdk_integration("PUBLIC_CHANNELS", None), "name": None},
        headers=headers,
    )
    integration = client.post(
        INTEGRATIONS, json=sdk_integration("PUBLIC_CHANNELS", None), headers=headers
    ).json()
    missing_command = client.post(
        f"{INTEGRATIONS}/{integration['id']}/subscriptions",
        json={
            "id": None,
            "eventType": "SLASH_COMMAND",
            "url": "https://hooks.example.com/",
            "slashCommand": None,
        },
        headers=headers,
    )

    assert_bad_request(missing_channels, "channelIds")
    assert_bad_request(missing_name, "name")
    assert_bad_request(missing_command, "slashCommand")


@pytest.mark.parametrize("model", BUZZ_BODIES, ids=lambda m: m.__name__)
def test_every_optional_field_of_a_buzz_body_takes_null_as_absent_and_says_so(
    model: type[BaseModel],
) -> None:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    for name, field in model.model_fields.items():
        key = field.alias or name
        options = schema["properties"][key].get("anyOf", [schema["properties"][key]])
        nullable = any(option.get("type") == "null" for option in options)
        # The document says null is accepted exactly where it is: on the optional fields.
        assert nullable is (key not in required), key
    for name, field in model.model_fields.items():
        if field.is_required():
            continue
        key = field.alias or name
        without = {k: v for k, v in _minimal(model).items() if k != key}
        absent = model.model_validate(without)
        given_null = model.model_validate({**without, key: None})
        assert getattr(given_null, name) == getattr(absent, name), key


def _minimal(model: type[BaseModel]) -> dict[str, Any]:
    """A valid body of `model` with only its required fields."""
    samples: dict[type[BaseModel], dict[str, Any]] = {
        IntegrationCreate: {"name": "n", "scope": "PUBLIC_CHANNELS"},
        Header: {"name": "x-key", "value": "v"},
        SubscriptionCreate: {"eventType": "MESSAGE_POSTED", "url": "https://h.example.com/"},
        ChannelCreate: {"title": "t"},
        ThreadCreate: {"title": "t"},
        AddMembers: {"userIds": [1]},
        MessageCreate: {"text": "hi"},
        BotMessage: {"content": {"text": "hi"}, "text": "hi"},
        BotText: {"text": "hi"},
        RecoverRequest: {"since": "2026-12-01T00:00:00Z"},
    }
    return samples[model]


def test_every_buzz_request_body_is_covered() -> None:
    """A new Buzz body must join BUZZ_BODIES (and so the rule above)."""

    def subclasses(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        return found.union(*(subclasses(c) for c in found))

    assert subclasses(NullMeansAbsent) == set(BUZZ_BODIES)
