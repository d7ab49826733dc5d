"""Every screen under the strict Content-Security-Policy, in Chromium: nothing is refused.

A page that needed inline script, an inline style or eval would raise a
`securitypolicyviolation` event; the listener is installed by Playwright before
any of the page's own scripts run, so it sees every one.
"""

import re

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.console import test_access
from tests.console.test_access import MEMBER, URL_CASES, resolved

seeded = test_access.seeded  # the access matrix's member, entry and job, as a fixture here

LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(
    `${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""
# CSV downloads are not screens; the browser saves them instead of rendering.
NOT_SCREENS = {
    "history_export",
    "history_export_verifiable",
    "import_template",
    "import_example",
    "import_results_csv",
    "import_failed_csv",
}


@pytest.fixture
def admin_page(page, transactional_db, seeded):
    from django.contrib.auth.models import User

    User.objects.create_superuser("root", password=PASSWORD)
    page.add_init_script(LISTEN)
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto("/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    page.refused = refused
    return page


def violations(page) -> list[str]:
    return [*page.evaluate("window.__violations"), *page.refused]


def test_the_policy_header_forbids_inline_script_and_eval(admin_page):
    response = admin_page.goto("/")
    policy = response.headers["content-security-policy"]
    script_src = re.search(r"script-src ([^;]*)", policy).group(1)
    assert script_src.split() == ["'self'"]
    assert "unsafe" not in policy


def test_every_screen_loads_without_a_violation(admin_page, seeded):
    opened = []
    for name, (_, kwargs, query) in sorted(URL_CASES.items()):
        if name in NOT_SCREENS:
            continue
        url = reverse(name, kwargs=resolved(kwargs, seeded)) + query
        response = admin_page.goto(url)
        assert response.status == 200, url
        opened.append(url)
        assert violations(admin_page) == [], url
    assert len(opened) >= 15


def test_htmx_swaps_on_the_edit_screen_run_without_eval(admin_page, seeded):
    admin_page.goto(f"/customers/{seeded[MEMBER]}/edit/?source=INSTORE")
    rows = admin_page.locator("[data-channel-row]")
    before = rows.count()
    admin_page.get_by_role("button", name="Add a channel").click()
    rows.nth(before).wait_for()
    admin_page.get_by_role("button", name="Add a channel").click()
    rows.nth(before + 1).wait_for()
    names = admin_page.locator("[data-channel-row] select, [data-channel-row] input").evaluate_all(
        "(inputs) => inputs.map((input) => input.name)"
    )
    # Each added row got its own index from TOTAL_FORMS, which counted it.
    assert any(name.startswith(f"channels-{before}-") for name in names)
    assert any(name.startswith(f"channels-{before + 1}-") for name in names)
    total = admin_page.locator("#id_channels-TOTAL_FORMS").input_value()
    assert int(total) == before + 2
    # A save clears the reason (the handler that did it inline now lives in console.js).
    admin_page.reload()
    admin_page.get_by_label("Last name", exact=True).fill("Rao")
    admin_page.get_by_label("Reason").fill("Spelling")
    admin_page.get_by_role("button", name="Save to Capillary").click()
    admin_page.locator("#edit-answer .answer").wait_for()
    assert admin_page.get_by_label("Reason").input_value() == ""
    assert violations(admin_page) == []
