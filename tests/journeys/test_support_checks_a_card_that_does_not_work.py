"""A member calls: "my card doesn't work". Support staff find the member by the card
number from `/` and check the card with Capillary from the profile's card panel."""

import re

import pytest
from playwright.sync_api import expect

from customers.console.roles import SUPPORT


def a_member_with_a_card(emulator) -> tuple[int, str]:
    from customers.capillary_emulator.seed import seed_members

    for customer_id in seed_members(emulator, 20, rng_seed=7):
        row = emulator.store.db.execute(
            "SELECT number FROM cards WHERE customer_id = ?", (customer_id,)
        ).fetchone()
        if row is not None:
            return customer_id, row["number"]
    raise AssertionError("the seed gave no member with a card")


def card_as_capillary_holds_it(emulator, number: str) -> dict[str, str]:
    row = emulator.store.db.execute(
        "SELECT status_label FROM cards WHERE number = ?", (number,)
    ).fetchone()
    return {"label": row["status_label"]}


def find_by_card(page, number: str, customer_id: int) -> None:
    box = page.get_by_label(re.compile("Find a member"))
    box.fill(number)
    box.press("Enter")
    page.wait_for_url(re.compile(rf"/customers/{customer_id}/"))


def test_support_checks_the_card_in_place_on_the_profile(page, start_as, emulator):
    customer_id, number = a_member_with_a_card(emulator)
    held = card_as_capillary_holds_it(emulator, number)
    start_as(SUPPORT)
    find_by_card(page, number, customer_id)

    page.get_by_role("link", name="Check this card with Capillary").first.click()

    details = page.get_by_label(f"Card {number} as Capillary holds it")
    expect(details).to_be_visible()
    expect(details).to_contain_text("MemberCare")
    expect(details).to_contain_text(held["label"])
    expect(details).to_contain_text("this member")
    expect(details).to_contain_text(re.compile(r"Expires\s*\d{4}-\d{2}-\d{2}"))
    assert re.search(rf"/customers/{customer_id}/\?", page.url)


class TestWithoutJavaScript:
    @pytest.fixture
    def browser_context_options(self) -> dict[str, object]:
        return {"viewport": {"width": 1024, "height": 768}, "java_script_enabled": False}

    def test_the_same_link_opens_the_card_page(self, page, start_as, emulator):
        customer_id, number = a_member_with_a_card(emulator)
        start_as(SUPPORT)
        page.goto(f"/customers/{customer_id}/?source=INSTORE")

        page.get_by_role("link", name="Check this card with Capillary").first.click()

        expect(page.get_by_role("heading", level=1)).to_have_text(f"Card {number}")
        expect(page.get_by_label(f"Card {number} as Capillary holds it")).to_contain_text(
            "this member"
        )
        page.get_by_role("link", name=f"Back to member {customer_id}").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(f"Member {customer_id}")
