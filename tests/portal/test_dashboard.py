"""SPEC §7: a BuzzChat subscriber's dashboard in the portal. Analytics in charts and tables (the
numbers of `GET /api/v1/analytics`), the giveaway (entries, pick winners, clear) and the bot's
settings, acting on the active account as the API does, refusing what the API refuses with the
API's own words, and only ever for the session's own subscriber."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from buzz.clock import ManualClock
from buzz.testing import SeededSubscriber, SeededUser, run_due
from tests.buzzchat.helpers import API, chat, enter, error, joined, ok, said, settings_patch
from tests.integrations.helpers import make_integration
from tests.portal.helpers import Browser, browser, integration_link, subscriber_link

# ---- a browser's forms ---------------------------------------------------------------------------


@dataclass
class Form:
    """One form of a page, as a browser would send it: every field's values in page order."""

    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)

    def set(self, name: str, value: str) -> Form:
        assert name in self.fields, f"no field {name} in the form to {self.action}"
        self.fields[name] = [value]
        return self

    def check(self, name: str, on: bool = True) -> Form:
        # A checkbox follows a hidden "false" of the same name; checked, it adds "true".
        assert name in self.fields, f"no checkbox {name} in the form to {self.action}"
        self.fields[name] = ["false", "true"] if on else ["false"]
        return self

    def without(self, name: str) -> Form:
        self.fields.pop(name)
        return self


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", "")))
        elif not self.forms or "name" not in a:
            return
        elif tag == "input":
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                self.forms[-1].fields.setdefault(a["name"], [])
                return
            self.forms[-1].fields.setdefault(a["name"], []).append(a.get("value", "on"))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None and self.forms:
            self.forms[-1].fields.setdefault(self._textarea, []).append(self._text)
            self._textarea = None


def form_on(text: str, action: str, *, containing: str | None = None) -> Form:
    """The page's form that posts to `action` (and has the field `containing`)."""
    parser = _Forms()
    parser.feed(text)
    for found in parser.forms:
        if found.action == action and (containing is None or containing in found.fields):
            return found
    raise AssertionError(f"no form to {action} on the page")


def send(viewer: Browser, form: Form) -> httpx.Response:
    return viewer.client.post(form.action, data=form.fields, follow_redirects=False)


def seen_again(viewer: Browser, response: httpx.Response) -> str:
    """The page a form's 303 leads to."""
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    assert location.path.startswith("/portal/")
    return viewer.page(location.path.removeprefix("/portal"), **dict(parse_qsl(location.query)))


