"""Support staff type into the search box on `/`: Escape never throws their typing away."""

import re

from playwright.sync_api import expect

from customers.console.roles import SUPPORT


def test_escape_closes_the_list_but_leaves_the_typed_text_and_a_full_id_is_named(page, start_as):
    start_as(SUPPORT)
    page.goto("/")
    box = page.get_by_label(re.compile("Find a member"))
    box.press_sequentially("zzqx", delay=20)
    status = page.locator("#search-suggestions-status")
    expect(status).to_contain_text("No member's name or identifier starts with")
    box.press("Escape")
    expect(box).to_have_value("zzqx")
    box.fill("")
    box.press_sequentially("919900012345", delay=20)
    expect(status).to_contain_text("Press Enter to open the member with this mobile.")
    box.press("Escape")
    expect(box).to_have_value("919900012345")
