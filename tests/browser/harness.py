"""What the browser tests share: Debian's Chromium driven by Playwright, a watch on every page
(console errors, uncaught exceptions, requests that would leave the server's origin), axe-core
and the docs' screenshots.

Nothing is downloaded: the browser is `/usr/bin/chromium` (`apt-get install chromium`, never
`playwright install`), axe-core comes from `tools/node/node_modules` (pinned by
`tools/node/package-lock.json`), and a request to any origin but the live server's is recorded,
then aborted before it leaves the machine.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Route,
    WebError,
)

from tests.conftest import NODE_TOOLS
from tests.serving import LiveServer
from tests.support.https_receiver import HttpsReceiver

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "SCREENSHOTS",
    "Live",
    "Seller",
    "Watch",
    "axe_run",
    "axe_violations",
    "no_serious_violations",
    "open_page",
    "screenshot",
]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# Playwright's own headless mode plus these. Without the background-networking ones Chromium
# keeps calling Google (updates, safe browsing, sync) on a network that is closed.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1280, "height": 800}
AXE = NODE_TOOLS / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
# Schemes that never reach the network.
_LOCAL_SCHEMES = frozenset({"data", "blob", "about"})


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass(frozen=True)
class Live:
    """A running `buzz serve` (its dispatcher on, delivering to `receiver`) and what
    `buzz admin bootstrap` made on it."""

    server: LiveServer
    bootstrap: dict[str, Any]  # user, client (clientId, clientSecret), subscriber, apiKey
    receiver: HttpsReceiver

    @property
    def base_url(self) -> str:
        return self.server.base_url


@dataclass
class Watch:
    """What the pages of one browser context did that a test did not ask for.

    `allow_console(pattern)` lets a test expect a console error (a 4xx the page handles is
    logged as "Failed to load resource: ... status of 401"); anything else is a problem.
    """

    origin: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    off_origin: list[str] = field(default_factory=list)
    _allowed: list[re.Pattern[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.origin = _origin(self.origin)

    def leaves_origin(self, url: str) -> bool:
        return urlsplit(url).scheme not in _LOCAL_SCHEMES and _origin(url) != self.origin

    def allow_console(self, pattern: str) -> None:
        self._allowed.append(re.compile(pattern))

    def excuse(self, url: str) -> None:
        """Forget a known off-origin request (already aborted) and the console error its
        failure logged; fail if it was not made, so the excuse goes once the page is fixed."""
        assert url in self.off_origin, f"{url} was not requested: remove its excuse"
        self.off_origin = [u for u in self.off_origin if u != url]
        self.console_errors = [m for m in self.console_errors if not m.endswith(f"({url})")]

    def attach(self, context: BrowserContext) -> None:
        """Record console errors, uncaught exceptions and off-origin requests of every page of
        `context`, and abort the off-origin requests (the record says what was tried)."""
        context.on("console", self._on_console)
        context.on("weberror", self._on_web_error)  # a `pageerror` of any of its pages
        context.on("request", self._on_request)
        context.route(self.leaves_origin, self._abort)

    def problems(self) -> list[str]:
        allowed = [m for m in self.console_errors if any(p.search(m) for p in self._allowed)]
        return [
            *(f"console error: {m}" for m in self.console_errors if m not in allowed),
            *(f"uncaught exception: {e}" for e in self.page_errors),
            *(f"request off origin {self.origin}: {url}" for url in self.off_origin),
        ]

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url")
            self.console_errors.append(f"{message.text} ({where})" if where else message.text)

    def _on_web_error(self, web_error: WebError) -> None:
        error = web_error.error
        self.page_errors.append(f"{error.name}: {error.message}" if error.name else error.message)

    def _on_request(self, request: Request) -> None:
        if self.leaves_origin(request.url):
            self.off_origin.append(request.url)

    @staticmethod
    def _abort(route: Route) -> None:
        route.abort("blockedbyclient")


@contextmanager
def open_page(browser: Browser, watch: Watch, **options: Any) -> Iterator[Page]:
    """A fresh context and page, attached to `watch`; the context is closed on exit. `options`
    go to `browser.new_context` (base_url, ...). The caller decides what the watch's record
    means: the `page` fixture fails the test."""
    settings: dict[str, Any] = {
        "viewport": VIEWPORT,
        "locale": "en-US",
        "timezone_id": "UTC",
        "color_scheme": "light",
        "reduced_motion": "reduce",
        # A service worker's requests would bypass context.route, and so the origin guard.
        "service_workers": "block",
    }
    context = browser.new_context(**(settings | options))
    try:
        watch.attach(context)
        yield context.new_page()
    finally:
        context.close()


def axe_run(page: Page, **options: Any) -> dict[str, Any]:
    """axe-core's full result for the page as it is now (`violations`, `passes`, ...).

    The script is evaluated over the DevTools protocol rather than added as a <script> tag:
    a page whose Content-Security-Policy forbids inline scripts refuses a tag (and logs a
    console error) but not this, so the page keeps its real CSP and no context needs
    `bypass_csp=True`, which would hide the portal's own CSP violations from every test."""
    if page.evaluate("() => typeof window.axe") == "undefined":
        page.evaluate(AXE.read_text() + "\n;undefined")
    result: dict[str, Any] = page.evaluate("options => axe.run(document, options)", options)
    return result


def axe_violations(
    page: Page, impact: Sequence[str] = ("serious", "critical"), **options: Any
) -> list[dict[str, Any]]:
    """axe-core's violations on the page whose impact is one of `impact`."""
    return [v for v in axe_run(page, **options)["violations"] if v["impact"] in impact]


def screenshot(
    page: Page, name: str, *, directory: Path = SCREENSHOTS, full_page: bool = False
) -> bytes:
    """A PNG of the page, written to `directory/<name>.png` only with BUZZ_SCREENSHOTS=1 (so an
    ordinary run never rewrites the docs' tracked files, yet takes the picture)."""
    png = page.screenshot(full_page=full_page, animations="disabled", caret="hide")
    if os.environ.get("BUZZ_SCREENSHOTS") == "1":
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{name}.png").write_bytes(png)
    return png


class Seller:
    """A BuzzChat subscriber of the live server (the bootstrap's, or the one whose key is
    given), calling the API as an integrator would."""

    def __init__(self, live: Live, key: str | None = None) -> None:
        self.http = httpx.Client(
            base_url=f"{live.base_url}/api/v1",
            headers={"Authorization": f"Bearer {key or live.bootstrap['apiKey']['key']}"},
            timeout=30,
        )

    def call(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        """The `data` of the API's answer, after checking its status."""
        response = self.http.request(method, path, **kwargs)
        assert response.status_code == status, response.text
        return response.json().get("data") if response.content else None

    def portal_link(self) -> str:
        url: str = self.call("POST", "/portal", 201)["url"]
        return url

    def close(self) -> None:
        self.http.close()


def no_serious_violations(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page as it is now."""
    found = axe_violations(page)
    assert found == [], [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in found]
