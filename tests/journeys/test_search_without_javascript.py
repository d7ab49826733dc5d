"""Without JavaScript the search box is a plain field: Enter brings the list as a page."""

import re

import pytest
from playwright.sync_api import expect

from customers.console.roles import SUPPORT
from customers.models import AuditEntry

from .test_support_finds_anyone_by_name import add_member


@pytest.fixture
def browser_context_options() -> dict[str, object]:
    return {"viewport": {"width": 1024, "height": 768}, "java_script_enabled": False}


def test_support_without_javascript_searches_pri_and_opens_priya_from_the_page(page, start_as):
    priya = add_member("Priya", "Johnson", "919800000002")
    add_member("Priya", "Shah", "919800000003")
    start_as(SUPPORT)

    box = page.get_by_label(re.compile("Find a member"))
    box.fill("Pri")
    box.press("Enter")

    page.wait_for_url(re.compile(r"/customers/\?q=Pri"))
    expect(page.locator("[data-search-range]")).to_have_text(
        "2 members whose name or identifier starts with “pri”, in every source."
    )
    hits = page.locator("[data-search-hits]")
    expect(hits.locator("mark").first).to_have_text("Pri")
    hits.get_by_role("link", name="Priya Johnson").click()
    page.wait_for_url(re.compile(rf"/customers/{priya}/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Priya Johnson")
    search = AuditEntry.objects.filter(action="search").latest("id")
    assert search.identifier_value == "Pri"
    assert search.request["keyword"] == "pri"
