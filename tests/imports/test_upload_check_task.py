"""Issue 15, finding 3: the upload request keeps the file and returns; a task checks it.

A 100,000-row file held the request 12-33 s and a 1,000,000-row one 109 s
(docs/benchmarks.md). Now the request stores the bytes in the database and
queues `check_upload`; the job's page shows the check's progress, then the preview.
"""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from customers.imports import jobs
from customers.models import ImportJob, ImportRow, ImportUpload
from customers.retention import prune
from tests.imports_support import importer, members_csv

QUEUED_ONLY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
Status = ImportJob.Status


@pytest.fixture
def support_client(db):
    """Signed in as the importer: the uploader of every job made here."""
    client = Client()
    client.force_login(importer())
    return client


def upload(client, data: bytes, **fields):
    form = {
        "reason": "Quarterly member file",
        "batch_size": "100",
        **fields,
        "file": SimpleUploadedFile("members.csv", data, content_type="text/csv"),
    }
    return client.post(reverse("import_new"), form)


def detail(job: ImportJob) -> str:
    return reverse("import_detail", args=[job.pk])


def rows_of(job: ImportJob) -> list[tuple]:
    return list(
        job.rows.order_by("number").values_list(
            "number", "values", "entry", "problems", "status", "messages"
        )
    )


MIXED = (members_csv(30) + "919900,,Bad,\n" + members_csv(5, start=100).split("\n", 1)[1]).encode()


def test_the_upload_returns_at_once_without_storing_a_row_when_no_worker_has_run(
    support_client, settings
):
    settings.TASKS = QUEUED_ONLY
    response = upload(support_client, MIXED)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail(job)
    assert not ImportRow.objects.exists()
    assert job.status == Status.UPLOADED
    assert job.upload_bytes == len(MIXED)
    # The bytes wait in the database, which every worker host shares.
    assert bytes(ImportUpload.objects.get(job=job).data) == MIXED
    page = support_client.get(detail(job)).content.decode()
    assert "Checking the file… 0 rows read (0 %)" in page
    assert "Start the import" not in page


def test_the_check_task_stores_the_same_rows_as_reading_the_file_in_the_request(
    support_client, settings
):
    upload(support_client, MIXED)  # the test settings run tasks at once
    checked = ImportJob.objects.get()
    assert checked.status == Status.VALIDATED
    assert (checked.total_rows, checked.invalid_rows) == (36, 1)
    assert (checked.checked_rows, checked.checked_percent) == (36, 100)
    assert not ImportUpload.objects.exists()  # deleted once checked
    direct = jobs.create_job(
        owner=importer(),
        upload=io.BytesIO(MIXED),
        file_name="members.csv",
        dry_run=False,
        skip_change_identifier=False,
        reason="Quarterly member file",
        batch_size=100,
    )
    assert rows_of(checked) == rows_of(direct)
    assert checked.columns == direct.columns
    page = support_client.get(detail(checked)).content.decode()
    assert "Start the import of 35 rows" in page
    assert "Checking the file" not in page


def test_the_page_shows_the_checks_progress_and_polls_it(support_client):
    job = ImportJob.objects.create(
        owner=importer(),
        file_name="big.csv",
        upload_bytes=8_000_000,
        checked_bytes=2_000_000,
        checked_rows=25_000,
        invalid_rows=3,
        heartbeat_at=timezone.now(),
    )
    page = support_client.get(detail(job)).content.decode()
    assert "Checking the file… 25000 rows read (25 %), 3 with problems so far." in page
    assert '<progress max="100" value="25"' in page
    assert 'hx-trigger="every 2s"' in page
    assert '<meta http-equiv="refresh" content="5">' in page  # without JavaScript
    assert "Cancel the check" in page
    assert "data-check-stale" not in page
    poll = support_client.get(detail(job), headers={"HX-Request": "true", "HX-Target": "progress"})
    assert poll.content.decode().lstrip().startswith('<section id="progress"')
    assert "25000 rows read (25 %)" in poll.content.decode()
    assert "HX-Refresh" not in poll
    ImportJob.objects.filter(pk=job.pk).update(status=Status.VALIDATED)
    done = support_client.get(detail(job), headers={"HX-Request": "true", "HX-Target": "progress"})
    assert done["HX-Refresh"] == "true"  # the whole page again: the preview


