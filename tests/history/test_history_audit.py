"""customers.history.audit: what the member services call around every Capillary call."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from customers.console.roles import AUDITOR, STORE_MANAGER, SUPPORT
from customers.history import audit
from customers.models import AuditCode, AuditCompletion, AuditEntry
from tests.conftest import make_staff
from tests.history_factories import read, verify, write


def test_it_records_a_write_as_pending_before_capillary_is_called(db, settings):
    settings.CAPILLARY_TILL_CODE = "store12.till3"
    sam = make_staff(SUPPORT)
    entry = audit.start_write(
        actor=sam,
        action="update_profile",
        reason="  Member called about a typo  ",
        customer_id=4242,
        identifier_type="mobile",
        identifier_value="919000000001",
        source="INSTORE",
        account_id="",
        request={"profiles": [{"firstName": "Aasha"}]},
        before={"profiles": [{"firstName": "Asha"}]},
    )
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.outcome == "pending"
    assert (stored.actor, stored.actor_username, stored.actor_role) == (sam, "sam", SUPPORT)
    assert stored.actor_till == "store12.till3"
    assert stored.customer_id == "4242"
    assert stored.reason == "Member called about a typo"
    assert stored.before == {"profiles": [{"firstName": "Asha"}]}
    assert stored.response is None
    assert stored.after is None


def test_a_pending_entry_is_committed_at_once(transactional_db):
    entry = write(outcome="pending")
    seen_elsewhere = []

    def look_from_another_connection() -> None:
        try:
            seen_elsewhere.append(AuditEntry.objects.filter(pk=entry.pk).exists())
        finally:
            connection.close()

    other = threading.Thread(target=look_from_another_connection)
    other.start()
    other.join()
    assert seen_elsewhere == [True]


def test_it_records_capillary_answer_on_the_entry(db):
    entry = write(outcome="pending")
    audit.finish_write(
        entry,
        outcome="ok_with_warnings",
        http_status=200,
        request_id="6f1c0a",
        response={"createdId": 100, "warnings": [{"code": 8107}]},
        warning_codes=[8107, "8055"],
        side_effects=[{"type": "points", "awardedPoints": 100}],
        duration_ms=412,
        after={"profiles": [{"firstName": "Aasha"}]},
    )
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.outcome == "ok_with_warnings"
    assert (stored.http_status, stored.request_id, stored.duration_ms) == (200, "6f1c0a", 412)
    assert stored.warning_codes == "8107,8055"
    assert stored.error_codes == ""
    assert stored.side_effects == [{"type": "points", "awardedPoints": 100}]
    assert stored.after == {"profiles": [{"firstName": "Aasha"}]}
    assert set(AuditCode.objects.filter(entry=entry).values_list("code", flat=True)) == {
        "8107",
        "8055",
    }
    assert verify()[0]


def test_it_measures_the_duration_from_the_start_when_not_given(db, monkeypatch):
    started = timezone.now()
    with monkeypatch.context() as patched:
        patched.setattr(timezone, "now", lambda: started)
        entry = write(outcome="pending")
    monkeypatch.setattr(timezone, "now", lambda: started + timedelta(milliseconds=750))
    audit.finish_write(entry, outcome="unknown", response=None)
    assert AuditEntry.objects.get(pk=entry.pk).duration_ms == 750


def test_it_fills_in_the_id_capillary_assigned_to_a_registration(db):
    entry = write(action="register", customer_id="", outcome="pending")
    audit.finish_write(entry, outcome="ok", response={"createdId": 5551}, customer_id=5551)
    assert AuditEntry.objects.get(pk=entry.pk).customer_id == "5551"
    assert verify()[0]


def test_it_refuses_to_move_an_entry_to_another_member(db):
    entry = write(customer_id="100", outcome="pending")
    with pytest.raises(ValueError, match="about customer 100"):
        audit.finish_write(entry, outcome="ok", response={}, customer_id=200)


def test_it_refuses_to_finish_a_write_as_pending(db):
    entry = write(outcome="pending")
    with pytest.raises(ValueError, match="final outcome"):
        audit.finish_write(entry, outcome="pending", response=None)


def test_it_keeps_secrets_out_of_the_history(db):
    entry = write(
        outcome="pending",
        request={
            "Authorization": "Basic bWVtYmVyY2FyZQ==",
            "profiles": [{"firstName": "Asha", "fields": {"Password": "hunter2"}}],
            "oauth": [{"client_secret": "s3cret", "accessToken": "tok"}],
        },
    )
    audit.finish_write(entry, outcome="ok", response={"x-cap-api-oauth-token": "tok", "id": 1})
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.request == {
        "Authorization": "[redacted]",
        "profiles": [{"firstName": "Asha", "fields": {"Password": "[redacted]"}}],
        "oauth": [{"client_secret": "[redacted]", "accessToken": "[redacted]"}],
    }
    assert stored.response == {"x-cap-api-oauth-token": "[redacted]", "id": 1}


def test_values_json_cannot_hold_are_stored_as_they_read_back(db):
    entry = write(
        outcome="pending",
        request={"joined": date(2024, 3, 1), "points": Decimal("10.50"), "tags": ("a", "b")},
    )
    audit.finish_write(entry, outcome="ok", response={"at": timezone.now()})
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.request == {"joined": "2024-03-01", "points": "10.50", "tags": ["a", "b"]}
    assert verify()[0]


def test_it_records_reads_complete(db):
    ari = make_staff(AUDITOR)
    entry = audit.record_read(
        actor=ari, action="search", identifier_type="email", identifier_value="a@example.com"
    )
    assert (entry.outcome, entry.actor_role) == ("ok", AUDITOR)
    assert not AuditCompletion.objects.filter(entry=entry).exists()
    assert entry.is_read


def test_reads_and_writes_go_through_their_own_door(db):
    with pytest.raises(ValueError, match="record_read"):
        audit.start_write(actor=None, action="search", reason="", request={})
    with pytest.raises(ValueError, match="start_write"):
        audit.record_read(actor=None, action="change_status")


def test_it_records_the_import_job_and_row_of_a_bulk_upsert(db):
    entry = write(action="upsert", import_job_id=77, import_row=12)
    assert AuditEntry.objects.filter(import_job_id=77).get().import_row == 12
    assert entry.action == "upsert"


def test_the_role_is_kept_as_it_was_when_the_entry_was_written(db):
    maya = make_staff(STORE_MANAGER)
    entry = write(maya, action="register")
    maya.groups.clear()
    assert AuditEntry.objects.get(pk=entry.pk).actor_role == STORE_MANAGER


def test_the_member_timeline_lists_the_newest_changes_without_reads(db):
    first = write(customer_id="100")
    read(customer_id="100")
    write(customer_id="200")
    newest = write(customer_id="100", outcome="rejected", error_codes=("8015",))
    assert audit.entries_for_member("100") == [newest, first]
    assert audit.entries_for_member(100, 1) == [newest]
    assert len(audit.entries_for_member("100", include_reads=True)) == 3
