"""Who sees which integration, who may delete it, and how lists page (SPEC §2.3)."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from buzz.clock import ManualClock
from buzz.integrations.models import Subscription
from buzz.testing import SeededUser, seed_user
from tests.integrations.helpers import (
    INTEGRATIONS,
    assert_bad_request,
    assert_error,
    leave_channel,
    make_channel,
    make_integration,
    make_subscription,
    make_thread,
    subscription_body,
    subscriptions_path,
    visible_ids,
)

# A viewer who owns an integration of their own must not see more of other people's.
VIEWER_OWNS_ONE = pytest.mark.parametrize(
    "viewer_owns_one", [False, True], ids=["viewer-owns-none", "viewer-owns-one"]
)

SECRET = {"name": "x-api-key", "value": "s3cr3t-value"}
MASKED = {"name": "x-api-key", "value": "********"}


def can_see(client: TestClient, user: SeededUser, integration_id: str) -> bool:
    """Whether `user` finds the integration in the list and can GET it (both must agree)."""
    listed = integration_id in visible_ids(client, user)
    status = client.get(f"{INTEGRATIONS}/{integration_id}", headers=user.headers).status_code
    assert status in (200, 404)
    assert listed == (status == 200), "the list and GET disagree"
    return listed


# --- header values -----------------------------------------------------------------------------


def test_owner_sees_header_values_on_get_and_list(client: TestClient, alice: SeededUser) -> None:
    integration = make_integration(client, alice, headers=[SECRET])

    fetched = client.get(f"{INTEGRATIONS}/{integration['id']}", headers=alice.headers).json()
    listed = client.get(INTEGRATIONS, headers=alice.headers).json()["integrations"]
    assert integration["headers"] == [SECRET]
    assert fetched["headers"] == [SECRET]
    assert [i["headers"] for i in listed] == [[SECRET]]


def test_other_user_sees_header_names_with_masked_values(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    make_channel(client, alice)
    integration = make_integration(client, alice, headers=[SECRET])

    fetched = client.get(f"{INTEGRATIONS}/{integration['id']}", headers=bob.headers).json()
    listed = client.get(INTEGRATIONS, headers=bob.headers).json()["integrations"]
    assert fetched["headers"] == [MASKED]
    assert [i["headers"] for i in listed] == [[MASKED]]
    assert "s3cr3t-value" not in str(fetched) + str(listed)
    assert "signingSecret" not in fetched
    assert integration["signingSecret"] not in str(fetched) + str(listed)
    assert {k: v for k, v in fetched.items() if k != "headers"} == {
        k: v for k, v in integration.items() if k not in {"headers", "signingSecret"}
    }


# --- the list: what each scope makes visible ---------------------------------------------------


def test_owner_always_sees_their_own_integrations(client: TestClient, alice: SeededUser) -> None:
    private = make_channel(client, alice, visibility="PRIVATE")
    mine = [
        make_integration(client, alice, scope="PUBLIC_CHANNELS")["id"],
        make_integration(client, alice, scope="OWNER_ACCESS")["id"],
        make_integration(client, alice, scope="CHANNEL_LIST", channelIds=[private])["id"],
    ]

    assert sorted(visible_ids(client, alice)) == sorted(mine)


def test_public_channels_integration_is_visible_to_others_when_a_public_channel_exists(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    integration = make_integration(client, alice, scope="PUBLIC_CHANNELS")
    assert not can_see(client, bob, integration["id"])

    make_channel(client, alice, visibility="PUBLIC")

    assert can_see(client, bob, integration["id"])


def test_public_channels_integration_is_hidden_when_only_private_channels_exist(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    make_channel(client, alice, visibility="PRIVATE", members=(bob,))
    integration = make_integration(client, alice, scope="PUBLIC_CHANNELS")

    assert not can_see(client, bob, integration["id"])


def test_owner_access_integration_is_visible_to_a_user_sharing_a_private_channel(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    make_channel(client, alice, visibility="PRIVATE", members=(bob,))

    integration = make_integration(client, alice, scope="OWNER_ACCESS")

    assert can_see(client, bob, integration["id"])


@VIEWER_OWNS_ONE
def test_owner_access_integration_is_hidden_from_a_user_sharing_nothing(
    client: TestClient, alice: SeededUser, bob: SeededUser, carol: SeededUser, viewer_owns_one: bool
) -> None:
    make_channel(client, alice, visibility="PRIVATE", members=(bob,))
    make_channel(client, carol, visibility="PRIVATE")
    if viewer_owns_one:
        make_integration(client, carol, scope="OWNER_ACCESS")

    integration = make_integration(client, alice, scope="OWNER_ACCESS")

    assert not can_see(client, carol, integration["id"])


def test_owner_access_integration_is_visible_to_everyone_once_a_public_channel_exists(
    client: TestClient, alice: SeededUser, carol: SeededUser
) -> None:
    integration = make_integration(client, alice, scope="OWNER_ACCESS")
    assert not can_see(client, carol, integration["id"])

    make_channel(client, carol, visibility="PUBLIC")

    assert can_see(client, carol, integration["id"])


@VIEWER_OWNS_ONE
def test_owner_access_integration_is_hidden_once_the_owner_leaves_the_shared_channel(
    client: TestClient, alice: SeededUser, bob: SeededUser, viewer_owns_one: bool
) -> None:
    shared = make_channel(client, alice, visibility="PRIVATE", members=(bob,))
    if viewer_owns_one:
        make_integration(client, bob, scope="OWNER_ACCESS")
    integration = make_integration(client, alice, scope="OWNER_ACCESS")
    assert can_see(client, bob, integration["id"])

    leave_channel(client, alice, shared)

    assert not can_see(client, bob, integration["id"])
    assert can_see(client, alice, integration["id"])


def test_channel_list_integration_is_visible_to_members_of_a_listed_private_channel(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    listed = make_channel(client, alice, visibility="PRIVATE", members=(bob,))

    integration = make_integration(client, alice, scope="CHANNEL_LIST", channelIds=[listed])

    assert can_see(client, bob, integration["id"])


def test_channel_list_integration_on_a_thread_is_visible_to_members_of_its_parent(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    thread = make_thread(
        client, alice, make_channel(client, alice, visibility="PRIVATE", members=(bob,))
    )

    integration = make_integration(client, alice, scope="CHANNEL_LIST", channelIds=[thread])

    assert can_see(client, bob, integration["id"])


def test_channel_list_integration_is_hidden_from_outsiders(
    client: TestClient, alice: SeededUser, bob: SeededUser, carol: SeededUser
) -> None:
    listed = make_channel(client, alice, visibility="PRIVATE", members=(bob,))
    # Carol shares another private channel with the owner, one that is not listed.
    make_channel(client, alice, visibility="PRIVATE", title="Other", members=(carol,))

    integration = make_integration(client, alice, scope="CHANNEL_LIST", channelIds=[listed])

    assert not can_see(client, carol, integration["id"])


@VIEWER_OWNS_ONE
def test_channel_list_integration_is_hidden_once_the_owner_leaves_the_listed_channel(
    client: TestClient, alice: SeededUser, bob: SeededUser, viewer_owns_one: bool
) -> None:
    listed = make_channel(client, alice, visibility="PRIVATE", members=(bob,))
    if viewer_owns_one:
        make_integration(client, bob, scope="OWNER_ACCESS")
    integration = make_integration(client, alice, scope="CHANNEL_LIST", channelIds=[listed])
    assert can_see(client, bob, integration["id"])

    leave_channel(client, alice, listed)

    assert not can_see(client, bob, integration["id"])
    assert can_see(client, alice, integration["id"])


def test_a_user_never_sees_another_users_private_scoped_integrations(
    app: FastAPI, client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    # Two separate teams, each with its own private channels and no channel in common.
    dave = seed_user(app, display_name="Dave Dunn", email="dave@other.example")
    alice_channel = make_channel(client, alice, visibility="PRIVATE", members=(bob,))
    dave_channel = make_channel(client, dave, visibility="PRIVATE")
    alices = [
        make_integration(client, alice, scope="OWNER_ACCESS")["id"],
        make_integration(client, alice, scope="CHANNEL_LIST", channelIds=[alice_channel])["id"],
    ]
    daves = [
        make_integration(client, dave, scope="OWNER_ACCESS")["id"],
        make_integration(client, dave, scope="CHANNEL_LIST", channelIds=[dave_channel])["id"],
    ]

    assert sorted(visible_ids(client, alice)) == sorted(alices)
    assert sorted(visible_ids(client, bob)) == sorted(alices)
    assert sorted(visible_ids(client, dave)) == sorted(daves)
    for integration_id in daves:
        for user in (alice, bob):
            assert_error(client.get(f"{INTEGRATIONS}/{integration_id}", headers=user.headers), 404)
            assert_error(
                client.delete(f"{INTEGRATIONS}/{integration_id}", headers=user.headers), 404
            )
            assert_error(client.get(subscriptions_path(integration_id), headers=user.headers), 404)


# --- 404 and 403 -------------------------------------------------------------------------------


def test_integration_the_caller_cannot_see_is_404_on_get_and_delete(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    integration = make_integration(client, alice, scope="OWNER_ACCESS")
    path = f"{INTEGRATIONS}/{integration['id']}"

    assert_error(client.get(path, headers=bob.headers), 404)
    assert_error(client.delete(path, headers=bob.headers), 404)
    assert client.get(path, headers=alice.headers).status_code == 200


def test_integration_the_caller_cannot_see_is_404_on_its_subscriptions(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    integration = make_integration(client, alice, scope="OWNER_ACCESS")
    subscription = make_subscription(client, alice, integration["id"])
    path = subscriptions_path(integration["id"])

    assert_error(client.post(path, json=subscription_body(), headers=bob.headers), 404)
    assert_error(client.get(path, headers=bob.headers), 404)
    assert_error(client.delete(f"{path}/{subscription['id']}", headers=bob.headers), 404)


@pytest.mark.parametrize("unknown", [str(uuid.uuid4()), "no-such-integration"])
def test_unknown_integration_is_404(client: TestClient, alice: SeededUser, unknown: str) -> None:
    path = f"{INTEGRATIONS}/{unknown}"

    assert_error(client.get(path, headers=alice.headers), 404)
    assert_error(client.delete(path, headers=alice.headers), 404)
    assert_error(client.get(subscriptions_path(unknown), headers=alice.headers), 404)


def test_visible_integration_of_someone_else_is_403_on_delete(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    make_channel(client, alice)
    integration = make_integration(client, alice)
    path = f"{INTEGRATIONS}/{integration['id']}"

    assert_error(client.delete(path, headers=bob.headers), 403)
    assert client.get(path, headers=alice.headers).status_code == 200


def test_visible_integration_of_someone_else_is_403_on_its_subscriptions(
    client: TestClient, alice: SeededUser, bob: SeededUser
) -> None:
    make_channel(client, alice)
    integration = make_integration(client, alice)
    subscription = make_subscription(client, alice, integration["id"])
    path = subscriptions_path(integration["id"])

    assert_error(
        client.post(path, json=subscription_body(url="https://bob.example/x"), headers=bob.headers),
        403,
    )
    assert_error(client.get(path, headers=bob.headers), 403)
    assert_error(client.delete(f"{path}/{subscription['id']}", headers=bob.headers), 403)
    remaining = client.get(path, headers=alice.headers).json()["subscriptions"]
    assert remaining == [subscription]


# --- delete ------------------------------------------------------------------------------------


def test_owner_deletes_integration_with_its_subscriptions(
    app: FastAPI, client: TestClient, alice: SeededUser
) -> None:
    integration = make_integration(client, alice)
    kept = make_integration(client, alice, name="Kept")
    make_subscription(client, alice, integration["id"])
    make_subscription(client, alice, integration["id"], eventType="THREAD_CREATED")
    make_subscription(client, alice, kept["id"])
    path = f"{INTEGRATIONS}/{integration['id']}"

    response = client.delete(path, headers=alice.headers)

    assert response.status_code == 204
    assert response.content == b""
    assert_error(client.get(path, headers=alice.headers), 404)
    assert_error(client.get(subscriptions_path(integration["id"]), headers=alice.headers), 404)
    assert visible_ids(client, alice) == [kept["id"]]
    with app.state.database.session() as session:
        count = select(func.count()).select_from(Subscription)
        assert session.scalar(count.where(Subscription.integration_id == integration["id"])) == 0
        assert session.scalar(count.where(Subscription.integration_id == kept["id"])) == 1


def test_deleting_an_integration_twice_is_404_the_second_time(
    client: TestClient, alice: SeededUser
) -> None:
    path = f"{INTEGRATIONS}/{make_integration(client, alice)['id']}"

    assert client.delete(path, headers=alice.headers).status_code == 204
    assert_error(client.delete(path, headers=alice.headers), 404)


# --- pagination --------------------------------------------------------------------------------


def make_integrations(
    client: TestClient, clock: ManualClock, user: SeededUser, count: int
) -> list[str]:
    """`count` integrations of `user`, one second apart, in creation order."""
    ids = []
    for i in range(count):
        ids.append(make_integration(client, user, name=f"Integration {i}")["id"])
        clock.advance(seconds=1)
    return ids


def test_list_returns_50_by_default(
    client: TestClient, clock: ManualClock, alice: SeededUser
) -> None:
    created = make_integrations(client, clock, alice, 51)

    listed = visible_ids(client, alice)

    assert len(listed) == 50
    assert set(listed) < set(created)


def test_list_pages_with_limit_and_offset_without_gaps_or_repeats(
    client: TestClient, clock: ManualClock, alice: SeededUser
) -> None:
    created = make_integrations(client, clock, alice, 5)

    pages = [visible_ids(client, alice, limit=2, offset=offset) for offset in (0, 2, 4, 6)]

    assert [len(page) for page in pages] == [2, 2, 1, 0]
    assert sorted(i for page in pages for i in page) == sorted(created)


def test_list_accepts_a_limit_of_500(client: TestClient, alice: SeededUser) -> None:
    created = make_integration(client, alice)["id"]

    assert visible_ids(client, alice, limit=500) == [created]


@pytest.mark.parametrize(
    ("param", "value"),
    [("limit", 0), ("limit", 501), ("limit", -1), ("limit", "ten"), ("offset", -1)],
)
def test_list_refuses_limits_and_offsets_out_of_range(
    client: TestClient, alice: SeededUser, param: str, value: object
) -> None:
    response = client.get(INTEGRATIONS, params={param: value}, headers=alice.headers)

    assert_bad_request(response, param)