def test_a_check_no_worker_reports_on_says_so(support_client):
    job = ImportJob.objects.create(
        owner=importer(), file_name="big.csv", heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    page = support_client.get(detail(job)).content.decode()
    assert "No worker has reported on checking this file for a while" in page


def test_progress_moves_on_after_every_chunk(support_client, settings, monkeypatch):
    settings.TASKS = QUEUED_ONLY
    monkeypatch.setattr(jobs, "STORE_CHUNK", 10)
    upload(support_client, members_csv(45).encode())
    job = ImportJob.objects.get()
    seen: list[tuple[int, int]] = []
    row_for = jobs._row_for

    def watching(job_, parsed):
        seen.append(ImportJob.objects.values_list("checked_rows", "checked_bytes").get(pk=job.pk))
        return row_for(job_, parsed)

    monkeypatch.setattr(jobs, "_row_for", watching)
    jobs.check_upload(job.pk)
    rows_seen = sorted({rows for rows, _ in seen})
    assert rows_seen == [0, 10, 20, 30, 40]
    bytes_seen = [read for _, read in seen]
    assert bytes_seen == sorted(bytes_seen)
    assert bytes_seen[-1] > 0
    job.refresh_from_db()
    assert (job.status, job.checked_rows, job.checked_percent) == (Status.VALIDATED, 45, 100)


def test_cancelling_before_the_check_runs_stores_nothing_and_drops_the_file(
    support_client, settings
):
    settings.TASKS = QUEUED_ONLY
    upload(support_client, members_csv(20).encode())
    job = ImportJob.objects.get()
    cancelled = support_client.post(detail(job), {"action": "cancel"}, follow=True)
    assert "The check is cancelled" in cancelled.content.decode()
    jobs.check_upload(job.pk)  # the worker gets to it afterwards
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert not job.rows.exists()
    assert not ImportUpload.objects.exists()


def test_cancelling_during_the_check_stops_it_at_the_next_chunk(
    support_client, settings, monkeypatch
):
    settings.TASKS = QUEUED_ONLY
    monkeypatch.setattr(jobs, "STORE_CHUNK", 10)
    upload(support_client, members_csv(100).encode())
    job = ImportJob.objects.get()
    row_for = jobs._row_for

    def cancelling_at_row_15(job_, parsed):
        if parsed.number == 15:
            jobs.cancel_job(job, by=importer())
        return row_for(job_, parsed)

    monkeypatch.setattr(jobs, "_row_for", cancelling_at_row_15)
    jobs.check_upload(job.pk)
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert job.rows.count() == 20  # the chunk in hand, then it stopped
    assert not ImportUpload.objects.exists()


def test_an_unusable_corrected_file_leaves_the_preview_it_was_to_replace(support_client):
    upload(support_client, members_csv(3).encode())
    first = ImportJob.objects.get()
    upload(support_client, b"first_name\nAsha\n", replaces=str(first.pk))
    first.refresh_from_db()
    assert first.status == Status.VALIDATED
    page = support_client.get(detail(ImportJob.objects.latest("pk"))).content.decode()
    assert escape("at least one identifier column") in page


def test_retention_removes_upload_bytes_no_check_will_read(db):
    owner = importer()
    old = ImportJob.objects.create(
        owner=owner, file_name="old.csv", created_at=timezone.now() - timedelta(days=2)
    )
    ImportUpload.objects.create(job=old, data=b"mobile\n1\n")
    left = ImportJob.objects.create(owner=owner, file_name="left.csv", status=Status.CANCELLED)
    ImportUpload.objects.create(job=left, data=b"mobile\n1\n")
    waiting = ImportJob.objects.create(owner=owner, file_name="now.csv")
    ImportUpload.objects.create(job=waiting, data=b"mobile\n1\n")
    pruned = prune()
    assert pruned.uploads == 2
    assert list(ImportUpload.objects.values_list("job_id", flat=True)) == [waiting.pk]


def test_a_job_being_checked_cannot_be_started(support_client):
    job = ImportJob.objects.create(
        owner=importer(), file_name="x.csv", total_rows=5, checked_rows=5
    )
    response = support_client.post(detail(job), {"action": "start"}, follow=True)
    assert "This import is checking the file already" in response.content.decode()
    job.refresh_from_db()
    assert job.status == Status.UPLOADED
