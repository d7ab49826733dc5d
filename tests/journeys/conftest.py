"""Journeys: a person's whole task in Chromium, signed in as a role, starting at `/`.

Each journey types and clicks as people do and asserts what is visible: text in
the viewport, where focus is, and values equal to what Capillary (the emulator)
holds afterwards. Fixtures come from tests/browser_support.py.
"""

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/journeys/" in str(item.path):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.journey)


@pytest.fixture
def start_as(page, sign_in):
    """Sign in through the login form as a role and land on the home page, `/`."""

    def start(role: str | None, username: str | None = None):
        user = sign_in(role, username)
        page.goto("/")
        return user

    return start
