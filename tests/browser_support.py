"""Real Chromium through Playwright against the console on a live server.

Fixtures for tests/browser/ (one screen at a time) and tests/journeys/ (a
person's whole task, from `/`), loaded for the whole suite by tests/conftest.py.

The browser is Debian's Chromium (CHROMIUM_PATH, else /usr/bin/chromium);
Playwright never downloads its own. Without one the tests skip and say why.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the
# tests make around it are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    candidate = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    if Path(candidate).is_file():
        return candidate
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "No Chromium found: set CHROMIUM_PATH or install Debian's chromium "
            "(apt-get install -y chromium). CI installs it, so there these tests always run."
        )
    from django.db import connections
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            launched.close()
            # While Playwright runs (from the first browser test to here) its event
            # loop counts as running in this thread, so Django's connection store
            # (asgiref's Local) gives this thread a second set of connections, kept
            # per context; every test run meanwhile used that set. Close it while it
            # is still the one in use: once Playwright stops, pytest-django's
            # teardown sees only the first set, and a connection left open in the
            # second kept the test database from being dropped.
            connections.close_all()


@pytest.fixture
def browser_context_options() -> dict[str, object]:
    """Overridden by a test (or a module) that needs a tablet, touch or no JavaScript."""
    return {"viewport": {"width": 1024, "height": 768}}


@pytest.fixture
def page(browser, live_server, browser_context_options):
    context = browser.new_context(base_url=live_server.url, **browser_context_options)
    context.set_default_timeout(10_000)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def sign_in(page, transactional_db):
    """Create a member of staff for a role and sign in through the login form."""
    from tests.conftest import PASSWORD, make_staff

    def sign_in_as(role: str | None, username: str | None = None):
        user = make_staff(role, username)
        page.goto("/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login/" not in url)
        return user

    return sign_in_as


def screenshot(page, name: str) -> None:
    """Keep a picture of a main screen for the README, when asked to.

    `UPDATE_SCREENSHOTS=1 make test` refreshes docs/screenshots/; ordinary runs
    leave the tracked pictures alone so the tree stays clean.
    """
    if os.environ.get("UPDATE_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
