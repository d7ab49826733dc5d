"""Bulk import use cases: store an upload as rows, start, cancel and resume jobs, read results.

The upload request only stores the file's bytes in the database (ImportUpload)
and queues `tasks.check_upload`; that task reads the file once, streaming, and
stores each data row as an ImportRow in chunks, so a hundred thousand rows never
sit in memory together, moving the job's progress on after every chunk; the
preview and everything after it read from the database. Sending the rows
is `customers.imports.tasks`. Every row goes through `services.upsert_members`, so it
is audited like a hand edit.
"""

import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from pydantic import ValidationError

from customers.capillary.schemas import UpsertEntry, field_errors
from customers.console import spreadsheet
from customers.console.spreadsheet import safe_cell
from customers.gateway import catalogue, extended_field_specs
from customers.imports.csv import (
    PROBLEM_COLUMN,
    CsvFileError,
    CsvRules,
    ParsedRow,
    RowProblem,
    open_text,
    read_rows,
)
from customers.members.search import Dialling
from customers.models import AuditEntry, ImportJob, ImportRow, ImportUpload

Status = ImportJob.Status
RowStatus = ImportRow.Status

# Rows per INSERT: large enough to be fast, small enough that SQLite's write
# lock is released often for a worker running another import meanwhile.
STORE_CHUNK = 1000
STORE_CHUNK_CELLS = 50_000
# Rows with problems kept for the preview and the to-fix file; past this, a file is
# counted, not stored (a 19 MB file of one repeated row once stored 866,213 of them).
INVALID_ROWS_KEPT = 1000
INVALID_CELLS_KEPT = 200_000  # and no more cells than this (rows may be very wide)
PREVIEW_ROWS = 20
# Capillary takes at most 100 entries per bulk upsert (code 1060 above that).
MAX_BATCH_SIZE = 100
# A running job's worker writes a heartbeat after every batch and before every
# wait; waits are at most a minute, so two minutes of silence means it is gone.
STALE_AFTER = timedelta(minutes=2)
# Excel reads a CSV as UTF-8 only with a byte-order mark; the upload reader skips it.
EXCEL_BOM = "\ufeff"


# A failed call that surely did not reach Capillary: its rows were sent again
# (customers.imports.tasks.NOT_APPLIED_ERRORS, repeated here: tasks imports this module).
RESENT_ERRORS = frozenset({"RateLimited", "Unavailable", "AuthFailed"})


class ImportRefused(Exception):
    """The job cannot do what was asked in its state; the message is for staff."""


class NotYourImport(ImportRefused):
    """Someone other than the job's uploader (or a superuser) tried to act on it."""


def may_act_on(job: ImportJob, user: User | None) -> bool:
    """Whether `user` may start, cancel, resume or download `job`.

    The uploader previewed the file and wrote its reason, so the job is theirs; a
    superuser may act on any job (to stop one whose owner is away). Other staff
    with the import capability see the job's progress, read-only. `None` is the
    system (resume_imports, the worker).
    """
    return user is None or user.is_superuser or job.owner_id == user.pk


def check_may_act(job: ImportJob, user: User | None) -> None:
    if not may_act_on(job, user):
        raise NotYourImport(
            f"This import is {job.owner.get_username()}'s: only they (or an administrator) "
            "may start, cancel, resume or download it."
        )


def csv_rules() -> CsvRules:
    """What the reader checks rows against: this org's labels and fields."""
    org = catalogue()
    extended = extended_field_specs()
    return CsvRules(
        default_source=settings.CAPILLARY_SOURCE,
        default_account_id=settings.CAPILLARY_ACCOUNT_ID,
        sources=org.sources,
        dialling=Dialling(country_code=org.country_code, national_length=org.national_length),
        status_labels=frozenset(org.status_label_names),
        custom_fields=frozenset(str(spec["name"]) for spec in org.custom_fields),
        # None (unchecked) when Capillary could not be asked: it warns about unknown ones.
        extended_fields=frozenset(str(spec["name"]) for spec in extended) if extended else None,
    )


# --- upload -----------------------------------------------------------------


