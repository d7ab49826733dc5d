"""The change history is append-only and tamper-evident: the ORM, the trigger, the chain."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.history import audit, chain
from customers.models import (
    AppendOnlyError,
    AuditCheckpoint,
    AuditCode,
    AuditCompletion,
    AuditEntry,
)
from tests.history_factories import read, remove_entry, tamper, verify, write

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the append-only trigger is PostgreSQL's; on SQLite the ORM guard is the barrier",
)


def test_it_refuses_to_delete_an_entry(db):
    entry = write()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_it_refuses_to_delete_entries_through_a_queryset(db):
    write()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditCode.objects.all().delete()


def test_it_refuses_queryset_updates(db):
    entry = write(outcome="pending")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(outcome="ok")
    entry.reason = "rewritten"
    with pytest.raises(AppendOnlyError), transaction.atomic():
        AuditEntry.objects.bulk_update([entry], ["reason"])
    assert AuditEntry.objects.get(pk=entry.pk).outcome == "pending"


def test_it_refuses_to_save_an_entry_a_second_time(db):
    entry = read()
    entry.customer_id = "999"
    with pytest.raises(AppendOnlyError):
        entry.save()


def test_it_refuses_an_entry_that_bypasses_the_chain(db):
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.create(action="search")


def test_it_completes_a_pending_entry_exactly_once(db):
    entry = write(outcome="pending")
    audit.finish_write(entry, outcome="ok", response={"createdId": 100})
    stale_copy = AuditEntry.objects.get(pk=entry.pk)
    with pytest.raises(AppendOnlyError, match="completed already"):
        audit.finish_write(entry, outcome="rejected", response={})
    with pytest.raises(AppendOnlyError):
        audit.finish_write(stale_copy, outcome="failed", response={})
    assert AuditEntry.objects.get(pk=entry.pk).outcome == "ok"


def test_it_refuses_to_complete_a_read(db):
    with pytest.raises(AppendOnlyError):
        audit.finish_write(read(), outcome="ok", response={})


def test_a_completion_writes_only_the_completion_fields(db):
    entry = write(outcome="pending", reason="Typo in name")
    entry.reason = "Something else"
    audit.finish_write(entry, outcome="ok", response={})
    assert AuditEntry.objects.get(pk=entry.pk).reason == "Typo in name"
    assert verify()[0]


@postgres_only
def test_postgres_refuses_a_raw_delete(db):
    entry = write()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM customers_auditentry WHERE id = %s", [entry.pk])


@postgres_only
def test_postgres_refuses_a_raw_update_of_a_completed_entry(db):
    entry = write(outcome="ok")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE customers_auditentry SET outcome = 'rejected' WHERE id = %s", [entry.pk]
        )


@postgres_only
def test_postgres_refuses_a_completion_that_rewrites_what_was_recorded(db):
    entry = write(outcome="pending")
    with (
        pytest.raises(DatabaseError, match="only its completion"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE customers_auditentry SET outcome = 'ok', reason = 'rewritten' WHERE id = %s",
            [entry.pk],
        )


@postgres_only
def test_postgres_refuses_raw_changes_to_the_code_index(db):
    write(outcome="rejected", error_codes=("8015",))
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM customers_auditcode")


def test_it_verifies_an_intact_chain(db):
    write(outcome="ok_with_warnings", warning_codes=("8107",))
    write(action="register", customer_id="", outcome="pending")
    read(customer_id="100")
    intact, said = verify()
    assert intact
    assert "Verified 3 entries" in said
    assert f"Head: {AuditEntry.objects.order_by('-id').first().entry_hash}" in said


def test_it_names_an_entry_changed_with_raw_sql(db):
    write()
    changed = write(reason="Member asked")
    write()
    tamper("UPDATE customers_auditentry SET reason = 'nothing to see' WHERE id = %s", (changed.pk,))
    intact, said = verify()
    assert not intact
    assert f"Entry #{changed.pk}" in said
    assert "changed after writing" in said
    assert "The 1 entry before it is intact" in said


def test_it_names_an_entry_whose_answer_was_changed(db):
    entry = write(outcome="rejected", error_codes=("8015",))
    tamper(
        "UPDATE customers_auditentry SET outcome = 'ok', error_codes = '' WHERE id = %s",
        (entry.pk,),
    )
    tamper("DELETE FROM customers_auditcode WHERE entry_id = %s", (entry.pk,))
    intact, said = verify()
    assert not intact
    assert f"Entry #{entry.pk}" in said
    assert "outcome or answer was changed" in said


def test_it_names_a_completed_write_turned_back_into_pending(db):
    write()
    entry = write(outcome="ok_with_warnings", warning_codes=("8107",))
    write()
    tamper(
        "UPDATE customers_auditentry SET outcome = 'pending', http_status = NULL, "
        "request_id = '', response = NULL, side_effects = NULL, error_codes = '', "
        "warning_codes = '', duration_ms = NULL, after = NULL WHERE id = %s",
        (entry.pk,),
    )
    tamper("DELETE FROM customers_auditcode WHERE entry_id = %s", (entry.pk,))
    intact, said = verify()
    assert not intact
    assert f"Entry #{entry.pk} is broken" in said
    assert "the completion was reverted or removed" in said


def test_it_names_a_completion_whose_record_was_removed(db):
    first = write()
    entry = write()
    write()
    tamper("DELETE FROM customers_auditcompletion WHERE entry_id = %s", (first.pk,))
    intact, said = verify()
    assert not intact
    assert f"of entry #{entry.pk} is broken" in said
    assert "link to the completion before it is broken" in said


def test_it_names_a_completion_reverted_together_with_its_record_at_the_end(db):
    write()
    entry = write()
    tamper("DELETE FROM customers_auditcompletion WHERE entry_id = %s", (entry.pk,))
    intact, said = verify()
    assert not intact
    assert f"Entry #{entry.pk} is broken" in said
    assert "no completion record signed" in said


def test_it_names_an_entry_whose_outcome_was_written_by_hand(db):
    entry = write(outcome="pending")
    tamper("UPDATE customers_auditentry SET outcome = 'ok' WHERE id = %s", (entry.pk,))
    intact, said = verify()
    assert not intact
    assert f"Entry #{entry.pk} is broken" in said


def test_it_names_the_first_entry_when_every_id_is_renumbered(db):
    entries = [write(), read(), write()]
    tamper(
        "UPDATE customers_auditentry SET id = id + 1000",
        (),
        "UPDATE customers_auditcompletion SET entry_id = entry_id + 1000",
        "UPDATE customers_auditcode SET entry_id = entry_id + 1000",
    )
    intact, said = verify()
    assert not intact
    assert f"Entry #{entries[0].pk + 1000} is broken" in said
    assert "changed after writing" in said


def test_it_names_the_entry_after_one_that_was_removed(db):
    write()
    removed = write()
    after = write()
    remove_entry(removed.pk)
    intact, said = verify()
    assert not intact
    assert f"Entry #{after.pk}" in said
    assert "link to the entry before it is broken" in said


def test_it_notices_codes_removed_from_the_index(db):
    entry = write(outcome="rejected", error_codes=("8015",))
    tamper("DELETE FROM customers_auditcode WHERE entry_id = %s", (entry.pk,))
    intact, said = verify()
    assert not intact
    assert "code index disagree" in said


def test_a_tail_cut_after_a_checkpoint_is_caught_without_a_noted_head(db):
    write()
    kept = write()
    newest = write()
    assert verify()[0]
    assert AuditCheckpoint.objects.get().entry_id == newest.pk
    remove_entry(newest.pk)
    intact, said = verify()
    assert not intact
    assert f"Entry #{newest.pk}, the last one checkpoint" in said
    assert "removed from the end" in said
    assert AuditEntry.objects.order_by("-id").first().pk == kept.pk


def test_a_noted_head_still_catches_a_cut_with_no_checkpoint_after_it(db):
    write()
    head = write().entry_hash
    assert verify("--head", head)[0]
    AuditCheckpoint.objects.all()._raw_delete(AuditCheckpoint.objects.db)
    remove_entry(AuditEntry.objects.get(entry_hash=head).pk)
    intact, said = verify("--head", head)
    assert not intact
    assert "mistyped, or entries were removed from the chain's end" in said


def test_an_incremental_run_starts_at_the_checkpoint_and_full_re_reads_everything(db):
    entries = [write() for _ in range(3)]
    assert verify()[0]
    write()
    intact, said = verify()
    assert intact
    assert f"Verified 1 entries from entry #{entries[-1].pk + 1}" in said
    tamper("UPDATE customers_auditentry SET reason = 'x' WHERE id = %s", (entries[0].pk,))
    assert verify()[0], "an incremental run trusts what the checkpoint vouched for"
    intact, said = verify("--full")
    assert not intact
    assert f"Entry #{entries[0].pk} is broken" in said


def test_an_altered_checkpoint_is_named(db):
    write()
    assert verify()[0]
    tamper("UPDATE customers_auditcheckpoint SET entry_count = entry_count + 5")
    intact, said = verify()
    assert not intact
    assert "no longer matches its signature" in said


def test_a_row_re_signed_without_the_key_is_caught(db, settings):
    entry = write(reason="Member asked")
    forged = {**AuditEntry.objects.filter(pk=entry.pk).values().get(), "reason": "forged"}
    real_key = settings.AUDIT_HMAC_KEY
    settings.AUDIT_HMAC_KEY = "a guess at the key by someone who only has the database"
    forged_hash = chain.sign_entry({**forged, **chain.PENDING_STATE}, forged["previous_hash"])
    settings.AUDIT_HMAC_KEY = real_key
    tamper(
        "UPDATE customers_auditentry SET reason = 'forged', entry_hash = %s WHERE id = %s",
        (forged_hash, entry.pk),
    )
    intact, said = verify()
    assert not intact
    assert f"Entry #{entry.pk}" in said


def test_it_reads_the_chain_in_batches(db):
    entries = [write() for _ in range(5)]
    assert verify("--batch", "2")[0]
    tamper("UPDATE customers_auditentry SET reason = 'x' WHERE id = %s", (entries[4].pk,))
    intact, said = verify("--batch", "2", "--full")
    assert not intact
    assert f"Entry #{entries[4].pk}" in said


def test_it_reports_writes_left_pending_after_a_crash(db, monkeypatch):
    three_hours_ago = timezone.now() - timedelta(hours=3)
    with monkeypatch.context() as patched:
        patched.setattr(timezone, "now", lambda: three_hours_ago)
        entry = write(outcome="pending")
    write(outcome="pending")
    intact, said = verify()
    assert intact
    assert f"1 writes are still pending after an hour, the oldest #{entry.pk}" in said


def test_it_takes_the_chain_lock_before_reading_the_head(db, monkeypatch):
    events: list[str] = []
    real_lock = audit.lock_chain

    def spy_lock() -> None:
        events.append("lock")
        real_lock()

    def spy_sql(execute, sql, params, many, context):
        events.append(sql)
        return execute(sql, params, many, context)

    monkeypatch.setattr(audit, "lock_chain", spy_lock)
    with connection.execute_wrapper(spy_sql):
        read()
    head_read = next(i for i, sql in enumerate(events) if "ORDER BY" in sql and "DESC" in sql)
    assert events.index("lock") < head_read
    if connection.vendor == "postgresql":
        assert "pg_advisory_xact_lock" in events[events.index("lock") + 1]


@pytest.mark.django_db(transaction=True)
def test_the_chain_lock_refuses_to_run_outside_a_transaction():
    with pytest.raises(RuntimeError, match=r"transaction\.atomic"):
        chain.lock_chain()


def test_sqlite_without_immediate_transactions_fails_the_system_check(monkeypatch):
    assert chain.check_sqlite_writes_are_serialised() == []
    deferred = {"ENGINE": "django.db.backends.sqlite3", "NAME": "other.sqlite3", "OPTIONS": {}}
    monkeypatch.setitem(django_settings.DATABASES, "other", deferred)
    errors = chain.check_sqlite_writes_are_serialised()
    assert [error.id for error in errors] == ["customers.E001"]


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite test databases live in shared-cache memory, which answers 'table is "
    "locked' instead of waiting; the lock order test above covers SQLite's code path",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_chain():
    start = threading.Barrier(3)

    def append_some(worker: int) -> None:
        start.wait()
        try:
            for number in range(5):
                read(identifier_value=f"{worker}-{number}")
        finally:
            connection.close()

    threads = [threading.Thread(target=append_some, args=(worker,)) for worker in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    links = list(AuditEntry.objects.values_list("previous_hash", flat=True))
    assert len(links) == 15
    assert len(set(links)) == 15, "two entries claim the same predecessor: the chain forked"
    assert verify()[0]


def test_a_completion_takes_the_chain_lock_after_its_update_and_before_the_head(db, monkeypatch):
    entry = write(outcome="pending")
    real_lock = audit.lock_chain
    locked_after: list[int] = []

    with CaptureQueriesContext(connection) as queries:

        def spy_lock() -> None:
            locked_after.append(len(queries.captured_queries))
            real_lock()

        monkeypatch.setattr(audit, "lock_chain", spy_lock)
        audit.finish_write(entry, outcome="ok", response={"createdId": "100"})
    sqls = [query["sql"] for query in queries.captured_queries]
    update = next(i for i, sql in enumerate(sqls) if sql.startswith("UPDATE"))
    head_read = next(i for i, sql in enumerate(sqls) if "ORDER BY" in sql and "DESC" in sql)
    # Held only while the record is appended: the UPDATE's row locks come first.
    assert update < locked_after[0] <= head_read


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite test databases live in shared-cache memory, which answers 'table is "
    "locked' instead of waiting; the lock order test above covers SQLite's code path",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_completions_keep_one_completion_chain():
    start = threading.Barrier(3)

    def write_and_complete(worker: int) -> None:
        start.wait()
        try:
            for _ in range(3):
                entries = audit.start_writes(
                    [
                        audit.Write(
                            actor=None,
                            action="bulk_upsert",
                            reason="Bulk import",
                            identifier_value=f"{worker}-{n}",
                            request={"n": n},
                        )
                        for n in range(4)
                    ]
                )
                audit.finish_writes([(entry, audit.Answer(outcome="ok")) for entry in entries])
        finally:
            connection.close()

    threads = [threading.Thread(target=write_and_complete, args=(worker,)) for worker in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    links = list(AuditCompletion.objects.values_list("previous_hash", flat=True))
    assert len(links) == 36
    assert len(set(links)) == 36, "two completions claim the same predecessor: the chain forked"
    assert verify("--full")[0]
