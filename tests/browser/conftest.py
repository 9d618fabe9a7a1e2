"""Browser fixtures: the test app served over HTTP from a thread, a headless Chromium
driven by Playwright, a page per test and a signed-in page.

The tests skip when ``/usr/bin/chromium`` is missing (no browser download works here;
CI installs Debian's package), so the rest of the suite runs without a browser.
"""

from __future__ import annotations

import contextvars
import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests import factories

CHROMIUM = "/usr/bin/chromium"
#: Screenshots of the pages under test; git-ignored, kept by CI as artifacts.
ARTIFACTS = Path(__file__).parent / "artifacts"
#: How long a page may take to show what the server answered (debounce + a request).
TIMEOUT_MS = 5_000


class LiveServer:
    """The ``app`` fixture's app behind a real HTTP server on a free port."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        # A fresh context: the test holds the app context open in its own thread, and
        # every request must push one of its own (its own ``g`` and database session).
        self.thread = threading.Thread(
            target=contextvars.Context().run,
            args=(self.server.serve_forever,),
            kwargs={"poll_interval": 0.05},
            name="live-server",
            daemon=True,
        )
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:  # noqa: ANN001
    server = LiveServer(app)
    yield server
    server.stop()  # before the app fixture disposes of the engine


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"browser tests need Chromium at {CHROMIUM} "
            "(apt-get install -y --no-install-recommends chromium)"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the test extra")
    playwright = sync_api.sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator:  # noqa: ANN001
    """A fresh page (own cookies) in English, its links relative to the live server.
    A test marked ``refusals(422, 412)`` expects API calls answered with those statuses."""
    context = browser.new_context(
        base_url=live_server.url, locale="en-US", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    marker = request.node.get_closest_marker("refusals")
    expected = {("fetch", status) for status in (marker.args if marker else ())}

    def console(message) -> None:  # noqa: ANN001
        # Failed loads are judged by their responses below (a 422 page is a valid answer).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(f"console: {message.text} ({message.location.get('url')})")

    def response(answer) -> None:  # noqa: ANN001
        # Scripts, styles, the icon and API calls must load (a 422 page is a valid answer).
        kind = answer.request.resource_type
        if answer.status >= 400 and kind != "document" and (kind, answer.status) not in expected:
            errors.append(f"{kind} {answer.url}: {answer.status}")

    page.on("pageerror", lambda exc: errors.append(f"script: {exc}"))
    page.on("console", console)
    page.on("response", response)
    yield page
    context.close()
    assert not errors, f"the page reported errors: {errors}"


@pytest.fixture
def sign_in(page) -> Callable:  # noqa: ANN001
    """Sign ``username`` in through the login form; returns the page."""

    def sign_in(username: str, password: str = factories.PASSWORD):  # noqa: ANN202
        page.goto("/login")
        page.locator("#username").fill(username)
        page.locator("#password").fill(password)
        page.locator("form[action='/login'] button[type=submit]").click()
        page.wait_for_url(lambda url: "/login" not in url)
        return page

    return sign_in


@pytest.fixture
def screenshot(page, request: pytest.FixtureRequest) -> Callable:  # noqa: ANN001
    """Save a full-page screenshot under ``tests/browser/artifacts/`` and print its path."""

    def screenshot(label: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", f"{request.node.name}-{label}")
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path

    return screenshot
