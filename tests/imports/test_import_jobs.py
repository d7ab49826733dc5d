"""The import task against the emulator: batches, faults, and every row accounted for once."""

import pytest

from customers import gateway
from customers.capillary.schemas import AddCustomerRequest
from customers.imports import jobs
from customers.imports.tasks import (
    MAX_UNAVAILABLE_ATTEMPTS,
    Importer,
    process_import,
    resume_job,
    start_job,
)
from customers.members import services
from customers.models import AuditEntry, ImportJob, ImportRow
from tests.imports_support import (
    applied_entries_per_row,
    assert_every_row_accounted_for,
    importer,
    make_job,
    members_csv,
    queue,
)

pytestmark = pytest.mark.django_db


def run(job: ImportJob) -> list[float]:
    """Run the job to its end in this process; return the waits it asked for."""
    waits: list[float] = []
    process_import(job.pk, sleep=waits.append)
    job.refresh_from_db()
    return waits


def test_it_sends_the_rows_in_number_order_in_batches_of_the_jobs_size(applied):
    job = queue(make_job(text=members_csv(25), batch_size=10))
    assert run(job) == []
    assert job.status == ImportJob.Status.DONE
    batches = dict(job.rows.values_list("number", "batch"))
    assert batches == {n: (n - 1) // 10 + 1 for n in range(1, 26)}
    assert job.batches_sent == 3
    assert set(applied.values()) == {1}
    assert len(applied) == 25
    assert_every_row_accounted_for(job)
    assert job.done_rows == 25
    assert job.first_progress_at is not None


def test_each_row_keeps_its_customer_id_and_its_audit_entry(applied):
    job = queue(make_job(text=members_csv(3)))
    run(job)
    for row in job.rows.all():
        assert row.status == ImportRow.Status.OK
        assert row.customer_id.isdigit()
        entry = AuditEntry.objects.get(pk=row.audit_entry_id)
        assert (entry.import_job_id, entry.import_row) == (job.pk, row.number)
        assert entry.customer_id == row.customer_id
        assert entry.action == AuditEntry.Action.BULK_UPSERT
    assert applied_entries_per_row(job) == {1: 1, 2: 1, 3: 1}


def test_invalid_rows_are_never_sent(applied):
    job = queue(make_job(text="mobile\n919900000001\n12ab\n919900000002\n"))
    run(job)
    assert job.rows.get(number=2).status == ImportRow.Status.INVALID
    assert set(applied) == {"919900000001", "919900000002"}
    assert_every_row_accounted_for(job)


def test_a_row_capillary_refuses_fails_alone_with_its_code(applied):
    for identifier in (
        {"type": "mobile", "value": "919900000001"},
        {"type": "email", "value": "b@example.com"},
    ):
        services.register_member(
            actor=importer(),
            request=AddCustomerRequest.model_validate(
                {"profiles": [{"identifiers": [identifier], "source": "INSTORE"}]}
            ),
        )
    text = "mobile,email\n919900000001,b@example.com\n919900000003,c@example.com\n"
    job = queue(make_job(text=text))
    run(job)
    conflict, fine = job.rows.order_by("number")
    assert conflict.status == ImportRow.Status.FAILED
    assert conflict.codes == "8053"
    assert "Conflicting customers" in conflict.messages
    assert fine.status == ImportRow.Status.OK
    assert_every_row_accounted_for(job)
    assert (job.done_rows, job.failed_rows) == (1, 1)


def test_rate_limits_are_waited_out_and_the_same_batch_sent_again(emulator, applied, client_sleeps):
    # The client retries a 429 three times itself, so six take two rounds of the task.
    emulator.set_faults({"rate_limit": {"next": 6, "endpoint": "E3", "retry_after": 7}})
    job = queue(make_job(text=members_csv(30), batch_size=10))
    waits = run(job)
    assert waits == [7.0]
    assert client_sleeps == [7.0] * 5
    assert set(applied.values()) == {1}
    assert len(applied) == 30
    assert_every_row_accounted_for(job)
    assert job.done_rows == 30
    assert set(applied_entries_per_row(job).values()) == {1}


def test_a_retry_after_longer_than_a_minute_is_waited_in_bounded_steps(emulator, client_sleeps):
    # The client does not wait past its own budget, so each 429 reaches the task.
    emulator.set_faults({"rate_limit": {"next": 3, "endpoint": "E3", "retry_after": 600}})
    job = queue(make_job(text=members_csv(2)))
    assert run(job) == [60.0, 60.0, 60.0]
    assert client_sleeps == []
    assert job.done_rows == 2


def test_an_outage_that_applied_nothing_is_retried_with_backoff(emulator, applied, client_sleeps):
    emulator.set_faults({"error_5xx": {"next": 6, "endpoint": "E3", "status": 503}})
    job = queue(make_job(text=members_csv(10)))
    assert run(job) == [2.0]
    assert set(applied.values()) == {1}
    assert len(applied) == 10
    assert_every_row_accounted_for(job)


def test_a_lasting_outage_fails_the_batch_after_bounded_attempts(emulator, applied, client_sleeps):
    emulator.set_faults({"error_5xx": {"rate": 1.0, "endpoint": "E3", "status": 503}})
    job = queue(make_job(text=members_csv(15), batch_size=10))
    waits = run(job)
    assert waits == [2.0, 4.0, 8.0, 16.0] * 2
    assert len(waits) == 2 * (MAX_UNAVAILABLE_ATTEMPTS - 1)
    assert not applied
    assert job.status == ImportJob.Status.DONE
    assert job.failed_rows == 15
    assert "unavailable for 5 tries" in job.rows.first().messages
    assert_every_row_accounted_for(job)


@pytest.mark.parametrize(
    "fault",
    [
        {"timeout": {"next": 1, "endpoint": "E3", "processed": True, "hold_seconds": 0}},
        {"drop": {"next": 1, "endpoint": "E3", "processed": True}},
        {"error_5xx": {"next": 1, "endpoint": "E3", "status": 500}},
    ],
    ids=["timeout after applying", "dropped connection", "server error"],
)
def test_a_batch_that_may_have_been_applied_is_marked_unknown_and_never_sent_again(
    emulator, applied, client_sleeps, fault
):
    emulator.set_faults(fault)
    job = queue(make_job(text=members_csv(20), batch_size=10))
    assert run(job) == []
    first, second = (list(job.rows.filter(batch=b)) for b in (1, 2))
    assert {row.status for row in first} == {ImportRow.Status.UNKNOWN}
    assert "may have been applied" in first[0].messages
    assert {row.status for row in second} == {ImportRow.Status.OK}
    # Whatever the emulator did with the first batch, it saw each row at most once.
    assert max(applied.values()) == 1
    assert job.batches_sent == 2
    assert_every_row_accounted_for(job)
    assert (job.unknown_rows, job.done_rows) == (10, 10)


def test_under_random_faults_every_row_is_answered_once_and_applied_at_most_once(
    emulator, applied, client_sleeps
):
    emulator.rng.seed(7)
    emulator.set_faults(
        {
            "rate_limit": {"rate": 0.3, "endpoint": "E3", "retry_after": 1},
            "error_5xx": {"rate": 0.15, "endpoint": "E3", "status": 503},
            "timeout": {"rate": 0.1, "endpoint": "E3", "processed": True, "hold_seconds": 0},
        }
    )
    job = queue(make_job(text=members_csv(120), batch_size=10))
    run(job)
    assert job.status == ImportJob.Status.DONE
    assert_every_row_accounted_for(job)
    assert max(applied.values()) == 1
    per_row = applied_entries_per_row(job)
    for row in job.rows.all():
        mobile = row.values["mobile"]
        if row.status == ImportRow.Status.OK:
            assert applied[mobile] == 1
            assert per_row[row.number] == 1
        elif row.status == ImportRow.Status.FAILED:
            assert applied[mobile] == 0
            assert per_row[row.number] == 0
        else:
            assert row.status == ImportRow.Status.UNKNOWN
            assert per_row[row.number] == 1


def test_a_whole_request_refused_fails_its_rows_with_the_code(emulator, settings):
    emulator.org = emulator.org.__class__(**{**emulator.org.__dict__, "max_batch_size": 5})
    job = queue(make_job(text=members_csv(8), batch_size=8))
    run(job)
    assert job.failed_rows == 8
    assert job.rows.first().codes == "1060"
    assert_every_row_accounted_for(job)


def test_refused_credentials_stop_the_job_with_its_rows_resumable(settings, applied):
    settings.CAPILLARY_TILL_PASSWORD = "wrong"
    gateway.reset()
    job = queue(make_job(text=members_csv(12), batch_size=5))
    run(job)
    assert job.status == ImportJob.Status.FAILED
    assert "refused the console's credentials" in job.error
    assert set(job.rows.values_list("status", flat=True)) == {ImportRow.Status.PENDING}
    settings.CAPILLARY_TILL_PASSWORD = "membercare123"
    gateway.reset()
    resume_job(job, enqueue=False)
    run(job)
    assert job.status == ImportJob.Status.DONE
    assert job.done_rows == 12
    assert set(applied.values()) == {1}
    assert_every_row_accounted_for(job)


def test_cancelling_stops_between_batches_and_leaves_the_rest_unsent(monkeypatch, applied):
    job = queue(make_job(text=members_csv(30), batch_size=10))
    send = services.upsert_members

    def send_then_cancel(**kwargs):
        jobs.cancel_job(ImportJob.objects.get(pk=job.pk))
        return send(**kwargs)

    monkeypatch.setattr(services, "upsert_members", send_then_cancel)
    run(job)
    assert job.status == ImportJob.Status.CANCELLED
    assert job.done_rows == 10
    assert job.rows.filter(status=ImportRow.Status.PENDING).count() == 20
    assert len(applied) == 10
    assert_every_row_accounted_for(job)
    fix = "".join(jobs.failed_csv(job))
    assert fix.count("\n") == 21  # the header and the twenty rows never sent


def test_a_job_cancelled_before_a_worker_took_it_is_never_sent(applied):
    job = make_job(text=members_csv(3))
    start_job(job)  # the ImmediateBackend runs it at once
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    other = make_job(text=members_csv(3, start=10))
    queue(other)
    jobs.cancel_job(other)
    run(other)
    assert other.status == ImportJob.Status.CANCELLED
    assert not {m for m in applied if m.endswith(("10", "11", "12"))}


def test_a_second_worker_joins_a_job_while_the_first_reports_and_sends_each_row_once(applied):
    job = queue(make_job(text=members_csv(3)))
    first = Importer(job.pk)
    first._claim()
    run(job)
    assert job.status == ImportJob.Status.DONE
    assert job.worker == first.worker
    assert set(applied.values()) == {1}
    assert len(applied) == 3


def test_a_finished_job_is_not_run_again(applied):
    job = queue(make_job(text=members_csv(3)))
    run(job)
    run(job)
    assert set(applied.values()) == {1}
