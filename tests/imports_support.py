"""Shared helpers for the import and upsert tests: files, jobs, and watching the emulator."""

import io
import threading
from collections import Counter

import pytest
from django.contrib.auth.models import User

from customers import gateway
from customers.imports import jobs
from customers.models import AuditEntry, ImportJob, ImportRow
from tests.conftest import make_staff


def members_csv(count: int, start: int = 0, extra: str = "") -> str:
    """`count` rows of new members with distinct mobiles (and `extra` columns appended)."""
    header = "mobile,first_name" + (f",{extra}" if extra else "")
    lines = [header]
    for index in range(start, start + count):
        lines.append(f"91990{index:07d},Member{index}" + ("," if extra else ""))
    return "\n".join(lines) + "\n"


def make_job(
    owner: User | None = None,
    text: str | bytes = "",
    *,
    batch_size: int = 100,
    dry_run: bool = False,
    skip_change_identifier: bool = False,
) -> ImportJob:
    data = text.encode() if isinstance(text, str) else text
    return jobs.create_job(
        owner=owner or importer(),
        upload=io.BytesIO(data),
        file_name="members.csv",
        dry_run=dry_run,
        skip_change_identifier=skip_change_identifier,
        reason="Quarterly member file",
        batch_size=batch_size,
    )


def importer() -> User:
    from customers.console.roles import SUPPORT

    found = User.objects.filter(username="importer").first()
    return found or make_staff(SUPPORT, "importer")


def queue(job: ImportJob) -> ImportJob:
    """The job as start_job leaves it, without running the task."""
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    job.refresh_from_db()
    return job


def final_statuses(job: ImportJob) -> Counter[str]:
    return Counter(job.rows.values_list("status", flat=True))


def assert_every_row_accounted_for(job: ImportJob) -> None:
    """Counters add up, and each row ends in exactly one final status."""
    job.refresh_from_db()
    statuses = final_statuses(job)
    assert ImportRow.Status.SENT not in statuses
    assert sum(statuses.values()) == job.total_rows
    assert job.done_rows == statuses[ImportRow.Status.OK] + statuses[ImportRow.Status.WARNING]
    assert job.warning_rows == statuses[ImportRow.Status.WARNING]
    assert job.failed_rows == statuses[ImportRow.Status.FAILED]
    assert job.unknown_rows == statuses[ImportRow.Status.UNKNOWN]
    assert job.invalid_rows == statuses[ImportRow.Status.INVALID]
    if job.status == ImportJob.Status.DONE:
        assert job.processed_rows == job.sendable_rows
        assert statuses[ImportRow.Status.PENDING] == 0


def applied_entries_per_row(job: ImportJob) -> Counter[int]:
    """Audit entries per row whose request Capillary may have applied.

    Attempts refused before processing (rate limits, outages) are recorded as
    failed and are not counted; neither are entries a resume proved unapplied.
    """
    entries = AuditEntry.objects.filter(import_job_id=job.pk).exclude(
        outcome=AuditEntry.Outcome.FAILED
    )
    return Counter(entries.values_list("import_row", flat=True))


@pytest.fixture
def applied(monkeypatch):
    """Counts, per mobile, the bulk-upsert elements the emulator actually processed."""
    from customers.capillary_emulator.handlers import bulk

    seen: Counter[str] = Counter()
    original = bulk._one
    lock = threading.Lock()  # batches may be in flight from several threads

    def counting(ctx, element, skip_change):
        for identifier in element.get("profiles", [{}])[0].get("identifiers", []):
            if identifier.get("type") == "mobile":
                with lock:
                    seen[identifier["value"]] += 1
        return original(ctx, element, skip_change)

    monkeypatch.setattr(bulk, "_one", counting)
    return seen


@pytest.fixture
def client_sleeps(monkeypatch):
    """The client's own retry waits, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(gateway.get_client(), "_sleep", slept.append)
    return slept