def receive_upload(
    *,
    owner: User,
    upload: IO[bytes],
    file_name: str,
    dry_run: bool,
    skip_change_identifier: bool,
    reason: str,
    batch_size: int,
    replaces: int | None = None,
) -> ImportJob:
    """Keep an uploaded file for its check task: a job in status `uploaded` and the file's bytes.

    The bytes go into the database, which every worker host shares; the upload
    limit (IMPORT_MAX_UPLOAD_BYTES) bounds them. `check_upload` reads them into rows.
    """
    data = upload.read()
    with transaction.atomic():
        job = ImportJob.objects.create(
            owner=owner,
            file_name=file_name[:255],
            dry_run=dry_run,
            skip_change_identifier=skip_change_identifier,
            reason=reason,
            batch_size=batch_size,
            upload_bytes=len(data),
            replaces_job=replaces,
            heartbeat_at=timezone.now(),
        )
        ImportUpload.objects.create(job=job, data=data)
    return job


def check_upload(job_id: int) -> ImportJob | None:
    """Read a received upload into rows (the check task's work); None if the job is gone.

    An unusable file fails the job with the reason in words; the stored bytes are
    deleted either way. A job cancelled meanwhile is left as it is.
    """
    job = ImportJob.objects.filter(pk=job_id).first()
    upload = ImportUpload.objects.filter(job_id=job_id).first()
    try:
        if job is None or upload is None or job.status != Status.UPLOADED:
            return job
        store_rows(job, io.BytesIO(upload.data))
    except CsvFileError as refused:
        _fail_check(job_id, str(refused))
    except Exception:
        _fail_check(
            job_id, "The file could not be checked: an error on the server. Upload it again."
        )
        raise
    finally:
        ImportUpload.objects.filter(job_id=job_id).delete()
    assert job is not None
    job.refresh_from_db()
    if job.status == Status.VALIDATED and job.replaces_job is not None:
        discard_replaced(job.replaces_job, job.owner)
    return job


def _fail_check(job_id: int, message: str) -> None:
    ImportJob.objects.filter(pk=job_id, status=Status.UPLOADED).update(
        status=Status.FAILED, error=message, finished_at=timezone.now()
    )


def discard_replaced(job_id: int, staff: User) -> None:
    """A corrected file replaces the upload it fixes: the old preview is closed."""
    old = ImportJob.objects.filter(pk=job_id, status=Status.VALIDATED).first()
    if old is not None and may_act_on(old, staff):
        cancel_job(old, by=staff)


def create_job(
    *,
    owner: User,
    upload: IO[bytes],
    file_name: str,
    dry_run: bool,
    skip_change_identifier: bool,
    reason: str,
    batch_size: int,
) -> ImportJob:
    """Read a CSV into a job and its rows at once; raise CsvFileError for an unusable file.

    For scripts and the bench: the console's upload goes through `receive_upload`
    and the `check_upload` task instead.
    """
    size = upload.seek(0, io.SEEK_END)
    upload.seek(0)
    job = ImportJob.objects.create(
        owner=owner,
        file_name=file_name[:255],
        dry_run=dry_run,
        skip_change_identifier=skip_change_identifier,
        reason=reason,
        batch_size=batch_size,
        upload_bytes=size,
    )
    try:
        store_rows(job, upload)
    except CsvFileError:
        job.delete()
        raise
    job.refresh_from_db()
    return job


