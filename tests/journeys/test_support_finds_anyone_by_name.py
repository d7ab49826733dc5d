"""A caller says her name: support staff type "pri" on `/` and pick her from the suggestions."""

import re

import pytest
from playwright.sync_api import expect

from customers.console.roles import SUPPORT
from tests.browser_support import screenshot


def add_member(first: str, last: str, mobile: str) -> int:
    from customers import gateway

    created = gateway.get_client().add_customer(
        {
            "profiles": [
                {
                    "firstName": first,
                    "lastName": last,
                    "identifiers": [{"type": "mobile", "value": mobile}],
                    "source": "INSTORE",
                }
            ]
        }
    )
    assert created.created_id is not None
    return created.created_id


@pytest.fixture
def callers(transactional_db) -> dict[str, int]:
    return {
        "Prakash Rao": add_member("Prakash", "Rao", "919800000001"),
        "Priya Johnson": add_member("Priya", "Johnson", "919800000002"),
        "Priya Shah": add_member("Priya", "Shah", "919800000003"),
        "Meera Iyer": add_member("Meera", "Iyer", "919800000004"),
    }


def test_support_types_pri_and_picks_priya_johnson_with_the_keyboard(page, start_as, callers):
    start_as(SUPPORT)
    box = page.get_by_role("combobox", name=re.compile("Find a member"))
    expect(box).to_be_focused()

    box.press_sequentially("pri", delay=40)
    listbox = page.get_by_role("listbox", name="Members found")
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    expect(options).to_have_count(2)
    expect(options.first).to_contain_text("Priya Johnson")
    expect(options.nth(1)).to_contain_text("Priya Shah")
    expect(listbox).not_to_contain_text("Prakash")
    screenshot(page, "search_suggestions")

    box.press("ArrowDown")
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    box.press("ArrowUp")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", f"suggestion-{callers['Priya Johnson']}")
    expect(box).to_be_focused()

    box.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).to_have_value("pri")

    box.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    box.press("Enter")

    page.wait_for_url(re.compile(rf"/customers/{callers['Priya Johnson']}/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Priya Johnson")

    # She calls back: the home page lists her among the members opened recently.
    page.goto("/")
    recent = page.get_by_role("region", name="Members you opened recently")
    recent.get_by_role("link", name="Priya Johnson").click()
    page.wait_for_url(re.compile(rf"/customers/{callers['Priya Johnson']}/\?source=INSTORE"))


def test_without_a_pick_enter_lists_every_hit_with_what_matched(page, start_as, callers):
    start_as(SUPPORT)
    box = page.get_by_role("combobox", name=re.compile("Find a member"))
    box.fill("priya jo")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/customers/\?q=priya"))
    hits = page.locator("[data-search-hits]")
    expect(hits).to_contain_text("Priya Johnson")
    expect(hits).not_to_contain_text("Priya Shah")
    expect(hits.locator("mark").first).to_have_text("Priya")
    screenshot(page, "search_hits")
