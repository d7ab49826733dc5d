"""Retention: what goes when (customers/retention.py), and the periodic task that runs it."""

from datetime import timedelta

from axes.models import AccessAttempt
from django.core.management import call_command
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from customers import periodic
from customers.models import AuditEntry, FormToken, ImportJob, ImportRow
from customers.retention import prune
from tests.conftest import make_staff

Status = ImportJob.Status
DAYS = timedelta(days=1)


def job(owner, *, status, dry_run=False, age=timedelta(0), finished_age=None, rows=2):
    now = timezone.now()
    made = ImportJob.objects.create(
        owner=owner,
        file_name="m.csv",
        columns=["mobile"],
        status=status,
        dry_run=dry_run,
        created_at=now - age,
        finished_at=None if finished_age is None else now - finished_age,
    )
    ImportRow.objects.bulk_create(
        ImportRow(job=made, number=n, values={"mobile": f"9199{n:08d}"}, status="pending")
        for n in range(1, rows + 1)
    )
    return made


def test_prune_keeps_what_is_in_use_and_deletes_what_has_expired(db, settings):
    settings.IMPORT_ROWS_RETENTION_DAYS = 30
    owner = make_staff(None)
    old_dry_run = job(owner, status=Status.VALIDATED, dry_run=True, age=2 * DAYS)
    new_dry_run = job(owner, status=Status.VALIDATED, dry_run=True, age=DAYS / 2)
    abandoned = job(owner, status=Status.VALIDATED, age=2 * DAYS)
    running = job(owner, status=Status.RUNNING, age=40 * DAYS)
    finished_long_ago = job(owner, status=Status.DONE, age=40 * DAYS, finished_age=31 * DAYS)
    finished_lately = job(owner, status=Status.DONE, age=40 * DAYS, finished_age=29 * DAYS)
    expired = AccessAttempt.objects.create(
        username="sam", ip_address="203.0.113.9", failures_since_start=3,
        get_data="", post_data="", http_accept="", path_info="/login/", user_agent="",
    )  # fmt: skip
    AccessAttempt.objects.filter(pk=expired.pk).update(
        attempt_time=timezone.now() - timedelta(hours=2)
    )
    fresh = AccessAttempt.objects.create(
        username="ana", ip_address="203.0.113.9", failures_since_start=1,
        get_data="", post_data="", http_accept="", path_info="/login/", user_agent="",
    )  # fmt: skip
    FormToken.objects.create(token="old", created_at=timezone.now() - 2 * DAYS)
    FormToken.objects.create(token="new")
    entries = AuditEntry.objects.count()

    pruned = prune()

    kept = set(ImportJob.objects.values_list("pk", flat=True))
    assert old_dry_run.pk not in kept
    assert abandoned.pk not in kept
    assert {new_dry_run.pk, running.pk, finished_long_ago.pk, finished_lately.pk} <= kept
    assert not finished_long_ago.rows.exists()
    assert finished_lately.rows.count() == running.rows.count() == 2
    assert list(AccessAttempt.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert list(FormToken.objects.values_list("token", flat=True)) == ["new"]
    assert AuditEntry.objects.count() == entries
    assert (pruned.previews, pruned.finished_rows, pruned.failed_logins) == (2, 2, 1)


def test_the_command_says_what_it_deleted(db, capsys):
    job(make_staff(None), status=Status.VALIDATED, dry_run=True, age=2 * DAYS)
    call_command("prune")
    assert (
        "Deleted dry runs and unstarted previews: 1, rows of finished imports: 0"
        in capsys.readouterr().out
    )


def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_scheduling_queues_each_periodic_job_once(db, settings):
    database_tasks(settings)
    assert sorted(periodic.ensure_scheduled()) == ["checkpoint", "prune"]
    assert periodic.ensure_scheduled() == []
    waiting = DBTaskResult.objects.filter(task_path=periodic.run_periodic.module_path)
    assert sorted(w.args_kwargs["args"][0] for w in waiting) == ["checkpoint", "prune"]
    assert {w.status for w in waiting} == {TaskResultStatus.READY}


def test_a_periodic_run_prunes_and_queues_the_next_one_an_hour_later(db, settings):
    database_tasks(settings)
    job(make_staff(None), status=Status.VALIDATED, dry_run=True, age=2 * DAYS)
    periodic.run_periodic.call("prune")
    assert not ImportJob.objects.exists()
    following = DBTaskResult.objects.get(task_path=periodic.run_periodic.module_path)
    assert following.status == TaskResultStatus.READY
    delay = following.run_after - timezone.now()
    assert timedelta(minutes=59) < delay <= timedelta(hours=1)


def test_a_failing_periodic_job_is_queued_again(db, settings, monkeypatch):
    database_tasks(settings)

    def broken():
        raise RuntimeError("disk full")

    monkeypatch.setitem(periodic.JOBS, "prune", periodic.PeriodicJob("prune", DAYS, broken))
    monkeypatch.setattr(periodic, "PERIODIC_MODULES", ())
    periodic.run_periodic.call("prune")
    assert DBTaskResult.objects.filter(task_path=periodic.run_periodic.module_path).count() == 1
