"""Bad input answers 400 or a form error, never a 500 (the causes the outside attack found)."""

import pytest
from django.test import Client

from customers.models import AuditEntry
from tests.console import test_access
from tests.console.test_access import ENTRY, JOB, MEMBER

seeded = test_access.seeded


@pytest.fixture
def admin(db):
    from django.contrib.auth.models import User

    client = Client(raise_request_exception=False)
    client.force_login(User.objects.create_superuser("root", password="x"))
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/customers/{member}/",
        "/customers/{member}/edit/",
        "/customers/{member}/enroll/",
        "/customers/{member}/identifiers/",
        "/customers/{member}/subscriptions/",
        "/customers/{member}/status/",
        "/customers/{member}/capillary-audit/",
        "/customers/register/check/?mobile=919900000001&",
    ],
)
def test_an_unknown_source_is_a_400_naming_the_org_sources(admin, seeded, path):
    url = path.format(member=seeded[MEMBER])
    url += ("" if url.endswith("&") else "?") + "source=BOGUS"
    response = admin.get(url)
    assert response.status_code == 400
    text = response.content.decode()
    assert "There is no source &#x27;BOGUS&#x27; in this org" in text
    assert "INSTORE" in text


@pytest.mark.parametrize(
    "path",
    [
        "/imports/?before=²",
        "/imports/{job}/?after=²",
        "/imports/{job}/?problems_after=²",
        "/customers/?q=²&kind=id",
    ],
)
def test_superscript_digits_are_not_read_as_numbers(admin, seeded, path):
    response = admin.get(path.format(job=seeded[JOB]))
    assert response.status_code == 200


def test_a_customer_id_of_superscript_digits_is_a_form_error(admin):
    response = admin.get("/customers/?q=²&kind=id")
    assert "A customer id is a number." in response.content.decode()


@pytest.mark.parametrize("field", ["date_to", "date_from"])
def test_a_far_future_date_in_the_history_filters_is_a_form_error(admin, seeded, field):
    response = admin.get(f"/history/?{field}=9999-12-31")
    assert response.status_code == 200
    assert "Enter a date between 1970-01-01 and 9998-12-31." in response.content.decode()


def test_a_far_future_export_is_refused_before_its_audit_entry_is_written(admin, seeded):
    entries = AuditEntry.objects.count()
    response = admin.get("/history/export/?date_to=9999-12-31")
    assert response.status_code == 200
    assert "Enter a date between 1970-01-01 and 9998-12-31." in response.content.decode()
    assert AuditEntry.objects.count() == entries


def test_a_damaged_history_cursor_of_superscripts_shows_the_newest_entries(admin, seeded):
    from base64 import urlsafe_b64encode

    token = urlsafe_b64encode("o|2026-01-01T00:00:00+00:00|²".encode()).decode()
    response = admin.get(f"/history/?cursor={token}")
    assert response.status_code == 200
    assert "damaged or out of date" in response.content.decode()
    assert str(seeded[ENTRY]) in response.content.decode()


def test_a_bad_host_header_with_debug_off_is_a_400(db, settings):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["console.example"]
    response = Client(raise_request_exception=False).get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "The request could not be understood." in response.content.decode()


def test_an_export_with_a_nul_in_an_unknown_parameter_records_only_the_filters(admin, seeded):
    """PostgreSQL cannot store a NUL in JSON: the fuzzer's first 500 there."""
    response = admin.get("/history/export/?%00=BOGUS&outcome=ok&nonsense=1")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    export = AuditEntry.objects.get(action="export_history")
    assert export.request == {"filters": {"outcome": "ok"}}
