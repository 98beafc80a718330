"""Browser tests: real Chromium (Debian's, driven by Playwright) against real daphne on the test database.

Run in their own pytest process (`make test` does): the sync Playwright API keeps an event loop on the
main thread, which would break async tests run after it in the same process.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]

# Playwright's sync API runs an event loop on this thread; the test's own ORM calls are still sync and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def chromium_path() -> str | None:
    for candidate in (os.environ.get("NOVAWEB_CHROMIUM"), "/usr/lib/chromium/chromium", "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(db: dict) -> str:
    """A libpq URL for the test database daphne must use (socket-directory hosts included)."""
    host = db.get("HOST") or db.get("OPTIONS", {}).get("host", "")
    query = f"?host={quote(host)}" if host.startswith("/") else ""
    netloc = "" if query else f"{host}:{db.get('PORT') or 5432}"
    return f"postgresql://{quote(db['USER'] or '')}:{quote(db.get('PASSWORD') or '')}@{netloc}/{db['NAME']}{query}"


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
    """daphne serving NovaWeb on a free port, against the test database."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(settings.DATABASES["default"]),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "NOVAWEB_ENV": "development",
        "DJANGO_SETTINGS_MODULE": "novaweb.settings",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log = open(ROOT / "var" / "e2e-daphne.log", "w")  # noqa: SIM115 — closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "novaweb.asgi:application"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"daphne did not start; see {log.name}") from None
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="session")
def browser(browser_executable):
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=browser_executable, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def page(browser, server, transactional_db):
    """A fresh browser context (no cookies) on a fresh database; console errors fail the test."""
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    yield page
    context.close()
    assert not errors, f"the page raised: {errors}"


@pytest.fixture(scope="session")
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
