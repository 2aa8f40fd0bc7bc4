"""The seller's dashboard in a real browser (SPEC §7): entries arrive while the giveaway page is
open, a winner is picked, a round is cleared; a setting changed in the portal is what the API
returns, and a refused one says why beside its field; the analytics charts are drawn (pixels on
their canvas) with the same numbers as the API's. axe-core finds nothing serious on any page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.harness import Live, Seller, Watch, no_serious_violations, screenshot


@pytest.fixture
def seller(live: Live) -> Iterator[Seller]:
    someone = Seller(live, live.server.bootstrap()["apiKey"]["key"])  # a new subscriber
    yield someone
    someone.close()


def test_entries_arrive_live_a_winner_is_picked_and_the_round_cleared(
    page: Page, seller: Seller
) -> None:
    for name in ("amy", "ben"):
        seller.call("POST", "/giveaway/entries", 201, json={"username": name})
    page.goto(seller.portal_link())
    page.get_by_role("link", name="Giveaway").click()
    expect(page.locator("#entries tr")).to_have_count(2)

    seller.call("POST", "/giveaway/entries", 201, json={"username": "cat"})
    expect(page.locator("#entries")).to_contain_text("cat")  # no reload: the page follows
    expect(page.locator("#entry-count")).to_have_text("3")
    no_serious_violations(page)

    page.get_by_label("How many winners").fill("1")
    page.get_by_role("button", name="Pick winners").click()
    winner_note = page.get_by_role("status")
    expect(winner_note).to_contain_text("Winner:")
    [winner] = [n for n in ("amy", "ben", "cat") if n in (winner_note.text_content() or "")]
    entries = seller.call("GET", "/giveaway/entries")
    assert winner in str(entries)
    screenshot(page, "portal-giveaway")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Clear all entries").click()
    expect(page.get_by_role("status")).to_contain_text("All entries cleared")
    expect(page.locator("#entries")).to_contain_text("No entries yet")
    assert "amy" not in str(seller.call("GET", "/giveaway/entries"))


def test_a_setting_changed_in_the_portal_is_what_the_api_returns(
    page: Page, watch: Watch, seller: Seller
) -> None:
    page.goto(seller.portal_link())
    page.get_by_role("link", name="Bot settings").click()
    page.get_by_label("Welcome message").fill("Hi {username}, welcome to the stream!")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_be_visible()
    assert (
        seller.call("GET", "/settings")["welcomeMessage"] == "Hi {username}, welcome to the stream!"
    )
    no_serious_violations(page)
    screenshot(page, "portal-settings")

    watch.allow_console(r"status of 400")  # the refusal's page is a 400
    page.get_by_label("Welcome message").fill("x" * 501)
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#welcomeMessage-error")).to_be_visible()
    expect(page.get_by_label("Welcome message")).to_have_value("x" * 501)  # what was typed, kept
    assert (
        seller.call("GET", "/settings")["welcomeMessage"] == "Hi {username}, welcome to the stream!"
    )

    page.get_by_role("button", name="Turn the bot on").click()
    expect(page.locator("#bot-title")).to_contain_text("on")
    assert seller.call("GET", "/settings")["botActive"] is True


def drawn_pixels(page: Page, selector: str) -> int:
    """How many pixels of the chart's canvas are not transparent."""
    count: int = page.locator(f"{selector} canvas").first.evaluate(
        """canvas => {
            const context = canvas.getContext("2d");
            const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
            let drawn = 0;
            for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) drawn += 1; }
            return drawn;
        }"""
    )
    return count


def test_the_analytics_charts_are_drawn_with_the_apis_numbers(page: Page, seller: Seller) -> None:
    seller.call(
        "PATCH",
        "/settings",
        json={"botActive": True, "faqRules": [{"triggers": ["ship"], "reply": "3 days."}]},
    )
    for n in range(3):
        seller.call("POST", "/messages/send", json={"message": f"Deal number {n}!"})
    seller.call(
        "POST",
        "/chat/events",
        202,
        json={"events": [{"type": "message", "username": "amy", "text": "ship?"}]},
    )
    api = seller.call("GET", "/analytics", params={"period": "week"})

    page.goto(seller.portal_link())
    page.get_by_role("link", name="Analytics").click()

    expect(page.locator("#chart-days canvas").first).to_be_visible()
    assert drawn_pixels(page, "#chart-days") > 500
    assert drawn_pixels(page, "#chart-triggers") > 100
    expect(page.locator("#by-kind tr[data-kind='api'] [data-count]")).to_have_text(
        str(api["apiMessages"])
    )
    expect(page.locator("#by-kind tr[data-kind='total'] [data-count]")).to_have_text(
        str(api["totalMessages"])
    )
    expect(page.locator("#faq-triggers")).to_contain_text("ship")
    no_serious_violations(page)
    screenshot(page, "portal-analytics", full_page=True)
