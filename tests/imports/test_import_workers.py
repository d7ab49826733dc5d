"""Several workers send one import side by side: each row once, the last one ends the job."""

import threading
from types import SimpleNamespace

import pytest
from django.db import connections
from django.db.backends.signals import connection_created

from customers.imports.tasks import Importer, process_import, start_job
from customers.members import services
from customers.models import ImportJob, ImportRow
from tests.imports_support import (
    applied_entries_per_row,
    assert_every_row_accounted_for,
    make_job,
    members_csv,
    queue,
)


@pytest.mark.django_db
def test_a_second_worker_joins_a_running_import_and_no_row_is_sent_twice(monkeypatch, applied):
    job = queue(make_job(text=members_csv(45), batch_size=10))
    first = Importer(job.pk)
    second = Importer(job.pk)
    send = services.upsert_members
    joined: list[bool] = []

    def upsert(**kwargs):
        # While the first worker's first batch is in flight, the second worker runs
        # the whole rest of the job: it joins, takes the other batches and, since the
        # first still has rows `sent`, leaves the ending to it.
        if not joined:
            joined.append(True)
            second.run()
            job.refresh_from_db()
            assert job.status == ImportJob.Status.RUNNING
            assert job.rows.filter(status=ImportRow.Status.SENT).count() == 10
        return send(**kwargs)

    monkeypatch.setattr(services, "upsert_members", upsert)

    first.run()

    job.refresh_from_db()
    assert second.joined
    assert not first.joined
    assert job.status == ImportJob.Status.DONE
    assert job.batches_sent == 5
    assert_every_row_accounted_for(job)
    assert job.done_rows == 45
    assert len(applied) == 45
    assert set(applied.values()) == {1}
    assert set(applied_entries_per_row(job).values()) == {1}
    # The first worker sent batch 1 only; the second the other four.
    assert set(job.rows.filter(number__lte=10).values_list("batch", flat=True)) == {1}


@pytest.mark.django_db
def test_a_worker_joining_a_cancelled_import_sends_nothing(applied):
    job = queue(make_job(text=members_csv(5)))
    Importer(job.pk)._claim()
    ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)

    Importer(job.pk).run()

    assert len(applied) == 0


@pytest.mark.django_db
def test_workers_stop_sending_once_another_worker_failed_the_job(monkeypatch, applied):
    job = queue(make_job(text=members_csv(30), batch_size=10))
    first = Importer(job.pk)
    send = services.upsert_members

    def upsert(**kwargs):
        # Another worker sharing the job stopped it (say, on refused credentials).
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED)
        return send(**kwargs)

    monkeypatch.setattr(services, "upsert_members", upsert)

    first.run()

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert len(applied) == 10
    assert job.rows.filter(status=ImportRow.Status.PENDING).count() == 20


@pytest.mark.django_db
def test_starting_an_import_queues_one_task_per_configured_worker(settings, monkeypatch):
    from customers.imports import tasks

    settings.IMPORT_WORKERS_PER_JOB = 3
    queued: list[int] = []
    monkeypatch.setattr(tasks, "run_import", SimpleNamespace(enqueue=queued.append))
    job = make_job(text=members_csv(3))

    start_job(job)

    assert queued == [job.pk] * 3


@pytest.mark.django_db(transaction=True)
def test_batches_sent_from_threads_reuse_each_threads_connection_closed_at_the_end(
    monkeypatch, applied
):
    # As on PostgreSQL (the test settings close connections after every request).
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 60)
    job = queue(make_job(text=members_csv(50), batch_size=10))
    if connections["default"].vendor == "sqlite":
        # The in-memory test database locks whole tables between connections and
        # does not wait: the threads take turns at the database here.
        turns = threading.RLock()
        for name in ("_send", "_take_batch"):
            monkeypatch.setattr(Importer, name, _one_at_a_time(getattr(Importer, name), turns))
    opened = []

    def note(sender, connection, **kwargs):
        if threading.current_thread().name.startswith("import-batch"):
            opened.append(connection)

    connection_created.connect(note)
    try:
        process_import(job.pk, in_flight=2)
    finally:
        connection_created.disconnect(note)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert_every_row_accounted_for(job)
    assert job.done_rows == 50
    assert set(applied.values()) == {1}
    # Five batches from two threads: a connection per thread, not one per batch.
    assert 1 <= len(opened) <= 2
    # Closed when the pool ended (Django never closes an in-memory SQLite database).
    assert all(database.connection is None or database.is_in_memory_db() for database in opened)


def _one_at_a_time(method, lock):
    def method_in_turn(*args, **kwargs):
        with lock:
            return method(*args, **kwargs)

    return method_in_turn
