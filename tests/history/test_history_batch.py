"""A batch's audit writes: one INSERT for its entries, one block for its completions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers import models
from customers.console.roles import SUPPORT
from customers.history import audit
from customers.models import AppendOnlyError, AuditCode, AuditCompletion, AuditEntry
from tests.conftest import make_staff
from tests.history_factories import verify


def writes(actor, count: int, *, job: int | None = 7) -> list[audit.Write]:
    return [
        audit.Write(
            actor=actor,
            action="bulk_upsert",
            reason="Bulk import #7",
            identifier_type="mobile",
            identifier_value=f"9190000{n:05d}",
            source="INSTORE",
            request={"profiles": [{"identifiers": [{"type": "mobile", "value": str(n)}]}]},
            import_job_id=job,
            import_row=n + 1,
        )
        for n in range(count)
    ]


def answer(n: int) -> audit.Answer:
    return audit.Answer(
        outcome="ok_with_warnings" if n % 2 else "ok",
        http_status=200,
        request_id=f"req-{n}",
        response={"entityId": 1000 + n, "warnings": [{"code": 1102}] if n % 2 else []},
        warning_codes=[1102] if n % 2 else [],
        duration_ms=150,
        customer_id=1000 + n,
    )


def statements(context: CaptureQueriesContext) -> list[str]:
    """Each statement's verb; a bulk append is logged as "N times: INSERT ..."
    (SQLite's executemany) or "N rows: COPY ..." (PostgreSQL): counted as an INSERT."""
    verbs = []
    for query in context.captured_queries:
        sql = query["sql"]
        if " times: " in sql.split("(")[0] or " rows: COPY " in sql:
            verbs.append("INSERT")
        else:
            verbs.append(sql.split()[0].upper())
    return verbs


@pytest.mark.parametrize("count", [1, 10, 100])
def test_a_batch_costs_the_same_few_statements_whatever_its_size(db, count):
    sam = make_staff(SUPPORT)
    with CaptureQueriesContext(connection) as started:
        entries = audit.start_writes(writes(sam, count))
    with CaptureQueriesContext(connection) as finished:
        audit.finish_writes([(entry, answer(n)) for n, entry in enumerate(entries)])

    # Pending entries: one head read and one bulk append under the lock (a COPY on
    # PostgreSQL, one executemany on SQLite).
    inserts = statements(started).count("INSERT")
    assert inserts == 1
    # Reads: the actor's role, the chain lock (PostgreSQL's advisory lock), the head.
    assert statements(started).count("SELECT") <= 3
    assert len(started.captured_queries) <= 5 + inserts  # and the savepoint, its release
    # Completions: one UPDATE of every entry, one INSERT of code rows, one head read,
    # one INSERT of the block of signed records; no savepoint per entry.
    assert statements(finished).count("UPDATE") == 1
    assert statements(finished).count("INSERT") == 2 if count > 1 else 1
    # One transaction for the batch (a savepoint here, inside the test's transaction).
    assert statements(finished).count("SAVEPOINT") <= 1
    assert len(finished.captured_queries) <= 8


def test_a_batch_is_recorded_entry_by_entry_and_the_chain_verifies(db):
    sam = make_staff(SUPPORT)
    entries = audit.start_writes(writes(sam, 50))
    audit.finish_writes([(entry, answer(n)) for n, entry in enumerate(entries)])

    stored = list(AuditEntry.objects.filter(import_job_id=7).order_by("id"))
    assert [entry.import_row for entry in stored] == list(range(1, 51))
    assert [entry.customer_id for entry in stored] == [str(1000 + n) for n in range(50)]
    assert {entry.outcome for entry in stored[1::2]} == {"ok_with_warnings"}
    assert stored[1].response == {"entityId": 1001, "warnings": [{"code": 1102}]}
    assert stored[1].warning_codes == "1102"
    assert AuditCompletion.objects.count() == 50
    assert AuditCode.objects.filter(code="1102").count() == 25
    assert verify()[0]


def test_a_batch_with_one_entry_completed_already_writes_no_completion(db):
    sam = make_staff(SUPPORT)
    entries = audit.start_writes(writes(sam, 3))
    audit.finish_write(entries[1], outcome="ok", response={"entityId": 5}, customer_id=1001)
    fresh = [AuditEntry.objects.get(pk=entry.pk) for entry in entries]

    with pytest.raises(AppendOnlyError, match="completed already"):
        audit.finish_writes([(entry, answer(n)) for n, entry in enumerate(fresh)])

    assert AuditEntry.objects.get(pk=entries[0].pk).outcome == "pending"
    assert AuditEntry.objects.get(pk=entries[2].pk).outcome == "pending"
    assert AuditCompletion.objects.count() == 1
    assert verify()[0]


def test_the_same_entry_twice_in_one_batch_is_refused(db):
    sam = make_staff(SUPPORT)
    (entry,) = audit.start_writes(writes(sam, 1))

    with pytest.raises(AppendOnlyError):
        audit.finish_writes([(entry, answer(0)), (entry, answer(0))])

    assert AuditCompletion.objects.count() == 0


def test_a_completion_keeps_a_registrations_new_customer_id_but_not_another_members(db):
    sam = make_staff(SUPPORT)
    first, second = audit.start_writes(
        [
            audit.Write(actor=sam, action="register", reason="", request={}),
            audit.Write(actor=sam, action="update_profile", reason="", request={}, customer_id=9),
        ]
    )

    audit.finish_writes(
        [
            (first, audit.Answer(outcome="ok", response={}, customer_id=77)),
            (second, audit.Answer(outcome="ok", response={}, customer_id=9)),
        ]
    )

    assert AuditEntry.objects.get(pk=first.pk).customer_id == "77"
    with pytest.raises(ValueError, match="not 10"):
        audit.finish_writes([(second, audit.Answer(outcome="ok", response={}, customer_id=10))])
    assert verify()[0]


def test_a_batch_larger_than_one_statement_allows_is_completed_in_chunks(db, monkeypatch):
    # Each entry's outcome is 11 parameters on SQLite, which takes 32,766 in a
    # statement: a batch is completed 1,000 entries an UPDATE (7 here, to see the
    # chunks). PostgreSQL passes one array per column: one UPDATE whatever the size.
    monkeypatch.setattr(models, "COMPLETIONS_PER_STATEMENT", 7)
    sam = make_staff(SUPPORT)
    entries = audit.start_writes(writes(sam, 50))
    with CaptureQueriesContext(connection) as finished:
        audit.finish_writes([(entry, answer(n)) for n, entry in enumerate(entries)])
    assert statements(finished).count("UPDATE") == (1 if connection.vendor == "postgresql" else 8)
    assert AuditEntry.objects.filter(import_job_id=7, outcome="pending").count() == 0
    assert AuditCompletion.objects.count() == 50
    assert AuditCode.objects.count() == 25
    assert verify("--full")[0]
