"""Browser tests: Debian's Chromium, driven by Playwright, against a real `buzz serve`.

`live` is that server, once per module: on the suite's PostgreSQL database when
`BUZZ_TEST_DATABASE_URL` names one (migrated by the session's `database_url`, emptied before
and after), on a SQLite file of its own otherwise. `page` is a fresh context and page per test
that fails the test at teardown if the page logged a console error, threw, or tried to reach
any origin but the server's. See tests/browser/harness.py for axe-core and screenshots.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from buzz.db import Database
from tests.browser.harness import CHROMIUM, CHROMIUM_ARGS, Live, Watch, open_page
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL, _empty_tables
from tests.serving import buzz_serve, free_port
from tests.support.https_receiver import HttpsReceiver


@pytest.fixture(scope="session", autouse=True)
def _node_tools(node_modules: Path) -> Path:
    """axe-core (tools/node), installed before any browser test needs it."""
    return node_modules


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"the browser tests need Chromium at {CHROMIUM}: apt-get install -y chromium"
            " (Debian's package; not `playwright install`)",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Browser]:
    """Chromium for one module. Not for the session: Playwright's sync API holds an event loop
    on the main thread while it runs, and every later test that calls `asyncio.run`
    (`deliver_due`, say) would find it running; it is stopped at the module's end."""
    # A loaded machine (the CI's two cores) renders slowly; the deadline is for a failing run.
    expect.set_options(timeout=20_000)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium_path), headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield launched
        finally:
            launched.close()


def _emptied(url: str) -> None:
    database = Database(url)
    try:
        _empty_tables(database)
    finally:
        database.dispose()


@pytest.fixture(scope="module")
def live(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """`buzz serve`, bootstrapped, for one test module, its dispatcher delivering to a local
    HTTPS receiver (`live.receiver`) and its portal links naming its own address.

    A module's tests share it (a server and its bootstrap take a second or two), but no two
    modules do: pytest runs a module's tests together, so on PostgreSQL no other module's test
    runs, and empties the tables, while this server holds data on them. Within a module, do not
    mix `live` with the `app`/`client` fixtures there: they empty the same tables after each
    test.
    """
    directory = tmp_path_factory.mktemp("live")
    port = free_port()
    with HttpsReceiver() as receiver:
        env = {
            "BUZZ_RATE_LIMIT_PER_MINUTE": "100000",  # a page may make many calls
            "BUZZ_PUBLIC_URL": f"http://127.0.0.1:{port}",  # in the portal links it hands out
            # Its dispatcher delivers to the module's local HTTPS receiver.
            "BUZZ_EMBEDDED_WORKER": "true",
            "BUZZ_ALLOW_PRIVATE_TARGETS": "true",
            "BUZZ_DISPATCH_CA_BUNDLE": receiver.ca_pem_path,
        }
        if ON_POSTGRES:
            env["BUZZ_DATABASE_URL"] = TEST_DATABASE_URL
            _emptied(TEST_DATABASE_URL)
        try:
            with buzz_serve(directory, port=port, **env) as server:
                yield Live(server=server, bootstrap=server.bootstrap(), receiver=receiver)
        finally:
            if ON_POSTGRES:
                _emptied(TEST_DATABASE_URL)


@pytest.fixture
def watch(live: Live) -> Watch:
    """The `page` fixture's record; a test may `watch.allow_console(pattern)` what it expects."""
    return Watch(live.base_url)


@pytest.fixture
def page(browser: Browser, live: Live, watch: Watch) -> Iterator[Page]:
    """A new context (1280x800, base_url the live server) and page; at teardown it is closed,
    and the test fails if any console error, uncaught exception or off-origin request (aborted
    as it happened) was recorded."""
    with open_page(browser, watch, base_url=live.base_url) as opened:
        yield opened
    if problems := watch.problems():
        pytest.fail("the page misbehaved:\n  " + "\n  ".join(problems), pytrace=False)