def field_error(text: str, control: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="{re.escape(control)}-error">(.*?)</p>', text)
    return html.unescape(found.group(1)) if found else None


def textarea(text: str, name: str) -> str:
    found = re.search(
        rf'<textarea id="{re.escape(name)}" name="{re.escape(name)}"[^>]*>(.*?)</textarea>',
        text,
        re.S,
    )
    assert found, f"no textarea {name}"
    return html.unescape(found.group(1))


# ---- fixtures and API steps -----------------------------------------------------------------


@pytest.fixture
def seller(app: FastAPI, client: TestClient, shop: SeededSubscriber) -> Browser:
    """`shop`'s portal, opened in a browser of its own from a link the API handed out."""
    return browser(app, subscriber_link(client, shop))


def api_settings(client: TestClient, shop: SeededSubscriber) -> dict[str, Any]:
    data: dict[str, Any] = ok(client.get(f"{API}/settings", headers=shop.headers))
    return data


def api_refusal(response: httpx.Response) -> dict[str, str]:
    """The API's refusal: its field → message."""
    assert response.status_code == 400, response.text
    return {d["field"]: d["message"] for d in response.json()["error"]["details"]}


def entries(client: TestClient, shop: SeededSubscriber) -> list[str]:
    data = ok(client.get(f"{API}/giveaway/entries", headers=shop.headers))
    return [e["username"] for e in data["entries"]]


def subscribe(client: TestClient, shop: SeededSubscriber, *events: str) -> str:
    body = {"url": "https://hooks.example.com/buzzchat", "events": list(events)}
    return str(ok(client.post(f"{API}/webhooks", json=body, headers=shop.headers), 201)["id"])


def logged_types(client: TestClient, shop: SeededSubscriber, webhook_id: str) -> list[str]:
    data = ok(client.get(f"{API}/webhooks/{webhook_id}/deliveries", headers=shop.headers))
    return [d["eventType"] for d in data["deliveries"]]


def settings_form(seller: Browser) -> Form:
    return form_on(seller.page("/settings"), "/portal/settings", containing="welcomeMessage")


# ---- who may see the dashboard ---------------------------------------------------------------


PAGES = ("/analytics", "/giveaway", "/giveaway/entries", "/settings")


@pytest.mark.parametrize("path", PAGES)
def test_each_page_is_a_complete_html_page_under_the_portals_headers(
    seller: Browser, path: str
) -> None:
    response = seller.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "style-src 'self'" in response.headers["content-security-policy"]
    # Nothing inline that the policy would block: no style attributes, no executable scripts.
    assert " style=" not in response.text
    assert "<style" not in response.text
    for script in re.findall(r"<script[^>]*>", response.text):
        assert 'type="application/json"' in script or 'src="/portal/static/' in script, script


def test_a_buzz_integrations_session_gets_404_pages(
    app: FastAPI, client: TestClient, alice: SeededUser
) -> None:
    integration = make_integration(client, alice)["id"]
    owner = browser(app, integration_link(client, alice, integration))
    for path in PAGES:
        response = owner.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        assert "BuzzChat subscriber" in response.text
    for path in ("/settings", "/giveaway/pick", "/giveaway/clear"):
        assert owner.post(path, {"welcomeDelay": "0", "account": "x"}).status_code == 404


def test_without_a_session_the_pages_ask_for_a_new_link(app: FastAPI) -> None:
    stranger = browser(app)
    for path in PAGES:
        assert stranger.get(path).status_code == 401


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/settings", {"welcomeMessage": "Changed"}),
        ("/settings", {"botActive": "true"}),
        ("/giveaway/pick", {"count": "1"}),
        ("/giveaway/clear", {}),
    ],
)
def test_a_form_without_the_sessions_csrf_token_is_403_and_changes_nothing(
    client: TestClient,
    shop: SeededSubscriber,
    seller: Browser,
    path: str,
    fields: dict[str, str],
) -> None:
    enter(client, shop, "amy")
    before = api_settings(client, shop)
    data = {"account": shop.account_id, **fields}
    missing = seller.client.post(f"/portal{path}", data=data, follow_redirects=False)
    forged = seller.post(path, data, csrf="0" * 64)
    for response in (missing, forged):
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("text/html")
    assert api_settings(client, shop) == before
    assert entries(client, shop) == ["amy"]  # not cleared
    drawn = ok(client.post(f"{API}/giveaway/pick-winner", json={"count": 1}, headers=shop.headers))
    assert drawn["winners"] == ["amy"]  # nor picked already


def test_another_shops_session_never_sees_or_changes_this_shops_giveaway_and_settings(
    app: FastAPI,
    client: TestClient,
    shop: SeededSubscriber,
    other_shop: SeededSubscriber,
) -> None:
    settings_patch(client, shop, welcomeMessage="Sunny says hi", giveawayKeywords=["sunnyword"])
    enter(client, shop, "amy_of_sunny")
    rival = browser(app, subscriber_link(client, other_shop))
    for path in PAGES:
        shown = rival.page(path)
        assert "amy_of_sunny" not in shown
        assert "Sunny says hi" not in shown
        assert "sunnyword" not in shown
        assert shop.account_id not in shown
    # Forms naming this shop's account are refused (409), never applied to either shop.
    before = api_settings(client, shop)
    for path, fields in (
        ("/settings", {"welcomeMessage": "Hijacked"}),
        ("/giveaway/pick", {"count": "1"}),
        ("/giveaway/clear", {}),
    ):
        response = rival.post(path, {"account": shop.account_id, **fields})
        assert response.status_code == 409, response.text
    assert api_settings(client, shop) == before
    assert api_settings(client, other_shop)["welcomeMessage"] != "Hijacked"
    assert entries(client, shop) == ["amy_of_sunny"]


