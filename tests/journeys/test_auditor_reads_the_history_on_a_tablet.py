"""On a tablet (768 px portrait, touch) an auditor reads every column of the history."""

import re

import pytest
from playwright.sync_api import expect

from customers.console.roles import AUDITOR
from tests.journeys.test_auditor_checks_the_history import history  # noqa: F401  (fixture)


@pytest.fixture
def browser_context_options():
    return {"viewport": {"width": 768, "height": 1024}, "has_touch": True}


@pytest.mark.usefixtures("history")
def test_on_a_tablet_every_column_of_the_history_is_on_screen(page, start_as):
    start_as(AUDITOR)
    page.get_by_role("navigation").get_by_role("link", name="History").click()
    reason = page.locator('td[data-label="Reason"]').first
    reason.scroll_into_view_if_needed()
    expect(reason).to_be_in_viewport()
    box = reason.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 768
    assert re.search(r"Fraud check|New phone|Welcome", page.locator("main").inner_text())


@pytest.mark.usefixtures("history")
def test_on_a_tablet_an_entry_with_its_hashes_fits_the_screen(page, start_as):
    start_as(AUDITOR)
    page.get_by_role("navigation").get_by_role("link", name="History").click()
    page.locator("table.history-table tbody tr").first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Chain")).to_be_visible()
    # The 64-character hashes wrap: the page does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    entry_hash = page.locator("table.chain-hashes code").nth(1)
    entry_hash.scroll_into_view_if_needed()
    box = entry_hash.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 768
