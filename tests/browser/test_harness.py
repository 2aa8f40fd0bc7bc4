"""The browser harness itself, on the pages the service already has (Swagger UI at /docs,
ReDoc at /redoc): it renders them offline, and its watch, axe-core and screenshots work and can
fail."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Error, Page, expect

from tests.browser.harness import Live, Watch, axe_run, axe_violations, open_page, screenshot
from tests.conftest import NODE_TOOLS, ON_POSTGRES, TEST_DATABASE_URL

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PIXEL = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


def operation_blocks(live: Live) -> int:
    """How many operations Swagger UI lists: each under every one of its tags."""
    document = httpx.get(f"{live.base_url}/openapi.json").json()
    return sum(
        len(operation.get("tags") or ["default"])
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    )


def test_the_live_server_is_bootstrapped_on_the_test_database(live: Live) -> None:
    url = live.server.env["BUZZ_DATABASE_URL"]
    assert (url == TEST_DATABASE_URL) if ON_POSTGRES else url.startswith("sqlite:///"), url
    assert {"user", "client", "subscriber", "apiKey"} <= live.bootstrap.keys()
    token = httpx.post(
        f"{live.base_url}/oauth/token",
        params={"grant_type": "client_credentials"},
        auth=(live.bootstrap["client"]["clientId"], live.bootstrap["client"]["clientSecret"]),
    )
    assert token.status_code == 200, token.text


def test_swagger_ui_lists_every_operation_offline(page: Page, live: Live) -> None:
    page.goto("/docs")
    expect(page.locator(".opblock")).to_have_count(operation_blocks(live))
    expect(page.locator(".information-container .title")).to_contain_text("Buzz server")
    # The `page` fixture fails the test if anything was logged, thrown or fetched off origin.


def test_redoc_renders_offline(page: Page) -> None:
    """Its sidebar footer's logo, which the bundle would fetch from Redocly's CDN, is ours
    (src/buzz/web/docs.py): the `page` fixture fails the test on any request off origin."""
    page.goto("/redoc")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Buzz server")
    expect(page.locator("[data-section-id^='operation/']").first).to_be_attached()
    expect(page.locator("img[src^='data:image/svg+xml']").first).to_be_attached()


def test_the_watch_records_and_aborts_requests_off_origin(browser: Browser, live: Live) -> None:
    watch = Watch(live.base_url)
    with open_page(browser, watch) as page:
        with page.expect_event("requestfailed") as failed:
            page.set_content(
                '<img alt="" src="https://example.com/x.png">'
                f'<img alt="" src="{live.base_url}/docs-assets/favicon.png">'
                f'<img alt="" src="{PIXEL}">'
            )
        assert failed.value.url == "https://example.com/x.png"
        assert (failed.value.failure or "").startswith("net::ERR_BLOCKED_BY_CLIENT")
    assert watch.off_origin == ["https://example.com/x.png"]
    assert f"request off origin {live.base_url}: https://example.com/x.png" in watch.problems()


def test_the_watch_records_console_errors_and_uncaught_exceptions(
    browser: Browser, live: Live
) -> None:
    watch = Watch(live.base_url)
    with open_page(browser, watch) as page:
        with page.expect_console_message(lambda m: m.type == "error"):
            page.evaluate("() => console.error('boom')")
        page.evaluate("() => console.warn('only a warning')")
        with page.expect_event("pageerror"):
            page.evaluate("() => setTimeout(() => { throw new Error('kaboom') })")
    assert watch.console_errors == ["boom"]
    assert watch.page_errors == ["Error: kaboom"]
    assert watch.problems() == ["console error: boom", "uncaught exception: Error: kaboom"]

    watch.allow_console("^boom")
    assert watch.problems() == ["uncaught exception: Error: kaboom"]


def test_axe_runs_on_swagger_ui(page: Page, live: Live) -> None:
    page.goto("/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    result = axe_run(page)
    lock = json.loads((NODE_TOOLS / "package-lock.json").read_text())
    assert result["testEngine"]["version"] == lock["packages"]["node_modules/axe-core"]["version"]
    assert result["passes"], "axe checked nothing"
    # Swagger UI is not ours to fix: only that the filter keeps what it is asked to.
    assert {v["impact"] for v in axe_violations(page, impact=("critical",))} <= {"critical"}


def test_axe_runs_under_a_strict_content_security_policy(page: Page, watch: Watch) -> None:
    csp = "default-src 'none'; img-src data:"
    page.set_content(
        f'<html lang="en"><head><meta http-equiv="Content-Security-Policy" content="{csp}">'
        f'<title>Strict</title></head><body><main><h1>Strict</h1><img src="{PIXEL}"></main>'
    )
    # The CSP is in force: a <script> tag (Playwright's add_script_tag) is refused...
    watch.allow_console("Content Security Policy")
    with pytest.raises(Error, match="Content Security Policy"):
        page.add_script_tag(content="window.tagged = true")
    # ...but axe is evaluated over the DevTools protocol, which the page's CSP does not govern.
    assert [v["id"] for v in axe_violations(page)] == ["image-alt"]  # the <img> with no alt


def test_screenshots_are_written_only_when_asked(
    page: Page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page.set_content("<main><h1>A screenshot</h1></main>")
    monkeypatch.delenv("BUZZ_SCREENSHOTS", raising=False)
    assert screenshot(page, "shot", directory=tmp_path).startswith(PNG_SIGNATURE)
    assert not (tmp_path / "shot.png").exists()

    monkeypatch.setenv("BUZZ_SCREENSHOTS", "1")
    png = screenshot(page, "shot", directory=tmp_path / "screenshots")
    assert (tmp_path / "screenshots" / "shot.png").read_bytes() == png
