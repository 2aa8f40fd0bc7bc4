"""A portal session reaches its own integration's or subscriber's data and nothing else: every
portal route that names a target or a delivery answers 404 for anyone else's, and changes
nothing (SPEC §7), across both families."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from buzz.testing import SeededSubscriber, SeededUser, deliver_due
from tests.buzzchat.helpers import enter, make_hook
from tests.integrations.conftest import post
from tests.integrations.helpers import make_channel, make_integration, subscriptions_path
from tests.portal.helpers import Browser, browser, integration_link, subscriber_link
from tests.support.https_receiver import HttpsReceiver
from tests.support.routes import flat_routes


@pytest.fixture
def app(live_app: FastAPI) -> FastAPI:
    return live_app


@dataclass
class Tenant:
    """A portal session, one of its targets and one delivery to it."""

    portal: Browser
    target: str
    delivery: str


def first_delivery(portal: Browser, target: str) -> str:
    [found, *_] = re.findall(
        r'data-delivery="([^"]+)"', portal.page(f"/targets/{target}/deliveries")
    )
    return found


def buzz_tenant(
    app: FastAPI, client: TestClient, user: SeededUser, receiver: HttpsReceiver
) -> Tenant:
    channel = make_channel(client, user, title=f"{user.display_name}'s")
    integration = make_integration(client, user)
    sub = client.post(
        subscriptions_path(integration["id"]),
        json={"eventType": "MESSAGE_POSTED", "url": receiver.url(f"/{user.id}")},
        headers=user.headers,
    ).json()
    post(client, user, channel, "hello")
    deliver_due(app)
    portal = browser(app, integration_link(client, user, integration["id"]))
    return Tenant(portal, sub["id"], first_delivery(portal, sub["id"]))


def buzzchat_tenant(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, receiver: HttpsReceiver
) -> Tenant:
    hook = make_hook(client, shop, receiver, path=f"/{shop.id}")
    enter(client, shop, f"fan-of-{shop.name}")
    deliver_due(app)
    portal = browser(app, subscriber_link(client, shop))
    return Tenant(portal, hook["id"], first_delivery(portal, hook["id"]))


@pytest.fixture
def tenants(
    app: FastAPI,
    client: TestClient,
    alice: SeededUser,
    bob: SeededUser,
    shop: SeededSubscriber,
    other_shop: SeededSubscriber,
    receiver: HttpsReceiver,
) -> dict[str, Tenant]:
    return {
        "alice": buzz_tenant(app, client, alice, receiver),
        "bob": buzz_tenant(app, client, bob, receiver),
        "shop": buzzchat_tenant(app, client, shop, receiver),
        "other_shop": buzzchat_tenant(app, client, other_shop, receiver),
    }


def portal_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every portal route that names a target."""
    found = []
    for route in flat_routes(app.routes):
        path = getattr(route, "path", None)
        if isinstance(path, str) and path.startswith("/portal/targets/"):
            for method in sorted(set(route.methods) - {"HEAD"}):
                found.append((method, route.path))
    return found


def test_the_portal_routes_that_name_a_target_are_all_checked_here(app: FastAPI) -> None:
    assert {path for _, path in portal_routes(app)} == {
        "/portal/targets/{target}/active",
        "/portal/targets/{target}/rotate",
        "/portal/targets/{target}/test",
        "/portal/targets/{target}/deliveries",
        "/portal/targets/{target}/recover",
        "/portal/targets/{target}/deliveries/{delivery}",
        "/portal/targets/{target}/deliveries/{delivery}/redeliver",
    }


FORM = {"active": "false", "since": "2026-03-01T00:00", "tz": "0"}
PAIRS = [
    ("alice", "bob"),
    ("bob", "alice"),
    ("shop", "other_shop"),
    ("alice", "shop"),
    ("shop", "alice"),
]


@pytest.mark.parametrize(("viewer", "owner"), PAIRS)
def test_no_portal_route_reaches_another_tenants_target_or_delivery(
    app: FastAPI, tenants: dict[str, Tenant], receiver: HttpsReceiver, viewer: str, owner: str
) -> None:
    looking, theirs = tenants[viewer], tenants[owner]
    before = theirs.portal.page("/"), theirs.portal.page(f"/targets/{theirs.target}/deliveries")
    sent = len(receiver.requests)

    for method, path in portal_routes(app):
        for target, delivery in [
            (theirs.target, theirs.delivery),  # their target
            (looking.target, theirs.delivery),  # our target, their delivery
        ]:
            if "{delivery}" not in path and target == looking.target:
                continue
            url = path.removeprefix("/portal").format(target=target, delivery=delivery)
            response = (
                looking.portal.get(url) if method == "GET" else looking.portal.post(url, FORM)
            )
            assert response.status_code == 404, (method, url, response.status_code)
            assert theirs.target not in response.text or target == theirs.target

    deliver_due(app)
    assert len(receiver.requests) == sent  # no test sent, nothing redelivered or recovered
    after = theirs.portal.page("/"), theirs.portal.page(f"/targets/{theirs.target}/deliveries")
    assert strip_tokens(after) == strip_tokens(before)


def page_routes(app: FastAPI) -> list[str]:
    """Every portal page that names no target: what it shows comes from the session alone."""
    return sorted(
        path
        for route in flat_routes(app.routes)
        if isinstance(path := getattr(route, "path", None), str)
        and path.startswith("/portal")
        and "{" not in path
        and "GET" in (getattr(route, "methods", None) or ())
    )


@pytest.mark.parametrize(("viewer", "owner"), PAIRS)
def test_no_portal_page_shows_another_tenants_targets(
    app: FastAPI, tenants: dict[str, Tenant], viewer: str, owner: str
) -> None:
    looking, theirs = tenants[viewer], tenants[owner]
    pages = page_routes(app)
    assert {"/portal/", "/portal/events", "/portal/analytics", "/portal/giveaway"} <= set(pages)

    for path in pages:
        response = looking.portal.get(path.removeprefix("/portal"))
        assert response.status_code in (200, 404), (path, response.status_code)
        assert theirs.target not in response.text, path
        assert theirs.delivery not in response.text, path


def strip_tokens(pages: Any) -> list[str]:
    return [re.sub(r'value="[0-9a-f]{64}"', "", page) for page in pages]
