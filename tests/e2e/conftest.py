"""Browser tests: real Chromium (Debian's, driven by Playwright) against real daphne on the test database.

Run in their own pytest process (`make test` does): the sync Playwright API keeps an event loop on the
main thread, which would break async tests run after it in the same process.
"""

import contextlib
import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from tests.servers import daphne

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
FAILURES = ROOT / "var" / "e2e-failures"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Playwright's sync API runs an event loop on this thread; the test's own ORM calls are still sync and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report on the test item, so fixtures can tell a failed test at teardown."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("NOVAWEB_CHROMIUM"),
        "/usr/lib/chromium/chromium",
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser_executable():
    path = chromium_path()
    if path is None:
        if os.environ.get("NOVAWEB_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (NOVAWEB_REQUIRE_BROWSER) but was not found")
        pytest.skip("Chromium not installed (apt-get install chromium); browser tests skipped")
    return path


@pytest.fixture(scope="session")
def server(django_db_setup, django_db_blocker, fake_provider, browser_executable):
    """daphne serving NovaWeb on a free port, against the test database (settings: tests/e2e/settings.py,
    the app's own with a fast password hasher)."""
    with daphne(
        settings.DATABASES["default"], name="e2e", DJANGO_SETTINGS_MODULE="tests.e2e.settings"
    ) as server:
        yield server.url


@pytest.fixture(scope="session")
def browser(browser_executable):
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=browser_executable, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


def watch(page, errors: list) -> None:
    """Fail the test on anything in `page` a person would call broken: an uncaught script error, a dialog
    (alert/confirm/prompt), a server error (5xx) on any request, or something the Content-Security-Policy
    blocked."""

    def on_console(message):
        if message.type == "error" and "Content Security Policy" in message.text:
            errors.append(f"{page.url}: CSP: {message.text}")

    def on_response(response):
        if response.status >= 500:
            errors.append(f"{page.url}: HTTP {response.status} from {response.request.method} {response.url}")

    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on(
        "dialog", lambda dialog: (errors.append(f"{page.url}: dialog: {dialog.message}"), dialog.dismiss())
    )
    page.on("console", on_console)
    page.on("response", on_response)


@pytest.fixture
def new_context(request, browser, server, transactional_db):
    """Open more browser contexts (another person, another colour scheme, a phone); every page opened in
    them is watched for page errors and dialogs like `page` is. When the test fails, every page still open
    is saved as var/e2e-failures/<test>-<n>.png."""
    contexts, errors = [], []

    def open_context(**options):
        options = {"base_url": server, "viewport": {"width": 1280, "height": 800}, **options}
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        context.on("page", lambda new_page: watch(new_page, errors))
        contexts.append(context)
        return context

    yield open_context
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        FAILURES.mkdir(parents=True, exist_ok=True)
        pages = [p for context in contexts for p in context.pages]
        for n, open_page in enumerate(pages, 1):
            with contextlib.suppress(Exception):  # a debugging aid must not hide the real failure
                open_page.screenshot(
                    path=FAILURES / f"{request.node.name}-{n}.png", full_page=True, caret="initial"
                )
    for context in contexts:
        context.close()
    assert not errors, f"the page raised: {errors}"


@pytest.fixture
def page(new_context):
    """A fresh browser context (no cookies) on a fresh database; page errors and dialogs fail the test,
    also in pages opened later in the same context (page.context.new_page())."""
    return new_context().new_page()


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