def test_the_pages_act_on_the_active_account_and_a_form_from_before_a_switch_is_refused(
    client: TestClient, shop: SeededSubscriber, seller: Browser
) -> None:
    first = settings_form(seller).set("welcomeMessage", "For the first account")
    second = ok(client.post(f"{API}/accounts", json={"name": "Second"}, headers=shop.headers), 201)
    body = {"accountId": second["id"]}
    ok(client.post(f"{API}/accounts/switch", json=body, headers=shop.headers))

    response = send(seller, first)

    assert response.status_code == 409, response.text
    assert "Second" in response.text  # names the account that is active now
    assert api_settings(client, shop)["welcomeMessage"] != "For the first account"
    params = {"account": shop.account_id}
    kept = ok(client.get(f"{API}/settings", headers=shop.headers, params=params))
    assert kept["welcomeMessage"] != "For the first account"
    assert "Second" in seller.page("/settings")
    assert second["id"] in seller.page("/giveaway")


# ---- settings ----------------------------------------------------------------------------------


def test_settings_changed_in_the_portal_are_what_the_api_returns(
    client: TestClient, shop: SeededSubscriber, seller: Browser
) -> None:
    form = (
        settings_form(seller)
        .set("welcomeMessage", "Hello {username}!\r\nEnjoy.")
        .set("welcomeDelay", "1500")
        .check("faqEnabled", False)
        .set("giveawayKeywords", "enter\r\n  join  \r\n\r\n")
        .set("faq-0-triggers", "ship\r\ndelivery")
        .set("faq-0-reply", "Free shipping over $50")
        .check("faq-0-caseSensitive")
        .set("timer-0-message", "Follow us")
        .set("timer-0-intervalMinutes", "15")
        .check("timer-0-enabled", False)
    )

    page = seen_again(seller, send(seller, form))

    assert "Settings updated" in page
    now = api_settings(client, shop)
    assert now["welcomeMessage"] == "Hello {username}!\nEnjoy."
    assert now["welcomeDelay"] == 1500
    assert now["faqEnabled"] is False
    assert now["welcomeEnabled"] is True
    assert now["giveawayKeywords"] == ["enter", "join"]
    [rule] = now["faqRules"]
    assert rule["triggers"] == ["ship", "delivery"]
    assert rule["reply"] == "Free shipping over $50"
    assert (rule["caseSensitive"], rule["enabled"]) == (True, True)
    assert rule["id"].startswith("faq_")
    [timer] = now["timerMessages"]
    assert (timer["message"], timer["intervalMinutes"], timer["enabled"]) == (
        "Follow us",
        15,
        False,
    )
    # The page shows what was saved, with a new empty row to add one more.
    assert textarea(page, "faq-0-triggers") == "ship\ndelivery"
    assert textarea(page, "faq-1-triggers") == ""


def test_saving_the_form_unchanged_changes_nothing(
    client: TestClient, shop: SeededSubscriber, seller: Browser
) -> None:
    settings_patch(
        client,
        shop,
        welcomeMessage="  Hi {username}  ",
        faqRules=[
            {"triggers": ["a b", "Ship"], "reply": "One", "caseSensitive": True},
            {"triggers": ["pay"], "reply": "Two", "enabled": False},
        ],
        timerMessages=[{"message": "Tick", "intervalMinutes": 5, "enabled": False}],
        giveawayKeywords=["enter", "win"],
    )
    before = api_settings(client, shop)

    seen_again(seller, send(seller, settings_form(seller)))

    assert api_settings(client, shop) == before


def test_a_rule_can_be_deleted_and_another_edited_keeping_its_id(
    client: TestClient, shop: SeededSubscriber, seller: Browser
) -> None:
    rules = [{"triggers": ["ship"], "reply": "One"}, {"triggers": ["pay"], "reply": "Two"}]
    made = settings_patch(client, shop, faqRules=rules)["faqRules"]
    form = (
        settings_form(seller)
        .check("faq-0-delete")
        .set("faq-1-reply", "Cards and cash")
        .check("faq-1-enabled", False)
    )

    seen_again(seller, send(seller, form))

    [kept] = api_settings(client, shop)["faqRules"]
    assert kept["id"] == made[1]["id"]
    assert (kept["reply"], kept["enabled"], kept["triggers"]) == ("Cards and cash", False, ["pay"])


