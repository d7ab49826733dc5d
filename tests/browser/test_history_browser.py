from customers.console.roles import AUDITOR, SUPPORT
from tests.browser_support import screenshot
from tests.conftest import make_staff
from tests.history_factories import AFTER, BEFORE, read, write


def test_an_auditor_filters_the_history_and_opens_a_diff(page, sign_in):
    sam = make_staff(SUPPORT)
    write(sam, outcome="rejected", error_codes=("8015",), reason="Wrong member")
    read(sam, customer_id="100")
    fixed = write(
        sam,
        outcome="ok_with_warnings",
        warning_codes=("8107",),
        before=BEFORE,
        after=AFTER,
        reason="Member called: first name misspelt",
    )
    sign_in(AUDITOR)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    page.get_by_label("Action").select_option(label="Update profile")
    page.get_by_label("Outcome").select_option(label="OK with warnings")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**outcome=ok_with_warnings**")
    rows = page.locator("#results tbody tr")
    assert rows.count() == 1
    assert "first name misspelt" in rows.first.inner_text()
    screenshot(page, "history")

    rows.first.get_by_role("link").click()
    page.wait_for_url(f"**/history/{fixed.pk}/")
    changed = page.locator('tr[data-change="changed"]')
    cells = changed.first.locator("th, td").all_text_contents()
    assert [cell.strip() for cell in cells] == ["First name (INSTORE)", "Asha", "Aasha"]
    assert page.get_by_role("status").last.inner_text().startswith("Signature checked")
    screenshot(page, "history_detail")
