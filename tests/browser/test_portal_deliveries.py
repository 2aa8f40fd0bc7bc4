"""The portal in a real browser (SPEC §7): a seller with only an API key opens the link the API
made, sees a webhook's delivery fail, redelivers it to a receiver that now answers 200 and
watches its status change; an integration's owner does the same for a subscription. Every page
is checked by the `page` fixture (no console error, nothing fetched off origin) and by axe-core
(no serious or critical violation), at 1280 px and at 375 px."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from buzz.db import Database
from buzz.models import load_all_models  # noqa: F401 - every table known to the session
from buzz.portal.access import LINK_LIFETIME
from buzz.portal.models import PortalLink
from buzz.security import hash_secret, random_token
from tests.browser.harness import Live, Seller, Watch, no_serious_violations, open_page, screenshot

PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="module")
def seller(live: Live) -> Iterator[Seller]:
    someone = Seller(live)
    yield someone
    someone.close()


@pytest.fixture(scope="module")
def failing_hook(live: Live, seller: Seller) -> dict[str, Any]:
    """A webhook whose first delivery the receiver refuses (500 "warehouse offline")."""
    live.receiver.respond_with(500, body=b'{"error":"warehouse offline"}')
    hook: dict[str, Any] = seller.call(
        "POST",
        "/webhooks",
        201,
        json={
            "url": live.receiver.url("/shop"),
            "events": ["giveaway.entry"],
            "description": "Shop backend",
        },
    )
    seller.call("POST", "/giveaway/entries", 201, json={"username": "amy"})
    return hook


def test_a_failed_delivery_is_redelivered_and_the_page_follows_it(
    page: Page, live: Live, seller: Seller, failing_hook: dict[str, Any]
) -> None:
    page.goto(seller.portal_link())  # the link exactly as the API gave it

    card = page.locator(f"[data-target='{failing_hook['id']}']")
    expect(card.get_by_role("heading")).to_have_text("Shop backend")
    expect(card.locator(".health")).to_contain_text("500")  # the receiver's last answer
    screenshot(page, "portal-webhooks")
    no_serious_violations(page)

    card.get_by_role("link", name="Deliveries").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Deliveries to Shop backend")
    row = page.locator("tr[data-delivery]").first
    expect(row).to_contain_text("giveaway.entry")
    expect(row).to_contain_text("500")
    no_serious_violations(page)
    screenshot(page, "portal-deliveries")

    row.get_by_role("link").click()
    expect(page.locator("pre.body").first).to_contain_text("warehouse offline")  # why it failed
    expect(page.locator("pre.payload")).to_contain_text('"username": "amy"')
    expect(page.locator("pre.headers")).to_contain_text("webhook-signature: v1,")
    no_serious_violations(page)

    live.receiver.respond_with(200)
    page.get_by_role("button", name="Redeliver").click()
    expect(page.locator("#status")).to_have_text("delivered", timeout=30_000)  # no reload
    expect(page.locator("#attempts tbody tr").last).to_contain_text("200")
    screenshot(page, "portal-delivery")
    shown = seller.call("GET", f"/webhooks/{failing_hook['id']}/deliveries")["deliveries"]
    assert shown[0]["status"] == "delivered"


def test_the_event_catalogue_and_a_test_event(
    page: Page, live: Live, seller: Seller, failing_hook: dict[str, Any]
) -> None:
    page.goto(seller.portal_link())
    page.get_by_role("link", name="Events").click()
    expect(page.locator("section#giveaway\\.entry pre")).to_contain_text('"giveaway.entry"')
    no_serious_violations(page)

    page.get_by_role("link", name="Webhooks", exact=True).click()
    live.receiver.respond_with(204)
    card = page.locator(f"[data-target='{failing_hook['id']}']")
    card.get_by_role("button", name="Send test event").click()
    expect(page.get_by_role("status")).to_contain_text("Delivered: the receiver answered 204")


def test_every_page_is_usable_375_px_wide(
    browser: Browser, live: Live, seller: Seller, failing_hook: dict[str, Any]
) -> None:
    watch = Watch(live.base_url)
    with open_page(browser, watch, base_url=live.base_url, viewport=PHONE) as phone:
        phone.goto(seller.portal_link())  # waits for the load event
        card = phone.locator(f"[data-target='{failing_hook['id']}']")
        expect(card.get_by_role("button", name="Pause")).to_be_visible()
        [delivery] = seller.call("GET", f"/webhooks/{failing_hook['id']}/deliveries")["deliveries"][
            -1:
        ]
        for path in (
            "/",
            f"/targets/{failing_hook['id']}/deliveries",
            f"/targets/{failing_hook['id']}/deliveries/{delivery['id']}",
            "/events",
            "/analytics",
            "/giveaway",
            "/settings",
        ):
            phone.goto(f"/portal{path}")
            width = phone.evaluate("() => document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} scrolls sideways: {width} px"
            no_serious_violations(phone)
            if path.endswith("/deliveries"):
                screenshot(phone, "portal-phone")
    assert watch.problems() == []


def test_times_are_in_the_viewers_zone_with_utc_on_hover(
    browser: Browser, live: Live, seller: Seller, failing_hook: dict[str, Any]
) -> None:
    watch = Watch(live.base_url)
    with open_page(browser, watch, base_url=live.base_url, timezone_id="Asia/Tokyo") as tokyo:
        tokyo.goto(seller.portal_link())
        tokyo.locator(f"[data-target='{failing_hook['id']}']").get_by_role(
            "link", name="Deliveries"
        ).click()
        moment = tokyo.locator("tr[data-delivery] time").first
        expect(moment).to_contain_text("GMT+9")
        title = moment.get_attribute("title") or ""
        assert title.endswith(" UTC"), title
    assert watch.problems() == []


def expired_link(live: Live, seller: Seller) -> str:
    """A link of the seller's made an hour and a minute ago: written straight into the server's
    database, as the link route would have written it then (the server's clock is real)."""
    token = random_token()
    made = datetime.now(UTC) - timedelta(hours=1, minutes=1)
    database = Database(live.server.env["BUZZ_DATABASE_URL"])
    try:
        with database.session() as session:
            session.add(
                PortalLink(
                    token_hash=hash_secret(token),
                    subscriber_id=live.bootstrap["subscriber"]["id"],
                    created_at=made,
                    expires_at=made + LINK_LIFETIME,
                )
            )
            session.commit()
    finally:
        database.dispose()
    return f"{live.base_url}/portal/open/{token}"


def test_expired_used_and_forged_links_and_another_sellers_ids_are_refused(
    page: Page, watch: Watch, live: Live, seller: Seller, failing_hook: dict[str, Any]
) -> None:
    # Chromium logs every 4xx page it loads as a console error: these are expected.
    watch.allow_console(r"status of 4(04|10)")
    page.goto(expired_link(live, seller))
    expect(page.get_by_role("alert")).to_contain_text("has expired")

    link = seller.portal_link()
    page.goto(link)
    page.goto(link)  # again: links open once
    expect(page.get_by_role("heading", level=1)).to_have_text("This link cannot be used")
    expect(page.get_by_role("alert")).to_contain_text("already been used")

    page.goto(f"{live.base_url}/portal/open/forged-token")
    expect(page.get_by_role("alert")).to_contain_text("not one of ours")

    rival = Seller(live, live.server.bootstrap()["apiKey"]["key"])
    theirs = rival.call(
        "POST",
        "/webhooks",
        201,
        json={"url": live.receiver.url("/rival"), "events": ["bot.started"]},
    )
    page.goto(seller.portal_link())
    for path in (f"/targets/{theirs['id']}/deliveries", f"/targets/{theirs['id']}/deliveries/x"):
        page.goto(f"{live.base_url}/portal{path}")
        expect(page.get_by_role("alert")).to_contain_text("not found")
    expect(page.locator("body")).not_to_contain_text(theirs["url"])
    rival.close()


def test_an_integrations_owner_sees_its_subscriptions_and_their_deliveries(
    page: Page, live: Live
) -> None:
    client = live.bootstrap["client"]
    with httpx.Client(base_url=live.base_url, timeout=30) as http:
        token = http.post(
            "/oauth/token",
            params={"grant_type": "client_credentials"},
            auth=(client["clientId"], client["clientSecret"]),
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        channel = http.post("/v1/buzz/channels", json={"title": "Launch"}).json()["id"]
        integration = http.post(
            "/v1/buzz/integrations",
            json={"name": "Deploy bot", "scope": "CHANNEL_LIST", "channelIds": [channel]},
        ).json()
        live.receiver.respond_with(200)
        http.post(
            f"/v1/buzz/integrations/{integration['id']}/subscriptions",
            json={"eventType": "MESSAGE_POSTED", "url": live.receiver.url("/deploy")},
        ).raise_for_status()
        http.post(f"/v1/buzz/channels/{channel}/messages", json={"text": "ship it"})
        link = http.post(f"/v1/buzz/integrations/{integration['id']}/portal").json()["url"]

    page.goto(link)
    expect(page.locator(".brand")).to_contain_text("Deploy bot")
    page.get_by_role("link", name="Deliveries").click()
    # written with the message, in its transaction: listed at once, whatever its status
    expect(page.locator("tr[data-delivery]").first).to_contain_text("MESSAGE_POSTED")
    no_serious_violations(page)
    screenshot(page, "portal-subscriptions")