def test_an_over_long_welcome_message_is_refused_with_the_apis_words_and_changes_nothing(
    client: TestClient, shop: SeededSubscriber, seller: Browser
) -> None:
    before = api_settings(client, shop)
    too_long = "w" * 501
    expected = api_refusal(
        client.patch(f"{API}/settings", json={"welcomeMessage": too_long}, headers=shop.headers)
    )
    form = settings_form(seller).set("welcomeMessage", too_long).set("welcomeDelay", "1234")

    response = send(seller, form)

    assert response.status_code == 400, response.text
    assert field_error(response.text, "welcomeMessage") == expected["welcomeMessage"]
    assert "<code>welcomeMessage</code>" in response.text  # named as the API names it
    assert "Nothing was saved" in response.text
    # What was typed is still in the form, to correct.
    assert textarea(response.text, "welcomeMessage") == too_long
    assert re.search(r'name="welcomeDelay"[^>]*value="1234"', response.text)
    assert api_settings(client, shop) == before


@pytest.mark.parametrize(
    ("fields", "api_body", "control", "api_field"),
    [
        ({"welcomeDelay": "60001"}, {"welcomeDelay": 60001}, "welcomeDelay", "welcomeDelay"),
        ({"welcomeDelay": "soon"}, {"welcomeDelay": "soon"}, "welcomeDelay", "welcomeDelay"),
        (
            {"giveawayKeywords": "\r\n"},
            {"giveawayKeywords": []},
            "giveawayKeywords",
            "giveawayKeywords",
        ),
        (
            {"giveawayKeywords": "win\r\nWIN"},
            {"giveawayKeywords": ["win", "WIN"]},
            "giveawayKeywords",
            "giveawayKeywords",
        ),
        (
            {"timer-0-message": "Tick", "timer-0-intervalMinutes": "1441"},
            {"timerMessages": [{"message": "Tick", "intervalMinutes": 1441}]},
            "timer-0-intervalMinutes",
            "timerMessages[0].intervalMinutes",
        ),
        (
            {"faq-0-reply": "A reply to nothing"},
            {"faqRules": [{"triggers": [], "reply": "A reply to nothing"}]},
            "faq-0-triggers",
            "faqRules[0].triggers",
        ),
    ],
)
def test_each_refusal_is_the_apis_shown_beside_its_field(
    client: TestClient,
    shop: SeededSubscriber,
    seller: Browser,
    fields: dict[str, str],
    api_body: dict[str, Any],
    control: str,
    api_field: str,
) -> None:
    before = api_settings(client, shop)
    expected = api_refusal(client.patch(f"{API}/settings", json=api_body, headers=shop.headers))
    form = settings_form(seller)
    for name, value in fields.items():
        form.set(name, value)

    response = send(seller, form)

    assert response.status_code == 400, response.text
    assert field_error(response.text, control) == expected[api_field]
    assert f"<code>{api_field}</code>" in response.text
    assert api_settings(client, shop) == before


def test_a_refused_rule_is_shown_beside_its_own_row_when_rows_before_it_are_deleted(
    client: TestClient, shop: SeededSubscriber, seller: Browser
) -> None:
    rules = [{"triggers": ["ship"], "reply": "One"}, {"triggers": ["pay"], "reply": "Two"}]
    settings_patch(client, shop, faqRules=rules)
    before = api_settings(client, shop)
    form = settings_form(seller).check("faq-0-delete").set("faq-2-triggers", "x" * 101)
    form.set("faq-2-reply", "New")

    response = send(seller, form)

    # The API would name it faqRules[1] (the deleted rule is not sent): the form's third row.
    assert response.status_code == 400, response.text
    message = api_refusal(
        client.patch(
            f"{API}/settings",
            json={"faqRules": [{"triggers": ["x" * 101], "reply": "New"}]},
            headers=shop.headers,
        )
    )["faqRules[0].triggers[0]"]
    assert field_error(response.text, "faq-2-triggers") == message
    assert "<code>faqRules[1].triggers[0]</code>" in response.text
    assert 'id="faq-0-delete" name="faq-0-delete" value="true" checked' in response.text
    assert api_settings(client, shop) == before


