"""An auditor reads; every screen that writes answers with the 403 page, in words."""

from playwright.sync_api import expect

from customers.console.roles import AUDITOR

WRITE_SCREENS = [
    "/customers/register/",
    "/customers/{id}/edit/",
    "/customers/{id}/enroll/",
    "/customers/{id}/identifiers/",
    "/customers/{id}/subscriptions/",
    "/customers/{id}/status/",
    "/upsert/",
    "/imports/new/",
]


def test_an_auditor_sees_no_write_screens_and_is_refused_each_one(page, start_as, emulator):
    from customers.capillary_emulator.seed import seed_members

    [customer_id] = seed_members(emulator, 1)

    start_as(AUDITOR)
    navigation = page.get_by_role("navigation")
    expect(navigation.get_by_role("link", name="History")).to_be_visible()
    expect(navigation.get_by_role("link", name="Register")).to_have_count(0)

    for screen in WRITE_SCREENS:
        response = page.goto(screen.format(id=customer_id))
        assert response is not None
        assert response.status == 403, screen
        expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
