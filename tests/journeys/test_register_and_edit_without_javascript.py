"""The same registration and edit with JavaScript off: plain forms, posts and redirects."""

import re

import pytest
from playwright.sync_api import expect

from customers.console.roles import STORE_MANAGER, SUPPORT
from tests.journeys.members import a_member, as_capillary_holds, enrollments_of


@pytest.fixture
def browser_context_options() -> dict[str, object]:
    return {"viewport": {"width": 1024, "height": 768}, "java_script_enabled": False}


def test_a_store_manager_registers_without_javascript(page, start_as):
    start_as(STORE_MANAGER)
    page.get_by_role("link", name="Register a member").click()
    page.get_by_label("Mobile", exact=True).fill("919900000601")
    page.get_by_label("First name", exact=True).fill("Kiran")
    page.get_by_label("Loyalty program").select_option(label="Partner Club")
    # The tier list cannot follow the program here: a tier of another program is refused
    # in words, and the list then shows the chosen program's tiers.
    page.get_by_label("Tier", exact=True).select_option(label="1 · Silver (MemberCare Rewards)")
    page.get_by_role("button", name="Register").click()
    error = page.get_by_text("Silver is a tier of MemberCare Rewards, not of Partner Club.")
    expect(error).to_be_visible()
    tier = page.get_by_label("Tier", exact=True)
    expect(tier.locator("option")).to_have_text(["Lowest tier", "1 · Member", "2 · Elite"])
    tier.select_option(label="1 · Member")
    page.get_by_role("button", name="Register").click()

    page.wait_for_url(re.compile(r"/customers/register/receipt/"))
    receipt = page.locator("[data-receipt]")
    expect(receipt).to_contain_text("Kiran")
    expect(receipt).to_contain_text("919900000601")
    expect(receipt.locator("[data-receipt-program]")).to_have_text("Partner Club")
    expect(receipt.locator("[data-receipt-tier]")).to_have_text("Member")
    customer_id = int(receipt.locator("[data-customer-id]").inner_text())
    assert enrollments_of(as_capillary_holds(customer_id))["Partner Club"] == "Member"


def test_support_staff_edit_and_add_a_channel_without_javascript(page, start_as):
    customer_id = a_member("919900000602")
    start_as(SUPPORT)
    page.goto(f"/customers/{customer_id}/edit/?source=INSTORE")
    page.get_by_label("Last name", exact=True).fill("Kapoor")
    rows = page.locator("[data-channel-row]")
    before = rows.count()
    # "Add a channel" posts the form back with a row more; nothing typed is lost.
    page.get_by_role("button", name="Add a channel").click()
    expect(rows).to_have_count(before + 1)
    expect(page.get_by_label("Last name", exact=True)).to_have_value("Kapoor")
    rows.nth(before).get_by_label("Type").select_option("email")
    rows.nth(before).get_by_label("Value").fill("asha.kapoor@example.com")
    page.get_by_label("Reason").fill("married; work address")
    page.get_by_role("button", name="Save to Capillary").click()

    answer = page.locator("[data-answer-ok]")
    expect(answer).to_contain_text("Saved in Capillary")
    expect(answer).to_be_in_viewport()
    held = as_capillary_holds(customer_id).profiles[0]
    assert held.last_name == "Kapoor"
    assert ("email", "asha.kapoor@example.com") in {(c.type, c.value) for c in held.comm_channels}
