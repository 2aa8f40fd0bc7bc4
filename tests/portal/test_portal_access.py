"""Portal links and sessions (SPEC §7): one hour, one use, random, stored hashed; an HttpOnly,
SameSite=Lax session cookie (Secure on https); a CSRF token on every form; a clear page when a
link is expired, used or forged; logout."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from buzz.clock import ManualClock
from buzz.db import DATABASE
from buzz.portal.models import PortalLink, PortalSession
from buzz.testing import SeededSubscriber, SeededUser, seed_subscriber
from tests.integrations.helpers import make_integration
from tests.portal.helpers import browser, integration_link, link_path, subscriber_link
from tests.serving import LiveServer
from tests.support.routes import flat_routes


@pytest.fixture
def integration(client: TestClient, alice: SeededUser) -> str:
    made: str = make_integration(client, alice)["id"]
    return made


# ---- the links ---------------------------------------------------------------------------------


def test_an_owner_gets_a_one_hour_link_to_the_integrations_portal(
    client: TestClient, alice: SeededUser, integration: str, clock: ManualClock
) -> None:
    response = client.post(f"/v1/buzz/integrations/{integration}/portal", headers=alice.headers)

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"url", "expiresAt"}
    assert body["url"].startswith("https://buzz.example.com/portal/open/")
    assert datetime.fromisoformat(body["expiresAt"]) == clock() + timedelta(hours=1)


def test_a_subscriber_gets_its_link_in_the_buzzchat_envelope_at_both_prefixes(
    client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    for prefix in ("/api/v1", "/v1"):
        response = client.post(f"{prefix}/portal", headers=shop.headers)

        assert response.status_code == 201, response.text
        body = response.json()
        assert body["success"] is True
        assert set(body["data"]) == {"url", "expiresAt"}
        assert datetime.fromisoformat(body["data"]["expiresAt"]) == clock() + timedelta(hours=1)


def test_only_the_owner_may_have_an_integrations_link(
    client: TestClient, bob: SeededUser, integration: str
) -> None:
    response = client.post(f"/v1/buzz/integrations/{integration}/portal", headers=bob.headers)
    assert response.status_code in (403, 404), response.text
    assert response.json()["status"] == response.status_code  # Domo's envelope
    assert client.post(f"/v1/buzz/integrations/{integration}/portal").status_code == 401
    assert client.post("/api/v1/portal").json()["success"] is False


def test_links_are_random_and_stored_only_as_a_hash(
    app: FastAPI, client: TestClient, alice: SeededUser, integration: str
) -> None:
    urls = {integration_link(client, alice, integration) for _ in range(3)}
    tokens = {url.rsplit("/", 1)[1] for url in urls}

    assert len(tokens) == 3
    assert all(len(token) >= 43 for token in tokens)  # 256 bits, base64url
    with DATABASE.of(app).session() as session:
        stored = set(session.scalars(select(PortalLink.token_hash)))
    assert len(stored) == 3
    assert not stored & tokens
    assert not any(token in hashed for token in tokens for hashed in stored)


# ---- opening a link ------------------------------------------------------------------------------


def test_a_link_opens_a_session_with_an_httponly_samesite_cookie(
    app: FastAPI, client: TestClient, alice: SeededUser, integration: str
) -> None:
    viewer = browser(app)
    response = viewer.open(integration_link(client, alice, integration))

    assert response.status_code == 303
    assert response.headers["location"] == "/portal/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("buzz_portal=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "samesite=lax" in cookie.lower()
    assert "path=/portal" in cookie.lower()
    assert "secure" not in attributes  # plain http: a Secure cookie would never come back
    assert response.headers["referrer-policy"] == "same-origin"
    assert "Weather" in viewer.page("/")  # the integration's name


def test_over_https_the_cookie_is_secure(
    app: FastAPI, client: TestClient, alice: SeededUser, integration: str
) -> None:
    viewer = browser(app, base_url="https://testserver")
    response = viewer.open(integration_link(client, alice, integration))

    attributes = {p.strip().lower() for p in response.headers["set-cookie"].split(";")}
    assert "secure" in attributes


def test_a_link_opens_once(
    app: FastAPI, client: TestClient, alice: SeededUser, integration: str
) -> None:
    url = integration_link(client, alice, integration)
    browser(app, url)

    again = browser(app).open(url)

    assert again.status_code == 410
    assert "already been used" in again.text
    assert "set-cookie" not in again.headers


def test_a_link_an_hour_old_has_expired(
    app: FastAPI, client: TestClient, alice: SeededUser, integration: str, clock: ManualClock
) -> None:
    url = integration_link(client, alice, integration)
    clock.advance(hours=1)

    late = browser(app).open(url)

    assert late.status_code == 410
    assert "expired" in late.text
    assert "set-cookie" not in late.headers


@pytest.mark.parametrize("token", ["forged", "A" * 43, "x" * 500])
def test_a_forged_link_gets_a_clear_page(app: FastAPI, token: str) -> None:
    forged = browser(app).open(f"https://buzz.example.com/portal/open/{token}")

    assert forged.status_code == 404
    assert forged.headers["content-type"].startswith("text/html")
    assert "not one of ours" in forged.text
    assert "set-cookie" not in forged.headers


def test_browsers_racing_for_one_link_open_one_session(
    shared_app: FastAPI, shared_server: LiveServer
) -> None:
    """Eight browsers GET the same link at the same moment from a real `buzz serve` (on
    PostgreSQL when the suite is): one gets the session, the others hear it was used."""
    shop = seed_subscriber(shared_app, name="Racing Shop")
    made = httpx.post(f"{shared_server.base_url}/api/v1/portal", headers=shop.headers)
    assert made.status_code == 201, made.text
    path = link_path(made.json()["data"]["url"])
    start = threading.Barrier(8)
    answers: list[int] = []

    def open_it() -> None:
        with httpx.Client(base_url=shared_server.base_url, timeout=60) as web:
            start.wait()
            answers.append(web.get(path).status_code)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(answers) == [303] + [410] * 7
    with DATABASE.of(shared_app).session() as session:
        assert len(session.scalars(select(PortalSession)).all()) == 1


# ---- the session ---------------------------------------------------------------------------------


def test_without_a_session_the_portal_says_how_to_get_one(app: FastAPI) -> None:
    response = browser(app).get("/")

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/html")
    assert "POST /api/v1/portal" in response.text


def test_a_session_lasts_eight_hours(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock
) -> None:
    viewer = browser(app, subscriber_link(client, shop))
    clock.advance(hours=8, seconds=-1)
    assert viewer.get("/").status_code == 200

    clock.advance(seconds=1)
    assert viewer.get("/").status_code == 401


def test_sessions_are_stored_only_as_a_hash(
    app: FastAPI, client: TestClient, shop: SeededSubscriber
) -> None:
    viewer = browser(app, subscriber_link(client, shop))

    with DATABASE.of(app).session() as session:
        [stored] = session.scalars(select(PortalSession.token_hash)).all()
    assert viewer.cookie and viewer.cookie != stored and viewer.cookie not in stored


def test_logout_ends_the_session_for_good(
    app: FastAPI, client: TestClient, shop: SeededSubscriber
) -> None:
    viewer = browser(app, subscriber_link(client, shop))
    cookie = viewer.cookie

    out = viewer.post("/logout")

    assert out.status_code == 200
    assert "logged out" in out.text
    assert 'buzz_portal=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    thief = browser(app)
    thief.client.cookies.set("buzz_portal", cookie or "", path="/portal")
    assert thief.get("/").status_code == 401


# ---- CSRF ----------------------------------------------------------------------------------------


def test_a_form_without_its_sessions_token_is_refused(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, other_shop: SeededSubscriber
) -> None:
    viewer = browser(app, subscriber_link(client, shop))
    other = browser(app, subscriber_link(client, other_shop))

    assert viewer.post("/logout", csrf="").status_code == 403
    assert viewer.post("/logout", csrf="0" * 64).status_code == 403
    assert viewer.post("/logout", csrf=other.csrf()).status_code == 403
    refused = viewer.post("/logout", Origin="https://evil.example.com")
    assert refused.status_code == 403
    assert "reload the page" in refused.text
    assert viewer.get("/").status_code == 200  # still logged in: nothing happened


def test_the_same_origin_may_send_forms(
    app: FastAPI, client: TestClient, shop: SeededSubscriber
) -> None:
    viewer = browser(app, subscriber_link(client, shop))

    assert viewer.post("/logout", Origin="http://testserver").status_code == 200


def test_every_page_forbids_framing_and_foreign_scripts(
    app: FastAPI, client: TestClient, shop: SeededSubscriber
) -> None:
    viewer = browser(app, subscriber_link(client, shop))

    for path in ("/", "/events", "/nothing-here"):
        headers = viewer.get(path).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert headers["x-frame-options"] == "DENY"
        assert headers["cache-control"] == "no-store"


def test_link_path_keeps_the_path() -> None:
    assert link_path("https://h.example/portal/open/abc") == "/portal/open/abc"


def test_every_portal_form_refuses_a_post_without_the_token(
    app: FastAPI, client: TestClient, shop: SeededSubscriber
) -> None:
    viewer = browser(app, subscriber_link(client, shop))
    posts = sorted(
        path
        for route in flat_routes(app.routes)
        if isinstance(path := getattr(route, "path", None), str)
        and path.startswith("/portal/")
        and "POST" in (getattr(route, "methods", None) or ())
    )
    assert {"/portal/logout", "/portal/settings", "/portal/giveaway/pick"} <= set(posts)

    for path in posts:
        url = re.sub(r"\{[^}]+\}", "whatever", path).removeprefix("/portal")
        refused = viewer.post(url, {"active": "false", "count": "1"}, csrf="")
        assert refused.status_code == 403, (path, refused.status_code)
    assert viewer.get("/").status_code == 200  # still logged in: nothing happened
