import pytest

from customers.console.roles import AUDITOR, STORE_MANAGER, SUPPORT

NAV_BY_ROLE = {
    SUPPORT: ["Search", "Register", "Import", "History"],
    STORE_MANAGER: ["Search", "Register"],
    AUDITOR: ["Search", "History"],
}


@pytest.mark.parametrize("role", list(NAV_BY_ROLE))
def test_each_role_signs_in_and_sees_its_own_navigation(page, sign_in, role):
    sign_in(role)
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link").all_inner_texts() == NAV_BY_ROLE[role]
    assert page.locator("[data-role]").inner_text() == role
    assert page.get_by_role("status").first.inner_text().startswith("Demo mode")


def test_a_wrong_password_keeps_the_user_on_the_login_page(page, transactional_db):
    page.goto("/login/")
    page.get_by_label("Username").fill("nobody")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert "/login/" in page.url
    assert page.get_by_role("alert").is_visible()


def test_keyboard_focus_is_visible(page, sign_in):
    sign_in(SUPPORT)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
