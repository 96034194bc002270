"""The browser tier: the console in Debian's chromium, driven by Playwright, against a live server.

One server per engine (SQLite always, PostgreSQL with OPENISALES_TEST_PG_URL)
and one browser for the tier, both kept for the tests of this package only
(``scope="package"``: Playwright's sync API marks its event loop as running
in the main thread, which the asyncio tests of other packages must not
meet). Every test gets a new browser context (its own cookies) at 1280×800.

Chromium is Debian's (``apt-get install chromium``; ``.ci/run`` installs it):
Playwright never downloads a browser here. Without /usr/bin/chromium the
whole tier is skipped, saying so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tests.browser.live import PASSWORD, Live, in_thread, running
from tests.conftest import ENGINES, _drop_pg_database, _pg_database

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # the machine's network is closed: no update checks, sync or field trials
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000
HERE = Path(__file__).parent

expect.set_options(timeout=TIMEOUT_MS)  # Playwright's own default is 5 s


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"no {CHROMIUM}: apt-get install chromium (.ci/run does)")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(skip)


def launch(playwright: Playwright) -> Browser:
    """Debian's chromium, headless, in a fresh profile (Playwright makes a temporary one)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)


def new_context(browser: Browser, live: Live) -> BrowserContext:
    context = browser.new_context(
        base_url=live.base,
        ignore_https_errors=True,  # serve's self-signed certificate
        viewport=VIEWPORT,  # type: ignore[arg-type]
        locale="en-GB",
        timezone_id="UTC",
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture(scope="package", params=ENGINES)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """``openisales serve`` (TLS, dispatcher with the simulator) on a fresh database."""
    tmp = tmp_path_factory.mktemp(f"live-{request.param}")
    if request.param == "sqlite":
        with running(tmp, "sqlite") as server:
            yield server
        return
    url = in_thread(_pg_database())
    try:
        with running(tmp, "postgres", url) as server:
            yield server
    finally:
        in_thread(_drop_pg_database(url))


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser, live: Live) -> Iterator[BrowserContext]:
    context = new_context(browser, live)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def log_in(page: Page, name: str, password: str = PASSWORD) -> None:
    """Log in through the form, as a person does; lands on the operator's first page."""
    page.goto("/console/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/console/(?!login)"))


def csrf_token(page: Page) -> str:
    """The session's CSRF token, as every page carries it (the logout form's hidden field)."""
    value = page.locator('input[name="csrf"]').first.get_attribute("value")
    assert value, page.content()
    return value


@pytest.fixture
def login(page: Page) -> Callable[[str], Page]:
    def go(name: str) -> Page:
        log_in(page, name)
        return page

    return go
