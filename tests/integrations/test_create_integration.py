"""Creating a Buzz integration: the seed's sample, and every rule of SPEC §2.3."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from buzz.testing import SeededUser
from tests.integrations.helpers import (
    INTEGRATIONS,
    assert_bad_request,
    integration_body,
    make_channel,
    make_integration,
    make_thread,
    visible_ids,
)


def assert_refused(client: TestClient, user: SeededUser, body: dict[str, Any], field: str) -> None:
    """The create route answers 400 naming `field`, and writes nothing."""
    response = client.post(INTEGRATIONS, json=body, headers=user.headers)
    assert_bad_request(response, field)
    assert visible_ids(client, user) == []


def header(name: str = "x-api-key", value: str = "secret") -> dict[str, str]:
    return {"name": name, "value": value}


# --- the seed's sample -----------------------------------------------------------------------


def test_seed_sample_request_answers_200_with_the_seed_fields(
    client: TestClient, alice: SeededUser
) -> None:
    first = make_channel(client, alice, title="Sales")
    second = make_channel(client, alice, title="Deals", visibility="PRIVATE")
    sample = {
        "name": "Sentiment Analyzer",
        "description": "Natural language processor that determines user sentiment",
        "scope": "CHANNEL_LIST",
        "channelIds": [first, second],
        "headers": [{"name": "x-my-api-secret", "value": "b5d25c5b-e38f-495e-9e16-40973be50c3a"}],
    }

    response = client.post(INTEGRATIONS, json=sample, headers=alice.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    seed_fields = {"id", "ownerId", "name", "description", "scope", "channelIds", "headers"}
    # SPEC §4.3 adds the signing secret, shown in this response only.
    assert set(body) == seed_fields | {"signingSecret"}
    assert body["signingSecret"].startswith("whsec_")
    assert str(uuid.UUID(body["id"])) == body["id"]
    assert body["ownerId"] == alice.id
    assert {key: body[key] for key in sample} == sample


def test_created_integration_reads_back_the_same(client: TestClient, alice: SeededUser) -> None:
    created = make_integration(client, alice)

    response = client.get(f"{INTEGRATIONS}/{created['id']}", headers=alice.headers)

    assert response.status_code == 200
    shown_once = created.pop("signingSecret")
    assert response.json() == created
    assert shown_once not in response.text


@pytest.mark.parametrize("scope", ["PUBLIC_CHANNELS", "OWNER_ACCESS"])
def test_channel_ids_are_absent_for_scopes_other_than_channel_list(
    client: TestClient, alice: SeededUser, scope: str
) -> None:
    created = make_integration(client, alice, scope=scope)

    fetched = client.get(f"{INTEGRATIONS}/{created['id']}", headers=alice.headers).json()
    listed = client.get(INTEGRATIONS, headers=alice.headers).json()["integrations"][0]
    for body in (created, fetched, listed):
        assert body["scope"] == scope
        assert "channelIds" not in body


def test_integration_without_headers_answers_an_empty_header_list(
    client: TestClient, alice: SeededUser
) -> None:
    created = make_integration(client, alice, headers=[])

    assert created["headers"] == []


# --- name, description, scope ----------------------------------------------------------------


def test_name_is_required(client: TestClient, alice: SeededUser) -> None:
    body = integration_body()
    del body["name"]

    assert_refused(client, alice, body, "name")


@pytest.mark.parametrize("name", ["", "   ", "x" * 101], ids=["empty", "blank", "101-chars"])
def test_name_outside_1_to_100_chars_is_refused(
    client: TestClient, alice: SeededUser, name: str
) -> None:
    assert_refused(client, alice, integration_body(name=name), "name")


@pytest.mark.parametrize("name", ["x", "x" * 100], ids=["1-char", "100-chars"])
def test_name_of_1_to_100_chars_is_accepted(
    client: TestClient, alice: SeededUser, name: str
) -> None:
    assert make_integration(client, alice, name=name)["name"] == name


def test_description_over_1000_chars_is_refused(client: TestClient, alice: SeededUser) -> None:
    assert_refused(client, alice, integration_body(description="d" * 1001), "description")


def test_description_of_1000_chars_is_accepted(client: TestClient, alice: SeededUser) -> None:
    created = make_integration(client, alice, description="d" * 1000)

    assert created["description"] == "d" * 1000


@pytest.mark.parametrize("scope", ["EVERYTHING", "public_channels", "", 3])
def test_scope_outside_the_three_is_refused(
    client: TestClient, alice: SeededUser, scope: object
) -> None:
    assert_refused(client, alice, integration_body(scope=scope), "scope")


def test_scope_is_required(client: TestClient, alice: SeededUser) -> None:
    body = integration_body()
    del body["scope"]

    assert_refused(client, alice, body, "scope")


# --- channelIds ------------------------------------------------------------------------------


@pytest.mark.parametrize("channel_ids", [None, []], ids=["absent", "empty"])
def test_channel_list_without_channel_ids_is_refused(
    client: TestClient, alice: SeededUser, channel_ids: list[str] | None
) -> None:
    body = integration_body(scope="CHANNEL_LIST", channelIds=channel_ids)

    assert_refused(client, alice, body, "channelIds")


def test_channel_list_with_null_channel_ids_is_refused(
    client: TestClient, alice: SeededUser
) -> None:
    body = {**integration_body(scope="CHANNEL_LIST"), "channelIds": None}

    assert_refused(client, alice, body, "channelIds")


@pytest.mark.parametrize("scope", ["PUBLIC_CHANNELS", "OWNER_ACCESS"])
def test_channel_ids_with_another_scope_are_refused(
    client: TestClient, alice: SeededUser, scope: str
) -> None:
    channel = make_channel(client, alice)

    assert_refused(client, alice, integration_body(scope=scope, channelIds=[channel]), "channelIds")


@pytest.mark.parametrize("unknown", [str(uuid.uuid4()), "not-a-channel"])
def test_channel_id_that_does_not_exist_is_refused(
    client: TestClient, alice: SeededUser, unknown: str
) -> None:
    real = make_channel(client, alice)
    body = integration_body(scope="CHANNEL_LIST", channelIds=[real, unknown])

    assert_refused(client, alice, body, "channelIds")


def test_someone_elses_private_channel_is_refused(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    bobs_private = make_channel(client, bob, visibility="PRIVATE")
    body = integration_body(scope="CHANNEL_LIST", channelIds=[bobs_private])

    assert_refused(client, alice, body, "channelIds")


def test_thread_of_someone_elses_private_channel_is_refused(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    bobs_thread = make_thread(client, bob, make_channel(client, bob, visibility="PRIVATE"))
    body = integration_body(scope="CHANNEL_LIST", channelIds=[bobs_thread])

    assert_refused(client, alice, body, "channelIds")


def test_someone_elses_public_channel_is_accepted(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    bobs_public = make_channel(client, bob)

    created = make_integration(client, alice, scope="CHANNEL_LIST", channelIds=[bobs_public])

    assert created["channelIds"] == [bobs_public]


def test_private_channel_shared_with_the_caller_is_accepted(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    shared = make_channel(client, bob, visibility="PRIVATE", members=(alice,))

    created = make_integration(client, alice, scope="CHANNEL_LIST", channelIds=[shared])

    assert created["channelIds"] == [shared]


def test_duplicate_channel_ids_collapse_keeping_first_order(
    client: TestClient, alice: SeededUser
) -> None:
    first = make_channel(client, alice, title="First")
    second = make_channel(client, alice, title="Second")

    created = make_integration(
        client, alice, scope="CHANNEL_LIST", channelIds=[second, first, second, first]
    )

    assert created["channelIds"] == [second, first]
    fetched = client.get(f"{INTEGRATIONS}/{created['id']}", headers=alice.headers).json()
    assert fetched["channelIds"] == [second, first]


def test_thread_id_is_accepted_as_a_channel(client: TestClient, alice: SeededUser) -> None:
    thread = make_thread(client, alice, make_channel(client, alice, visibility="PRIVATE"))

    created = make_integration(client, alice, scope="CHANNEL_LIST", channelIds=[thread])

    assert created["channelIds"] == [thread]


# --- headers ---------------------------------------------------------------------------------


def test_twenty_headers_are_accepted(client: TestClient, alice: SeededUser) -> None:
    headers = [header(f"x-key-{i}", f"value-{i}") for i in range(20)]

    assert make_integration(client, alice, headers=headers)["headers"] == headers


def test_more_than_twenty_headers_are_refused(client: TestClient, alice: SeededUser) -> None:
    headers = [header(f"x-key-{i}") for i in range(21)]

    assert_refused(client, alice, integration_body(headers=headers), "headers")


@pytest.mark.parametrize(
    "name",
    ["x api key", "x-api:key", "", "x-clé", "x(key)", "x/key", "x\tkey", "x-key\n", "x-key\r\n"],
    ids=[
        "space",
        "colon",
        "empty",
        "non-ascii",
        "parens",
        "slash",
        "tab",
        "trailing-lf",
        "trailing-crlf",
    ],
)
def test_header_name_that_is_not_an_http_token_is_refused(
    client: TestClient, alice: SeededUser, name: str
) -> None:
    body = integration_body(headers=[header("x-fine"), header(name)])

    assert_refused(client, alice, body, "headers[1].name")


@pytest.mark.parametrize(
    "name",
    [
        "Host",
        "HOST",
        "Content-Length",
        "content-length",
        "Content-Type",
        "CONTENT-TYPE",
        "Transfer-Encoding",
        "transfer-encoding",
        "Connection",
        "connection",
    ],
)
def test_header_name_that_buzz_sets_itself_is_refused(
    client: TestClient, alice: SeededUser, name: str
) -> None:
    assert_refused(client, alice, integration_body(headers=[header(name)]), "headers[0].name")


@pytest.mark.parametrize(
    "name",
    ["x-buzz-bot-token", "X-Buzz-Signature", "X-BUZZ-", "webhook-id", "Webhook-Signature"],
)
def test_header_name_with_a_reserved_prefix_is_refused(
    client: TestClient, alice: SeededUser, name: str
) -> None:
    assert_refused(client, alice, integration_body(headers=[header(name)]), "headers[0].name")


@pytest.mark.parametrize(
    "name",
    [
        "x-buzzword",
        "x-buzz",
        "webhooks",
        "x-webhook-id",
        "Authorization",
        "X-Hosted-By",
        "a!#$%&'*+.^_`|~9",
    ],
)
def test_header_name_near_the_reserved_ones_is_accepted(
    client: TestClient, alice: SeededUser, name: str
) -> None:
    created = make_integration(client, alice, headers=[header(name)])

    assert created["headers"] == [header(name)]


@pytest.mark.parametrize(
    "value",
    [
        "abc\rdef",
        "abc\ndef",
        "abc\r\nX-Injected: 1",
        "abc\n",
        "abc\x00",
        "abc\x1b[0m",
        "abc\x7f",
        "v" * 4097,
    ],
    ids=["cr", "lf", "crlf-injection", "trailing-lf", "nul", "escape", "del", "4097-chars"],
)
def test_header_value_that_is_unsafe_or_too_long_is_refused(
    client: TestClient, alice: SeededUser, value: str
) -> None:
    body = integration_body(headers=[header("x-fine"), header("x-key", value)])

    assert_refused(client, alice, body, "headers[1].value")


@pytest.mark.parametrize(
    "value", ["v" * 4096, "Bearer abc/+= ~!@#", ""], ids=["4096", "symbols", "empty"]
)
def test_header_value_of_printable_chars_up_to_4096_is_accepted(
    client: TestClient, alice: SeededUser, value: str
) -> None:
    created = make_integration(client, alice, headers=[header("x-key", value)])

    assert created["headers"] == [header("x-key", value)]


def test_header_without_a_value_is_refused(client: TestClient, alice: SeededUser) -> None:
    body = integration_body(headers=[{"name": "x-key"}])

    assert_refused(client, alice, body, "headers[0].value")


@pytest.mark.parametrize("second", ["x-key", "X-KEY"], ids=["same-case", "other-case"])
def test_duplicate_header_name_is_refused(
    client: TestClient, alice: SeededUser, second: str
) -> None:
    body = integration_body(headers=[header("x-key", "one"), header(second, "two")])

    assert_refused(client, alice, body, "headers")


# --- the error envelope ----------------------------------------------------------------------


def test_validation_error_is_a_domo_400_listing_every_field_never_a_422(
    client: TestClient, alice: SeededUser
) -> None:
    body = {"name": "", "scope": "NOPE", "headers": [header("Host")]}

    response = client.post(INTEGRATIONS, json=body, headers=alice.headers)

    assert response.status_code == 400
    payload = response.json()
    assert payload["statusReason"] == "Bad Request"
    assert payload["path"] == INTEGRATIONS
    assert "detail" not in payload
    assert {error["field"] for error in payload["errors"]} >= {"name", "scope", "headers[0].name"}
    assert visible_ids(client, alice) == []


def test_malformed_json_is_a_400_on_the_body(client: TestClient, alice: SeededUser) -> None:
    response = client.post(
        INTEGRATIONS,
        content=b'{"name": "Weather", "scope": ',
        headers={**alice.headers, "Content-Type": "application/json"},
    )

    assert_bad_request(response, "body")
    assert visible_ids(client, alice) == []