def test_turning_the_bot_on_and_off_raises_the_apis_webhook_events(
    client: TestClient, shop: SeededSubscriber, seller: Browser
) -> None:
    webhook_id = subscribe(client, shop, "bot.started", "bot.stopped")
    turn_on = form_on(seller.page("/settings"), "/portal/settings", containing="botActive")
    assert turn_on.fields["botActive"] == ["true"]

    page = seen_again(seller, send(seller, turn_on))

    assert api_settings(client, shop)["botActive"] is True
    assert logged_types(client, shop, webhook_id) == ["bot.started"]
    turn_off = form_on(page, "/portal/settings", containing="botActive")
    assert turn_off.fields["botActive"] == ["false"]
    seen_again(seller, send(seller, turn_off))
    assert api_settings(client, shop)["botActive"] is False
    assert logged_types(client, shop, webhook_id) == ["bot.stopped", "bot.started"]
    # The big form leaves the bot as it is.
    seen_again(seller, send(seller, settings_form(seller)))
    assert logged_types(client, shop, webhook_id) == ["bot.stopped", "bot.started"]


# ---- the giveaway ------------------------------------------------------------------------------


def pick_form(seller: Browser) -> Form:
    return form_on(seller.page("/giveaway"), "/portal/giveaway/pick")


def test_the_giveaway_page_lists_this_rounds_entries_and_its_fragment_keeps_them_current(
    client: TestClient, shop: SeededSubscriber, seller: Browser
) -> None:
    enter(client, shop, "amy")
    enter(client, shop, "ben")
    page = seller.page("/giveaway")
    assert page.index("amy") < page.index("ben")  # oldest first
    assert '<span id="entry-count" aria-live="polite">2</span>' in page
    assert 'data-live="/portal/giveaway/entries"' in page

    enter(client, shop, "cara")
    fragment = seller.page("/giveaway/entries")

    assert fragment.strip().startswith('<tbody id="entries" data-count="3">')
    assert fragment.strip().endswith("</tbody>")
    assert [u for u in ("amy", "ben", "cara") if f'<th scope="row">{u}</th>' in fragment] == [
        "amy",
        "ben",
        "cara",
    ]


def test_picking_winners_names_entries_and_the_api_agrees(
    client: TestClient, shop: SeededSubscriber, seller: Browser
) -> None:
    for name in ("amy", "ben", "cara"):
        enter(client, shop, name)

    page = seen_again(seller, send(seller, pick_form(seller).set("count", "2")))

    found = re.search(r"Winners: <strong>(.*?)</strong>", page)
    assert found, page
    winners = found.group(1).split(", ")
    assert len(winners) == 2
    assert set(winners) < {"amy", "ben", "cara"}
    assert len(set(winners)) == 2
    for name in winners:
        assert re.search(rf'<th scope="row">{name}</th><td><time[^>]*>[^<]*</time></td></tr>', page)
    # The API sees the same round: one entry left to win, and it is the one not picked.
    refused = client.post(f"{API}/giveaway/pick-winner", json={"count": 2}, headers=shop.headers)
    assert "Only 1 eligible entries" in error(refused, 400, "VALIDATION_ERROR")
    last = ok(client.post(f"{API}/giveaway/pick-winner", json={"count": 1}, headers=shop.headers))
    assert last["winners"] == list({"amy", "ben", "cara"} - set(winners))
    # On reload the round's winners are still there, all three now.
    again = seller.page("/giveaway")
    assert again.count('<span class="badge ok">Winner</span>') == 3


def test_a_pick_form_sent_twice_draws_once(
    client: TestClient, shop: SeededSubscriber, seller: Browser
) -> None:
    for name in ("amy", "ben", "cara"):
        enter(client, shop, name)
    form = pick_form(seller)

    seen_again(seller, send(seller, form))
    seen_again(seller, send(seller, form))  # a double click, a resent form

    page = seller.page("/giveaway")
    assert page.count('<span class="badge ok">Winner</span>') == 1