def store_rows(job: ImportJob, upload: IO[bytes]) -> None:
    """Read an `uploaded` job's file into its rows and make it `validated`.

    Streaming, in bounded chunks (rows and cells), with rows with problems kept
    only up to a cap; after every chunk the job's progress (rows and bytes read)
    and heartbeat move on. Stops early, leaving the job as it is, once it is no
    longer `uploaded` (cancelled). Raises CsvFileError for an unusable file.
    """
    columns, parsed = read_rows(open_text(upload), csv_rules())
    first = next(parsed, None)
    if first is None:
        raise CsvFileError("The file names its columns but has no rows.")
    job.columns = columns
    ImportJob.objects.filter(pk=job.pk).update(columns=columns)
    total = invalid = invalid_cells = cells = reported = 0
    chunk: list[ImportRow] = []

    def report() -> bool:
        """Store the chunk and the progress; False once the job was cancelled."""
        nonlocal chunk, cells, reported
        ImportRow.objects.bulk_create(chunk)
        chunk, cells, reported = [], 0, total
        return bool(
            ImportJob.objects.filter(pk=job.pk, status=Status.UPLOADED).update(
                checked_rows=total,
                invalid_rows=invalid,
                checked_bytes=upload.tell(),
                heartbeat_at=timezone.now(),
            )
        )

    for row in itertools.chain([first], parsed):
        stored = _row_for(job, row)
        total += 1
        if stored.status == RowStatus.INVALID:
            invalid += 1
            invalid_cells += len(stored.values)
            if invalid > INVALID_ROWS_KEPT or invalid_cells > INVALID_CELLS_KEPT:
                # Counted, not kept: the file itself must be fixed. Progress still shows.
                if total - reported >= STORE_CHUNK and not report():
                    return
                continue
        chunk.append(stored)
        cells += len(stored.values) + len(stored.problems)
        # Bounded by cells as well as rows: a row may hold thousands of columns.
        if (len(chunk) >= STORE_CHUNK or cells >= STORE_CHUNK_CELLS) and not report():
            return
    ImportRow.objects.bulk_create(chunk)
    ImportJob.objects.filter(pk=job.pk, status=Status.UPLOADED).update(
        status=Status.VALIDATED,
        total_rows=total,
        invalid_rows=invalid,
        checked_rows=total,
        checked_bytes=job.upload_bytes,
        heartbeat_at=timezone.now(),
    )


def deleting_labels() -> list[str]:
    """The org's status labels whose status is DELETED: setting one deletes the member."""
    return [
        str(item["label"])
        for item in catalogue().status_labels
        if str(item.get("status", "")) == "DELETED"
    ]


def deleting_rows(job: ImportJob) -> int:
    """How many of the job's sendable rows set a deleting status label."""
    labels = deleting_labels()
    if not labels:
        return 0
    return (
        job.rows.exclude(status=ImportRow.Status.INVALID)
        .filter(entry__statusLabel__in=labels)
        .count()
    )


def _row_for(job: ImportJob, parsed: ParsedRow) -> ImportRow:
    problems = list(parsed.problems)
    entry = parsed.entry
    if entry is not None:
        # The client validates again before sending; doing it here puts any
        # limit the reader does not know about into the preview instead.
        try:
            UpsertEntry.model_validate(entry)
        except ValidationError as invalid:
            problems += [
                RowProblem(parsed.number, "", f"{path}: {message}")
                for path, message in field_errors(invalid).items()
            ]
            entry = None
    return ImportRow(
        job=job,
        number=parsed.number,
        # Empty cells leave a member's value as it is: nothing to keep for them.
        values={column: value for column, value in parsed.values.items() if value},
        entry=entry,
        problems=[{"column": p.column, "message": p.message} for p in problems],
        status=RowStatus.INVALID if problems else RowStatus.PENDING,
        messages=_problem_text(problems),
    )


def _problem_text(problems: Iterable[RowProblem]) -> str:
    return "; ".join(f"{p.column}: {p.message}" if p.column else p.message for p in problems)


# --- start, cancel, resume --------------------------------------------------------


def cancel_job(job: ImportJob, *, by: User | None = None) -> ImportJob:
    """Stop a job: at once if no worker has it yet, else after the batch in flight.

    `by`: who asked (None for the system); recorded on the job."""
    check_may_act(job, by)
    now = timezone.now()
    waiting = (Status.UPLOADED, Status.VALIDATED, Status.QUEUED)
    stopped = ImportJob.objects.filter(pk=job.pk, status__in=waiting).update(
        status=Status.CANCELLED, cancel_requested=True, finished_at=now, cancelled_by=by
    )
    if not stopped:
        asked = ImportJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
            cancel_requested=True, cancelled_by=by
        )
        if not asked:
            raise ImportRefused(f"This import is {job.get_status_display().lower()}.")
    job.refresh_from_db()
    return job


