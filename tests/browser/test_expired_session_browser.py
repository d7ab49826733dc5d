"""A session that ends while a page is open: the next htmx request moves the whole page to login."""

import re

from customers.console.roles import SUPPORT


def test_an_htmx_search_after_the_session_ended_opens_the_login_page(page, sign_in):
    sign_in(SUPPORT)
    page.goto("/customers/")
    page.context.clear_cookies()  # the session expired, or another tab signed out
    box = page.locator("[data-search-box]")
    box.fill("919900000001")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/login/\?next="))
    assert page.get_by_role("button", name="Sign in").is_visible()
    # The whole page went to login: no login form was swapped into the results.
    assert page.locator("#results form").count() == 0
    assert "next=/customers/" in page.url