@pytest.mark.parametrize(
    ("count", "api_count"), [("0", 0), ("11", 11), ("two", "two"), ("1.5", "1.5")]
)
def test_a_count_out_of_the_apis_bounds_is_refused_with_its_words(
    client: TestClient, shop: SeededSubscriber, seller: Browser, count: str, api_count: Any
) -> None:
    enter(client, shop, "amy")
    api = client.post(
        f"{API}/giveaway/pick-winner", json={"count": api_count}, headers=shop.headers
    )
    expected = api.json()["error"]

    response = send(seller, pick_form(seller).set("count", count))

    assert response.status_code == 400, response.text
    assert field_error(response.text, "count") == expected["details"][0]["message"]
    assert expected["message"] in html.unescape(response.text)  # the API's whole sentence
    assert re.search(rf'name="count"[^>]*value="{re.escape(count)}"', response.text)  # as typed
    assert "No winner picked yet in this round." in response.text
    assert entries(client, shop) == ["amy"]


def test_picking_with_no_entries_says_so(
    client: TestClient, shop: SeededSubscriber, seller: Browser
) -> None:
    response = send(seller, pick_form(seller))

    assert response.status_code == 400, response.text
    assert field_error(response.text, "count") == "No eligible entries to pick a winner from"


def test_clearing_empties_the_entries_and_starts_a_new_round(
    client: TestClient, shop: SeededSubscriber, seller: Browser
) -> None:
    enter(client, shop, "amy")
    enter(client, shop, "ben")
    seen_again(seller, send(seller, pick_form(seller)))
    page = seller.page("/giveaway")
    clear = form_on(page, "/portal/giveaway/clear")
    assert re.search(
        r'<form method="post" action="/portal/giveaway/clear" data-confirm="[^"]+">', page
    )

    page = seen_again(seller, send(seller, clear))

    assert "All entries cleared" in page
    assert entries(client, shop) == []
    assert "No entries yet in this round." in page
    assert "No winner picked yet in this round." in page
    enter(client, shop, "amy")  # a new round: amy may enter again
    assert entries(client, shop) == ["amy"]


# ---- analytics ---------------------------------------------------------------------------------


def by_kind_table(text: str) -> dict[str, int]:
    table = text.split('id="by-kind"', 1)[1].split("</table>", 1)[0]
    return {
        kind: int(n)
        for kind, n in re.findall(
            r'<tr data-kind="(\w+)"><th scope="row">[^<]*</th><td data-count>(\d+)</td>', table
        )
    }


def shares_table(text: str) -> dict[str, float]:
    return {
        kind: float(share)
        for kind, share in re.findall(
            r'<tr data-kind="(\w+)">.*?<td data-share>([\d.]+) %</td>', text
        )
    }


def per_day_table(text: str) -> dict[str, dict[str, int]]:
    if 'id="per-day"' not in text:
        return {}
    table = text.split('id="per-day"', 1)[1].split("</table>", 1)[0]
    return {
        day: {kind: int(n) for kind, n in re.findall(r'<td data-kind="(\w+)">(\d+)</td>', cells)}
        for day, cells in re.findall(r'<tr data-day="([\d-]+)">(.*?)</tr>', table)
    }


def triggers_table(text: str) -> list[tuple[str, int]]:
    if 'id="faq-triggers"' not in text:
        return []
    table = text.split('id="faq-triggers"', 1)[1].split("</table>", 1)[0]
    return [
        (html.unescape(k), int(n))
        for k, n in re.findall(
            r'<tr><th scope="row">([^<]*)</th><td data-count>(\d+)</td></tr>', table
        )
    ]


def chart_data(text: str) -> dict[str, Any]:
    found = re.search(
        r'<script type="application/json" id="analytics-data">(.*?)</script>', text, re.S
    )
    assert found
    data: dict[str, Any] = json.loads(found.group(1))
    return data