def is_stale(
    job: ImportJob, now: datetime | None = None, stale_after: timedelta = STALE_AFTER
) -> bool:
    """Whether a queued or running job has lost its worker (no heartbeat for a while)."""
    if not job.is_active or job.heartbeat_at is None:
        return False
    return (now or timezone.now()) - job.heartbeat_at >= stale_after


def check_is_stale(
    job: ImportJob, now: datetime | None = None, stale_after: timedelta = STALE_AFTER
) -> bool:
    """Whether an upload being checked has had no progress for a while (no worker, or it died)."""
    if job.status != Status.UPLOADED:
        return False
    since = job.heartbeat_at or job.created_at
    return (now or timezone.now()) - since >= stale_after


def stale_jobs(stale_after: timedelta = STALE_AFTER) -> list[ImportJob]:
    """Queued or running jobs whose worker has not reported for `stale_after`."""
    cutoff = timezone.now() - stale_after
    return list(
        ImportJob.objects.filter(
            status__in=(Status.QUEUED, Status.RUNNING), heartbeat_at__lte=cutoff
        ).order_by("pk")
    )


# --- progress ---------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    job: ImportJob
    processed: int
    sendable: int
    remaining: int
    rows_per_minute: float | None
    eta: timedelta | None
    stale: bool

    @property
    def percent(self) -> int:
        return round(100 * self.processed / self.sendable) if self.sendable else 100

    @property
    def eta_words(self) -> str:
        if self.eta is None:
            return ""
        minutes, seconds = divmod(int(self.eta.total_seconds()), 60)
        if minutes >= 60:
            return f"about {minutes // 60} h {minutes % 60} min"
        return f"about {minutes} min {seconds} s" if minutes else f"about {seconds} s"


def progress(job: ImportJob, now: datetime | None = None) -> Progress:
    now = now or timezone.now()
    processed = job.processed_rows
    rate = None
    eta = None
    if job.started_at and processed:
        elapsed = ((job.finished_at or now) - job.started_at).total_seconds()
        if elapsed > 0:
            rate = processed / elapsed * 60
            if job.is_active and job.remaining_rows:
                eta = timedelta(seconds=round(job.remaining_rows / (processed / elapsed)))
    return Progress(
        job=job,
        processed=processed,
        sendable=job.sendable_rows,
        remaining=job.remaining_rows,
        rows_per_minute=rate,
        eta=eta,
        stale=is_stale(job, now),
    )


def status_counts(job: ImportJob) -> dict[str, int]:
    """Rows per status, from the rows themselves (for the result filters)."""
    counted = job.rows.values("status").annotate(rows=Count("id")).order_by()
    return {item["status"]: item["rows"] for item in counted}


def recount(job_id: int) -> None:
    """Set the job's counters from its rows: after a resume, when increments may have been lost."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        counts = status_counts(job)
        # invalid_rows stays the upload's count: those rows never change, and past
        # INVALID_ROWS_KEPT they are counted without being stored.
        ImportJob.objects.filter(pk=job_id).update(
            done_rows=counts.get(RowStatus.OK, 0) + counts.get(RowStatus.WARNING, 0),
            warning_rows=counts.get(RowStatus.WARNING, 0),
            failed_rows=counts.get(RowStatus.FAILED, 0),
            unknown_rows=counts.get(RowStatus.UNKNOWN, 0),
        )


# --- results ----------------------------------------------------------------------


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a stream."""

    def write(self, value: str) -> str:
        return value


RESULT_COLUMNS = ("row", "outcome", "customer_id", "codes", "messages")


def result_csv(job: ImportJob) -> Iterator[str]:
    """Every row: its original cells, then outcome, customer id, codes and messages."""
    writer = spreadsheet.writer(_Echo())
    columns = [c for c in job.columns if c]
    yield EXCEL_BOM + writer.writerow([*columns, *RESULT_COLUMNS])
    for row in job.rows.order_by("number").iterator(chunk_size=2000):
        yield writer.writerow(
            [safe_cell(row.values.get(c, "")) for c in columns]
            + [
                safe_cell(row.number),
                safe_cell(outcome_words(row, job)),
                safe_cell(row.customer_id),
                safe_cell(row.codes),
                safe_cell(row.messages),
            ]
        )


