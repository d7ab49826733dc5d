"""What is signed is what is stored: the history's JSON columns hold the signed text.

verify_history hashes each row as read, without decoding JSON (that is what
makes it fast), so these check that the stored text is the signed text, that
a change to that text alone is caught, and that migration 0011 brings a
history written in the earlier form into this one, still verifiable.
"""

from datetime import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from customers.history import audit, chain
from customers.history.checkpoints import verify_history
from customers.history.verification import fetch_entries
from customers.models import AuditCheckpoint, AuditEntry
from tests.history_factories import read, tamper, verify, write

BEFORE_0011 = ("customers", "0010_import_upload_checked_by_a_task")


def stored(column: str, entry_id: int) -> str | None:
    with connection.cursor() as cursor:
        sql = f"SELECT {column} FROM customers_auditentry WHERE id = %s"  # noqa: S608 - a name
        cursor.execute(sql, [entry_id])
        return cursor.fetchone()[0]


def test_a_json_column_holds_the_text_its_signature_covers(db):
    entry = write(request={"profiles": [{"lastName": "Rao", "firstName": "Zoë"}], "a": 1.5})
    assert (
        stored("request", entry.pk) == '{"a":1.5,"profiles":[{"firstName":"Zoë","lastName":"Rao"}]}'
    )
    assert stored("before", entry.pk) is None
    reread = AuditEntry.objects.get(pk=entry.pk)
    assert reread.request == {"profiles": [{"lastName": "Rao", "firstName": "Zoë"}], "a": 1.5}
    assert reread.response == {"createdId": "100"}


def test_json_respaced_by_hand_is_caught_though_it_means_the_same(db):
    write()
    entry = write(request={"a": 1, "b": [1, 2]})
    tamper(
        "UPDATE customers_auditentry SET request = %s WHERE id = %s",
        ('{"b": [1, 2], "a": 1}', entry.pk),
    )
    intact, said = verify("--full")
    assert not intact
    assert f"Entry #{entry.pk} is broken" in said
    assert "changed after writing" in said


def test_an_answer_respaced_by_hand_is_caught_by_its_completion(db):
    entry = write(response={"createdId": "100", "warnings": []})
    write()
    tamper(
        "UPDATE customers_auditentry SET response = %s WHERE id = %s",
        ('{"warnings": [], "createdId": "100"}', entry.pk),
    )
    intact, said = verify("--full")
    assert not intact
    assert f"Entry #{entry.pk} is broken" in said
    assert "outcome or answer was changed" in said


def test_a_json_null_written_over_a_missing_snapshot_is_caught(db):
    entry = write(before=None)
    tamper("UPDATE customers_auditentry SET before = 'null' WHERE id = %s", (entry.pk,))
    intact, said = verify("--full")
    assert not intact
    assert f"Entry #{entry.pk} is broken" in said


def test_entries_written_on_a_whole_second_verify(db, monkeypatch):
    # SQLite stores such a time without its fraction ("... 10:00:00"); it is signed with one.
    monkeypatch.setattr(
        audit.timezone, "now", lambda: timezone.make_aware(datetime(2026, 11, 30, 10, 0, 0))
    )
    write(outcome="ok_with_warnings", warning_codes=("8107",))
    read(customer_id="100")
    intact, said = verify("--full")
    assert intact, said
    assert "Verified 2 entries" in said


def test_the_walk_reads_the_time_as_it_was_signed(db):
    entry = write()
    (row,) = fetch_entries("id = %s", [entry.pk])
    created = row[chain.SIGNED_ENTRY_COLUMNS.index("created_at")]
    assert created == chain.timestamp_text(entry.created_at)
    assert created.endswith("Z")
    assert len(created) == len("2026-11-30T10:00:00.000000Z")


@pytest.mark.django_db(transaction=True)
def test_migration_0011_re_signs_a_history_written_in_the_earlier_form():
    kept = write(
        outcome="ok_with_warnings",
        warning_codes=("8107",),
        request={"profiles": [{"firstName": "Asha"}]},
        response={"createdId": "100", "warnings": [{"code": 8107}]},
    )
    write(action="register", customer_id="", outcome="pending")
    read(customer_id="100")
    verify_history()  # leaves a checkpoint, which the migration must sign again
    checkpoint = AuditCheckpoint.objects.get()

    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE_0011])
    try:
        # What the earlier form stored: JSON as Django's JSONField wrote it (spaced,
        # keys in any order; PostgreSQL's jsonb reformats it on its own), and
        # signatures over a different encoding, which no longer verify.
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE customers_auditentry SET response = %s WHERE id = %s",
                    ('{"warnings": [{"code": 8107}], "createdId": "100"}', kept.pk),
                )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert stored("response", kept.pk) == '{"createdId":"100","warnings":[{"code":8107}]}'
    intact, said = verify()
    assert intact, said
    assert f"(checkpoint #{checkpoint.pk})" in said
    intact, said = verify("--full")
    assert intact, said
    assert "Verified 3 entries" in said
