"""A store manager at the till, on a tablet held in portrait: registers a new member with a
card, a program and tier, a referral and subscriptions, and reads the receipt to them."""

import re

import pytest
from playwright.sync_api import expect

from customers.console.roles import STORE_MANAGER
from customers.models import AuditEntry
from tests.browser_support import screenshot
from tests.journeys.members import (
    a_member,
    as_capillary_holds,
    enrollments_of,
    identifiers_of,
    subscriptions_of,
)

TAKEN = "919900000311"
NEW = "919900000312"


@pytest.fixture
def browser_context_options() -> dict[str, object]:
    return {"viewport": {"width": 768, "height": 1024}, "has_touch": True, "is_mobile": True}


def test_a_store_manager_registers_a_member_at_the_till(page, start_as):
    referrer = a_member(TAKEN, first="Ravi", last="Shah")
    start_as(STORE_MANAGER)
    page.get_by_role("link", name="Register a member").tap()
    mobile = page.get_by_label("Mobile", exact=True)
    expect(mobile).to_be_focused()

    # A number someone already holds is said while it is typed, with a link to them.
    mobile.press_sequentially(TAKEN, delay=5)
    duplicates = page.locator("#duplicates")
    expect(duplicates).to_contain_text(f"Member {referrer} already has mobile {TAKEN}")
    expect(duplicates.get_by_role("link", name=str(referrer))).to_be_in_viewport()
    screenshot(page, "register")
    mobile.fill(NEW)
    mobile.press("End")
    expect(duplicates).to_be_empty()

    page.get_by_label("First name", exact=True).fill("Meera")
    page.get_by_label("Last name", exact=True).fill("Iyer")
    page.get_by_label("Referral code").fill(f"REF{referrer}")
    page.get_by_label("Loyalty program").select_option(label="Partner Club")
    # The tier list follows the program: Partner Club's tiers only.
    tier = page.get_by_label("Tier", exact=True)
    expect(tier.locator("option")).to_have_text(["Lowest tier", "1 · Member", "2 · Elite"])
    tier.select_option(label="2 · Elite")
    page.get_by_label("Card number").fill("MCPRM0000312")

    promotional_sms = page.get_by_role("group", name="SMS, promotional").get_by_label("Opted in")
    box = promotional_sms.bounding_box()
    assert box is not None
    assert min(box["width"], box["height"]) >= 24
    row = promotional_sms.locator("xpath=..").bounding_box()
    assert row is not None
    assert row["height"] >= 44
    promotional_sms.tap()
    expect(promotional_sms).to_be_checked()

    # Pressed twice in a hurry: one member, one receipt.
    page.get_by_role("button", name="Register").dblclick()
    page.wait_for_url(re.compile(r"/customers/register/receipt/"))
    assert AuditEntry.objects.filter(action="register", identifier_value=NEW).count() == 1

    heading = page.get_by_role("heading", name="Member registered")
    expect(heading).to_be_focused()
    receipt = page.locator("[data-receipt]")
    customer_id = int(receipt.locator("[data-customer-id]").inner_text())
    for fact in (
        "Meera Iyer",
        NEW,
        "MCPRM0000312 (MemberCare Premier)",
        "Partner Club",
        "Elite",
        f"100 points to Ravi Shah (member {referrer}) for the referral",
        "Points for this registration",
        "Referral points to this member",
        "Registered by Maya",
    ):
        expect(receipt.get_by_text(fact, exact=False).first).to_be_in_viewport()
    expect(page.get_by_role("button", name="Print the receipt")).to_be_visible()
    screenshot(page, "register_receipt")

    held = as_capillary_holds(customer_id)
    assert held.profiles[0].first_name == "Meera"
    assert identifiers_of(held)["mobile"] == [NEW]
    assert identifiers_of(held)["cardnumber"] == ["MCPRM0000312"]
    assert enrollments_of(held)["Partner Club"] == "Elite"
    assert subscriptions_of(customer_id)[("SMS", "BULK")] == "OPTIN"
    assert subscriptions_of(customer_id)[("SMS", "TRANS")] == "OPTIN"

    page.get_by_role("link", name="Register the next member").tap()
    expect(page.get_by_role("heading", name="Register a member")).to_be_visible()
    expect(page.get_by_label("Mobile", exact=True)).to_be_focused()
    expect(page.get_by_label("Mobile", exact=True)).to_have_value("")
