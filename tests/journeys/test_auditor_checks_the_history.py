"""An auditor checks the history: filters, reads changes in words, sees the chain's state,
exports with a manifest and verifies it, and spots an entry tampered with by SQL."""

from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from customers.capillary.schemas import AddCustomerRequest, ChangeIdentifierRequest, CustomerLookup
from customers.console.roles import AUDITOR, SUPPORT
from customers.members import services
from customers.models import AuditEntry
from tests.conftest import make_staff
from tests.history_factories import tamper


@pytest.fixture
def history(transactional_db, emulator):
    """A support member's registration, status change and new mobile, verified once."""
    steffi = make_staff(SUPPORT, "steffi")
    created = services.register_member(
        actor=steffi,
        request=AddCustomerRequest.model_validate(
            {
                "profiles": [
                    {
                        "firstName": "Asha",
                        "source": "INSTORE",
                        "identifiers": [{"type": "mobile", "value": "919900000001"}],
                    }
                ]
            }
        ),
    ).customer_id
    lookup = CustomerLookup(
        source="INSTORE", identifier_name="mobile", identifier_value="919900000001"
    )
    services.change_status(
        actor=steffi, customer_id=created, lookup=lookup, label="On Hold", reason="Fraud check"
    )
    services.change_identifiers(
        actor=steffi,
        customer_id=created,
        source="INSTORE",
        reason="New phone",
        change=ChangeIdentifierRequest.model_validate(
            {
                "add": [{"type": "mobile", "value": "919900000002"}],
                "remove": [{"type": "mobile", "value": "919900000001"}],
            }
        ),
    )
    call_command("verify_history", stdout=StringIO())
    return created


def test_an_auditor_reads_verifies_and_exports_the_history(page, start_as, history, tmp_path):
    start_as(AUDITOR)
    page.get_by_role("navigation").get_by_role("link", name="History").click()
    expect(page.locator("[data-chain-status]")).to_contain_text("Chain verified up to entry #")

    page.get_by_label("Staff username").fill("stef")
    page.get_by_label("Action").select_option(label="Change status")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.history-table tbody tr")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link").click()
    changes = page.locator("table.diff").first
    status = changes.locator('tr:has(th:text-is("Status label"))')
    expect(status).to_contain_text("Active")
    expect(status).to_contain_text("On Hold")
    expect(changes.locator('tr[data-change="removed"]')).to_have_count(0)

    page.go_back()
    page.get_by_label("Action").select_option(label="Change identifier")
    page.get_by_label("Error or warning code").fill("")
    page.get_by_role("button", name="Filter").click()
    page.locator("table.history-table tbody tr").first.get_by_role("link").click()
    mobile = page.locator('table.diff tr:has(th:text-is("Mobile (INSTORE)"))')
    expect(mobile).to_contain_text("919900000001")
    expect(mobile).to_contain_text("919900000002")

    page.goto("/history/?staff=stef")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export with manifest (ZIP)").click()
    saved = tmp_path / "export.zip"
    download.value.save_as(saved)
    out = StringIO()
    call_command("verify_export", str(saved), stdout=out)
    assert "is intact: 3 rows" in out.getvalue()

    registration = AuditEntry.objects.get(action="register")
    tamper("UPDATE customers_auditentry SET reason = 'edited' WHERE id = %s", (registration.pk,))
    page.goto("/history/?staff=steffi")
    tampered = page.locator("tr[data-tampered]")
    expect(tampered).to_have_count(1)
    expect(tampered).to_contain_text("Tampered")
    expect(tampered).to_contain_text(f"#{registration.pk}")
