"""Staff at work in a real browser: register, search, edit, identifiers, subscriptions, status."""

import re

import pytest

from customers.console.roles import STORE_MANAGER, SUPPORT
from customers.models import AuditEntry
from tests.browser_support import screenshot


def register(page, mobile="919900000001", email="asha@example.com", first="Asha"):
    page.goto("/customers/register/")
    page.get_by_label("Mobile", exact=True).fill(mobile)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("First name", exact=True).fill(first)
    page.get_by_label("Last name", exact=True).fill("Rao")
    page.get_by_label("Loyalty program").select_option("469")
    page.get_by_role("button", name="Register").click()
    page.wait_for_url(re.compile(r"/customers/register/receipt/[\w-]+/"))
    return int(page.locator("[data-customer-id]").inner_text())


def test_a_store_manager_registers_and_reads_the_receipt(page, sign_in):
    sign_in(STORE_MANAGER)
    customer_id = register(page)
    effects = page.locator("[data-receipt-effects]").inner_text()
    assert "Points for this registration\n100 points" in effects
    assert "Welcome Offer - 10% flat discount" in effects
    assert customer_id > 0


def test_a_duplicate_is_found_while_typing(page, sign_in):
    sign_in(STORE_MANAGER)
    customer_id = register(page)
    page.goto("/customers/register/")
    page.get_by_label("Mobile", exact=True).press_sequentially("919900000001", delay=5)
    hint = page.locator("#duplicates")
    hint.get_by_role("link", name=str(customer_id)).wait_for()
    assert "already has mobile" in hint.inner_text()


def test_search_opens_the_profile_and_slash_focuses_the_box(page, sign_in):
    sign_in(SUPPORT)
    customer_id = register(page)
    page.goto("/customers/")
    page.get_by_role("heading", name="Find a member").click()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.name") == "q"
    page.keyboard.type("919900000001")
    page.keyboard.press("Enter")
    page.get_by_role("link", name=str(customer_id)).click()
    page.wait_for_url(re.compile(rf"/customers/{customer_id}/"))
    assert "MemberCare Rewards" in page.content()
    screenshot(page, "profile")


def test_an_edit_with_a_bad_mobile_shows_the_error_at_the_field(page, sign_in):
    sign_in(SUPPORT)
    customer_id = register(page)
    page.goto(f"/customers/{customer_id}/edit/?source=INSTORE")
    rows = page.locator("[data-channel-row]")
    before = rows.count()
    page.get_by_role("button", name="Add a channel").click()
    row = rows.nth(before)
    row.wait_for()
    row.get_by_label("Type").select_option("mobile")
    row.get_by_label("Value").fill("12ab")
    page.get_by_label("Reason").fill("new number")
    page.get_by_role("button", name="Save to Capillary").click()
    error = rows.nth(before).locator(".error")
    error.wait_for()
    assert "country code" in error.inner_text()
    assert rows.locator(".error").count() == 1
    assert not AuditEntry.objects.filter(action="update_profile").exists()
    rows.nth(before).get_by_label("Value").fill("919911112222")
    page.get_by_role("button", name="Save to Capillary").click()
    page.locator("[data-answer-ok]").wait_for()
    # The next edit needs its own reason; what was saved stays on screen, and the
    # error from the refused attempt goes.
    assert page.get_by_label("Reason").input_value() == ""
    assert page.locator("#edit-form .error").count() == 0
    assert rows.nth(before).get_by_label("Value").input_value() == "919911112222"
    screenshot(page, "edit_profile")


def test_an_identifier_change_goes_through_the_confirmation(page, sign_in):
    sign_in(SUPPORT)
    customer_id = register(page)
    page.goto(f"/customers/{customer_id}/identifiers/?source=INSTORE")
    page.get_by_label("Identifier").select_option("externalId")
    page.get_by_label("Value").fill("EXT-1001")
    page.get_by_label("Reason").fill("loyalty card system id")
    page.get_by_role("button", name="Review the change").click()
    page.locator("[data-consequence]").wait_for()
    screenshot(page, "identifier_confirmation")
    page.get_by_role("button", name="Yes, make this change").click()
    page.locator("[data-answer-ok]").wait_for()
    assert AuditEntry.objects.get(action="change_identifier").outcome in ("ok", "ok_with_warnings")


def test_a_subscription_toggle_and_a_status_change(page, sign_in):
    sign_in(SUPPORT)
    customer_id = register(page)
    page.goto(f"/customers/{customer_id}/subscriptions/?source=INSTORE")
    # Registered with promotional SMS off (no consent asked); the member now agrees.
    page.get_by_role("group", name="SMS, promotional").get_by_label("Opted in").check()
    page.get_by_label("Reason").fill("asked at the desk")
    page.get_by_role("button", name="Save subscriptions").click()
    page.locator("[data-answer-ok]").wait_for()
    page.goto(f"/customers/{customer_id}/status/?source=INSTORE")
    page.get_by_label("New status label").select_option("On Hold")
    page.get_by_label("Reason").fill("payment dispute")
    page.get_by_role("button", name="Change status").click()
    page.locator("[data-answer-ok]").wait_for()
    page.goto(f"/customers/{customer_id}/?source=INSTORE")
    assert "On Hold" in page.content()


@pytest.mark.parametrize("endpoint", ["E1"])
def test_a_capillary_outage_shows_the_banner_and_leaves_a_failed_entry(
    page, sign_in, emulator, endpoint
):
    sign_in(STORE_MANAGER)
    emulator.set_faults({"error_5xx": {"rate": 1.0, "endpoint": endpoint}})
    page.goto("/customers/register/")
    page.get_by_label("Mobile", exact=True).fill("919900000005")
    page.get_by_role("button", name="Register").click()
    banner = page.locator("[data-answer-banner]")
    banner.wait_for()
    assert "Capillary did not answer. Nothing was changed." in banner.inner_text()
    assert AuditEntry.objects.get(action="register").outcome == "failed"
    screenshot(page, "outage_banner")
