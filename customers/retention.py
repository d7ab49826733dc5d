"""What the console keeps, and for how long (the change history: for ever).

- dry runs, and previews never started, are deleted with their rows after a day;
- an uploaded file's bytes go once it is checked (the check task deletes them);
  any left behind by a job no longer being checked, or older than a day, go here;
- a finished import keeps its job (counts, who, when) for good but its rows only for
  IMPORT_ROWS_RETENTION_DAYS: each sent row's audit entry stays in the history;
- failed sign-ins (django-axes) go once their throttling window has passed;
- one-time form tokens after a day; finished task results after a week.

`manage.py prune` runs it by hand; the task worker runs it every hour (periodic.py).
"""

from dataclasses import dataclass
from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from customers.models import FormToken, ImportJob, ImportRow, ImportUpload
from customers.periodic import periodic

Status = ImportJob.Status
PREVIEW_LIFETIME = timedelta(days=1)
FORM_TOKEN_LIFETIME = timedelta(days=1)
TASK_RESULT_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class Pruned:
    previews: int
    finished_rows: int
    failed_logins: int
    form_tokens: int
    task_results: int
    uploads: int = 0

    def __str__(self) -> str:
        return (
            f"dry runs and unstarted previews: {self.previews}, rows of finished imports: "
            f"{self.finished_rows}, failed sign-in records: {self.failed_logins}, "
            f"form tokens: {self.form_tokens}, finished task results: {self.task_results}, "
            f"stored upload files: {self.uploads}"
        )


def prune() -> Pruned:
    now = timezone.now()
    day_ago = now - PREVIEW_LIFETIME
    # A dry run never sends anything; a preview nobody started within a day is abandoned.
    # Running or queued jobs are never touched, whatever their age.
    # (A started dry run is no longer one: starting it clears dry_run.)
    stale = (
        ImportJob.objects.filter(created_at__lt=day_ago)
        .filter(Q(dry_run=True) | Q(status__in=(Status.UPLOADED, Status.VALIDATED)))
        .exclude(status__in=(Status.QUEUED, Status.RUNNING))
    )
    stale_ids = list(stale.values_list("pk", flat=True))
    uploads, _ = ImportUpload.objects.filter(
        Q(job_id__in=stale_ids) | ~Q(job__status=Status.UPLOADED)
    ).delete()
    ImportRow.objects.filter(job_id__in=stale_ids).delete()
    previews, _ = ImportJob.objects.filter(pk__in=stale_ids).delete()
    kept_for = timedelta(days=settings.IMPORT_ROWS_RETENTION_DAYS)
    finished_rows, _ = ImportRow.objects.filter(
        job__status__in=(Status.DONE, Status.CANCELLED, Status.FAILED),
        job__finished_at__lt=now - kept_for,
    ).delete()
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    failed_logins, _ = AccessAttempt.objects.filter(attempt_time__lt=now - window).delete()
    form_tokens, _ = FormToken.objects.filter(created_at__lt=now - FORM_TOKEN_LIFETIME).delete()
    return Pruned(
        previews, finished_rows, failed_logins, form_tokens, _prune_task_results(), uploads
    )


def _prune_task_results() -> int:
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    cutoff = timezone.now() - TASK_RESULT_LIFETIME
    deleted, _ = DBTaskResult.objects.filter(
        status__in=(TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED), finished_at__lt=cutoff
    ).delete()
    return deleted


@periodic("prune", every=timedelta(hours=1))
def prune_periodically() -> Pruned:
    return prune()
