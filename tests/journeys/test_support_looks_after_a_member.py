"""Support staff look after a member who called: profile and extended field, a new channel,
a new mobile, a card linked and delinked, subscriptions, a second program, a status label.
Each answer is read where staff look, and checked against what Capillary holds after."""

import re

from playwright.sync_api import expect

from customers.console.roles import SUPPORT
from tests.journeys.members import (
    a_member,
    as_capillary_holds,
    enrollments_of,
    identifiers_of,
    subscriptions_of,
)

OLD_MOBILE = "919900000401"
NEW_MOBILE = "919900000402"
CARD = "MCPRM0000401"


def saved(page) -> None:
    """Capillary's answer is in view and has the focus, whatever the length of the form."""
    answer = page.locator("[data-capillary-answer]")
    expect(answer).to_contain_text("Saved in Capillary")
    expect(answer).to_be_in_viewport()
    expect(answer).to_be_focused()


def review_and_confirm(page, *, operation: str, kind: str, value: str, says: str) -> None:
    page.get_by_label(operation).check()
    page.get_by_label("Identifier").select_option(label=kind)
    page.get_by_label("Value").fill(value)
    page.get_by_label("Reason").fill("member called")
    page.get_by_role("button", name="Review the change").click()
    confirmation = page.locator("[data-consequence]")
    expect(confirmation).to_contain_text(says)
    expect(confirmation).to_be_focused()
    page.get_by_role("button", name="Yes, make this change").click()
    saved(page)


def test_support_staff_look_after_a_member_who_called(page, start_as):
    customer_id = a_member(OLD_MOBILE, extendedFields={"city": "Pune"})
    start_as(SUPPORT)
    page.goto(f"/customers/{customer_id}/?source=INSTORE")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Member {customer_id} · Asha Rao")
    expect(page.locator('[data-fact="membership"]')).to_have_text("Loyalty member")

    # The profile and an extended field.
    page.get_by_role("link", name="Edit profile").click()
    expect(page.get_by_role("link", name="Edit profile")).to_have_attribute("aria-current", "page")
    page.get_by_label("Last name", exact=True).fill("Kapoor")
    page.get_by_role("group", name="Extended fields").get_by_label("City").fill("Mumbai")
    page.get_by_label("Reason").fill("married, moved")
    page.get_by_role("button", name="Save to Capillary").click()
    saved(page)
    expect(page.locator("#member-subtitle")).to_contain_text("Asha Kapoor")
    held = as_capillary_holds(customer_id)
    assert held.profiles[0].last_name == "Kapoor"
    assert held.extended_fields["city"] == "Mumbai"

    # A channel more.
    rows = page.locator("[data-channel-row]")
    before = rows.count()
    page.get_by_role("button", name="Add a channel").click()
    expect(rows).to_have_count(before + 1)
    rows.nth(before).get_by_label("Type").select_option("email")
    rows.nth(before).get_by_label("Value").fill("asha.kapoor@example.com")
    page.get_by_label("Reason").fill("work address for receipts")
    page.get_by_role("button", name="Save to Capillary").click()
    saved(page)
    channels = {
        (c.type, c.value) for c in as_capillary_holds(customer_id).profiles[0].comm_channels
    }
    assert ("email", "asha.kapoor@example.com") in channels

    # A new mobile: the confirmation says which number it replaces; the lists follow.
    page.get_by_role("link", name="Identifiers and cards").click()
    review_and_confirm(
        page,
        operation="Add or link",
        kind="Mobile",
        value=NEW_MOBILE,
        says=f"This replaces mobile {OLD_MOBILE} with {NEW_MOBILE}",
    )
    listed = page.locator("[data-current-identifiers]")
    expect(listed).to_contain_text(f"Mobile {NEW_MOBILE}")
    expect(listed).not_to_contain_text(OLD_MOBILE)
    assert identifiers_of(as_capillary_holds(customer_id))["mobile"] == [NEW_MOBILE]
    page.get_by_role("link", name="Profile", exact=True).click()
    expect(page.locator('[data-identifier="mobile"]')).to_have_text(NEW_MOBILE)
    page.get_by_role("link", name="Identifiers and cards").click()

    # A card linked, then delinked.
    review_and_confirm(
        page, operation="Add or link", kind="Card", value=CARD, says=f"Card {CARD} will be linked"
    )
    expect(listed).to_contain_text(f"Card {CARD}")
    assert CARD in identifiers_of(as_capillary_holds(customer_id)).get("cardnumber", [])
    review_and_confirm(
        page,
        operation="Remove or delink",
        kind="Card",
        value=CARD,
        says=f"Card {CARD} will be delinked",
    )
    expect(listed).not_to_contain_text(CARD)
    assert CARD not in identifiers_of(as_capillary_holds(customer_id)).get("cardnumber", [])

    # Subscriptions.
    page.get_by_role("link", name="Subscriptions").click()
    page.get_by_role("group", name="SMS, promotional").get_by_label("Opted out").check()
    page.get_by_label("Reason").fill("no more offers by SMS")
    page.get_by_role("button", name="Save subscriptions").click()
    saved(page)
    assert subscriptions_of(customer_id)[("SMS", "BULK")] == "OPTOUT"

    # A second program, with a tier of that program.
    page.get_by_role("link", name="Enroll").click()
    # The form starts on the program the member is not in yet, and names the one they are in.
    expect(page.get_by_label("Loyalty program")).to_have_value("699")
    expect(page.get_by_text("Already enrolled in: MemberCare Rewards.")).to_be_visible()
    tier = page.get_by_label("Tier", exact=True)
    expect(tier.locator("option")).to_have_text(["Lowest tier", "1 · Member", "2 · Elite"])
    tier.select_option(label="2 · Elite")
    page.get_by_label("Reason").fill("partner card holder")
    page.get_by_role("button", name="Enroll").click()
    saved(page)
    enrolled = enrollments_of(as_capillary_holds(customer_id))
    assert enrolled["Partner Club"] == "Elite"
    assert "MemberCare Rewards" in enrolled

    # A status label: the page shows it and its log, and every screen says so.
    page.get_by_role("link", name="Status label").click()
    expect(page.locator("[data-current-status]")).to_contain_text("Active")
    # The picker starts at the current label, so pressing on unawares changes nothing.
    expect(page.get_by_label("New status label")).to_have_value("Active")
    page.get_by_label("New status label").select_option("On Hold")
    page.get_by_label("Reason").fill("payment dispute")
    page.get_by_role("button", name="Change status").click()
    saved(page)
    expect(page.locator("[data-current-status]")).to_have_text(
        "Current status: On Hold (suspended)."
    )
    expect(page.get_by_label("New status label")).to_have_value("On Hold")
    log = page.locator("[data-status-log]")
    expect(log.get_by_role("row").nth(1)).to_contain_text(re.compile(r"On Hold.*payment dispute"))
    page.get_by_role("link", name="Profile", exact=True).click()
    expect(page.locator("[data-standing]")).to_contain_text("status is On Hold (suspended)")
    expect(page.locator('[data-fact="status"]')).to_contain_text("On Hold")
    standing = (as_capillary_holds(customer_id).model_extra or {})["customerStatus"]
    assert standing["label"] == "On Hold"

    # "/" on a profile leads to the search box, ready for the next caller.
    page.get_by_role("heading", level=1).click()
    page.keyboard.press("/")
    page.wait_for_url(re.compile(r"/customers/(\?.*)?$"))
    expect(page.locator("[data-search-box]")).to_be_focused()
