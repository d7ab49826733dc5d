"""Support staff take a call and find the member from the box on `/`, typed as people say it."""

import re

from playwright.sync_api import expect

from customers.console.roles import SUPPORT


def identifiers_of(emulator, customer_id: int) -> dict[str, str]:
    rows = emulator.store.db.execute(
        "SELECT type, value FROM identifiers WHERE customer_id = ?", (customer_id,)
    )
    return {row["type"]: row["value"] for row in rows}


def a_member_with_card_and_indian_mobile(emulator) -> tuple[int, dict[str, str]]:
    from customers.capillary_emulator.seed import seed_members

    for customer_id in seed_members(emulator, 20, rng_seed=7):
        held = identifiers_of(emulator, customer_id)
        if "cardnumber" in held and held.get("mobile", "").startswith("91"):
            return customer_id, held
    raise AssertionError("the seed gave no member with a card and an Indian mobile")


def search_from_home(page, typed: str) -> None:
    page.goto("/")
    box = page.get_by_label(re.compile("Find a member"))
    box.fill(typed)
    box.press("Enter")


def test_support_finds_a_member_by_mobile_email_card_and_customer_id(page, start_as, emulator):
    customer_id, held = a_member_with_card_and_indian_mobile(emulator)
    national = held["mobile"][2:]
    start_as(SUPPORT)

    spoken = {
        "mobile with + and spaces": f"+91 {national[:5]} {national[5:]}",
        "mobile with the trunk 0": f"0{national[:5]} {national[5:]}",
        "email in capitals": held["email"].upper(),
        "card": held["cardnumber"],
        "customer id": str(customer_id),
    }
    for how, typed in spoken.items():
        search_from_home(page, typed)
        page.wait_for_url(re.compile(rf"/customers/{customer_id}/"))
        expect(page.get_by_text(held["email"]).first).to_be_visible()
        assert f"/customers/{customer_id}/" in page.url, how
