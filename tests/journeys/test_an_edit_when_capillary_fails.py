"""Support staff save a long edit while Capillary is down, too slow, or over its rate limit.
The answer is where they look (in view, focused) and says what is known, so nobody
presses Save again blindly."""

import pytest
from playwright.sync_api import expect

from customers.console.roles import SUPPORT
from tests.journeys.members import a_member, as_capillary_holds

FAULTS = {
    # 503 is retried, as Capillary refuses it before doing anything; every attempt fails.
    "outage": (
        {"error_5xx": {"next": 4, "endpoint": "E2", "status": 503}},
        "Capillary did not answer. Nothing was changed. Try again in a moment.",
    ),
    "timeout": (
        {"timeout": {"next": 1, "endpoint": "E2"}},
        "Capillary did not answer in time, so the outcome is unknown: the change may have "
        "been applied. Check the profile before trying again.",
    ),
    "rate limit": (
        {"rate_limit": {"next": 4, "endpoint": "E2", "retry_after": 0}},
        "Capillary's rate limit for the org is used up. Nothing was changed. Try again shortly.",
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_the_answer_to_a_failed_save_is_in_view_focused_and_says_what_is_known(
    page, start_as, emulator, fault
):
    faults, words = FAULTS[fault]
    customer_id = a_member("919900000501")
    start_as(SUPPORT)
    page.goto(f"/customers/{customer_id}/edit/?source=INSTORE")
    page.get_by_label("Last name", exact=True).fill("Kapoor")
    page.get_by_label("Reason").fill("married")
    emulator.set_faults(faults)
    page.get_by_role("button", name="Save to Capillary").click()

    banner = page.locator("[data-answer-banner]")
    expect(banner).to_have_text(words)
    expect(banner).to_be_in_viewport()
    expect(page.locator("[data-capillary-answer]")).to_be_focused()
    emulator.set_faults({kind: {"next": 0} for kind in faults})
    # Nothing reached the store (the timeout here drops the request before it).
    assert as_capillary_holds(customer_id).profiles[0].last_name == "Rao"