FIX_AND_RETRY = (RowStatus.INVALID, RowStatus.FAILED)


def _rows_to_fix(job: ImportJob) -> QuerySet[ImportRow]:
    wanted: tuple[str, ...] = FIX_AND_RETRY
    if job.status in (Status.CANCELLED, Status.FAILED):
        wanted = (*FIX_AND_RETRY, RowStatus.PENDING)
    return job.rows.filter(status__in=wanted)


def rows_to_fix(job: ImportJob) -> int:
    """How many rows the "rows to fix" file holds (it is offered only when some do)."""
    return _rows_to_fix(job).count()


def failed_csv(job: ImportJob) -> Iterator[str]:
    """The rows to fix and upload again, in the upload format (the file's own columns).

    Invalid and failed rows, and rows a cancelled or failed job never sent, each
    with what is wrong with it in a last column that the reader reads past.
    Rows with an unknown outcome are left out: they may have been applied, so
    they are checked by hand, not blindly sent again.
    """
    writer = spreadsheet.writer(_Echo())
    columns = [c for c in job.columns if c and c != PROBLEM_COLUMN]
    yield EXCEL_BOM + writer.writerow([*columns, PROBLEM_COLUMN])
    rows = _rows_to_fix(job).order_by("number")
    for row in rows.iterator(chunk_size=2000):
        yield writer.writerow(
            [safe_cell(row.values.get(c, "")) for c in columns]
            + [safe_cell(what_is_wrong(row, job))]
        )


def what_is_wrong(row: ImportRow, job: ImportJob) -> str:
    """The to-fix file's last column: why this row has to be sent again."""
    if row.status == RowStatus.PENDING:
        return f"Not sent: the import {job.get_status_display().lower()} before this row."
    if row.status == RowStatus.FAILED:
        codes = f"Capillary refused it ({row.codes}): " if row.codes else "Capillary refused it: "
        return codes + (row.messages or "no reason given.")
    return row.messages or "; ".join(str(p.get("message", "")) for p in row.problems)


def outcome_words(row: ImportRow, job: ImportJob) -> str:
    if row.status == RowStatus.PENDING:
        return "not sent (dry run)" if job.dry_run else "not sent"
    return str(row.get_status_display())


def counter_problems() -> list[str]:
    """Finished imports whose counters disagree with their audit entries, in words.

    The counters staff see are kept by the worker batch by batch; the chain holds
    one entry per row sent (or more, when a row was sent again after a call that
    surely did not arrive). Each row counts by its latest entry: accepted,
    accepted with warnings, refused or failed, or outcome unknown.
    """
    problems = []
    finished = ImportJob.objects.filter(
        status__in=(Status.DONE, Status.FAILED, Status.CANCELLED)
    ).order_by("id")
    for job in finished.iterator():
        latest: dict[int, tuple[int, str, Any]] = {}
        entries = AuditEntry.objects.filter(import_job_id=job.pk).values_list(
            "id", "import_row", "outcome", "response"
        )
        for entry_id, row, outcome, response in entries.iterator():
            if row is not None and (row not in latest or latest[row][0] < entry_id):
                latest[row] = (entry_id, outcome, response)
        tally = {"done": 0, "warning": 0, "failed": 0, "unknown": 0}
        for _, outcome, response in latest.values():
            error = response.get("error") if isinstance(response, dict) else None
            if outcome in ("ok", "ok_with_warnings"):
                tally["done"] += 1
                tally["warning"] += outcome == "ok_with_warnings"
            elif outcome == "rejected" or (outcome == "failed" and error not in RESENT_ERRORS):
                tally["failed"] += 1
            elif outcome == "unknown":
                tally["unknown"] += 1
        shown = {
            "done": job.done_rows,
            "warning": job.warning_rows,
            "failed": job.failed_rows,
            "unknown": job.unknown_rows,
        }
        if shown != tally:
            differences = ", ".join(
                f"{name} {shown[name]} shown, {tally[name]} in the history"
                for name in shown
                if shown[name] != tally[name]
            )
            problems.append(
                f"Import #{job.pk}'s results disagree with its audit entries: {differences}"
            )
    return problems