@pytest.fixture
def busy_bot(app: FastAPI, client: TestClient, shop: SeededSubscriber, clock: ManualClock) -> None:
    """Welcomes, FAQ replies, timers and API messages, sent over three days."""
    settings_patch(
        client,
        shop,
        botActive=True,
        welcomeDelay=0,
        faqRules=[
            {"triggers": ["ship"], "reply": "Free shipping"},
            {"triggers": ["pay", "card"], "reply": "Cards"},
        ],
        timerMessages=[{"message": "Follow us", "intervalMinutes": 60}],
    )
    chat(client, shop, joined("amy"), said("amy", "ship?"), said("ben", "pay by card?"))
    for _ in range(2):
        ok(client.post(f"{API}/messages/send", json={"message": "Sale!"}, headers=shop.headers))
    run_due(app)
    clock.advance(hours=26)
    run_due(app)  # the timer
    chat(client, shop, said("cara", "ship to Spain?"))
    run_due(app)
    clock.advance(hours=24)
    chat(client, shop, said("dan", "ship?"))
    ok(client.post(f"{API}/messages/send", json={"message": "Last call"}, headers=shop.headers))
    run_due(app)


@pytest.mark.parametrize("period", ["day", "week", "month", "all"])
def test_the_analytics_tables_show_the_apis_numbers(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, busy_bot: None, period: str
) -> None:
    seller = browser(app, subscriber_link(client, shop))  # opened now: the bot's days went by
    api = ok(client.get(f"{API}/analytics", headers=shop.headers, params={"period": period}))
    top = ok(
        client.get(f"{API}/analytics/faq-triggers", headers=shop.headers, params={"period": period})
    )

    page = seller.page("/analytics", period=period)

    assert by_kind_table(page) == {
        "welcome": api["welcomeMessages"],
        "faq": api["faqReplies"],
        "timer": api["timerMessages"],
        "api": api["apiMessages"],
        "total": api["totalMessages"],
    }
    assert shares_table(page) == api["breakdown"]
    assert triggers_table(page) == [(t["keyword"], t["count"]) for t in top["triggers"]]
    days = per_day_table(page)
    for kind, total in (("welcome", api["welcomeMessages"]), ("faq", api["faqReplies"])):
        assert sum(d[kind] for d in days.values()) == total
    assert sum(d["total"] for d in days.values()) == api["totalMessages"]
    # The charts draw the same numbers as the tables.
    data = chart_data(page)
    assert data["days"] == list(days)
    for kind in ("welcome", "faq", "timer", "api"):
        assert data["counts"][kind] == [d[kind] for d in days.values()]
    assert [(t["keyword"], t["count"]) for t in data["triggers"]] == triggers_table(page)


def test_the_analytics_show_something_was_sent(
    app: FastAPI, client: TestClient, shop: SeededSubscriber, busy_bot: None
) -> None:
    seller = browser(app, subscriber_link(client, shop))
    # Not all zeros: the comparison above compares real numbers.
    page = seller.page("/analytics", period="all")
    counted = by_kind_table(page)
    assert counted["total"] >= 8
    assert min(counted["welcome"], counted["faq"], counted["timer"], counted["api"]) >= 1
    assert triggers_table(page)[0] == ("ship", 3)
    assert 'id="chart-days"' in page and 'id="chart-triggers"' in page


def test_the_period_defaults_to_a_week_and_an_unknown_one_is_the_apis_400(
    client: TestClient, shop: SeededSubscriber, seller: Browser
) -> None:
    page = seller.page("/analytics")
    assert '<option value="week" selected>' in page
    assert len(per_day_table(page)) == 8  # the week's start day and seven more
    expected = client.get(f"{API}/analytics", headers=shop.headers, params={"period": "year"})

    response = seller.get("/analytics", period="year")

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert expected.json()["error"]["details"][0]["message"] in html.unescape(response.text)


def test_the_chart_library_and_scripts_are_served_by_the_portal(seller: Browser) -> None:
    page = seller.page("/analytics")
    assets = re.findall(r'(?:src|href)="(/portal/static/[^"]+)"', page)
    assert "/portal/static/vendor/uplot-1.6.32/uPlot.iife.min.js" in assets
    assert "/portal/static/vendor/uplot-1.6.32/uPlot.min.css" in assets
    assert "/portal/static/charts.js" in assets
    for asset in [
        *assets,
        "/portal/static/giveaway.js",
        "/portal/static/vendor/uplot-1.6.32/LICENSE",
    ]:
        response = seller.client.get(asset)
        assert response.status_code == 200, asset
        assert response.content
