"""Background work: an import's rows sent to Capillary's bulk upsert in batches.

A worker claims a job in a transaction and writes its id into `ImportJob.worker`:
the job's current holder. Another task for a job whose holder still reports
(heartbeat fresh) joins it under the same id, so several workers, on one host or
many, send one import's batches side by side (IMPORT_WORKERS_PER_JOB tasks are
queued per job); once the heartbeat is stale, the next worker takes over with its
own id and the old ones stop at their next batch. A batch is the next
`batch_size` pending rows in number order, chosen and marked `sent` under the
job's row lock, so no two workers ever take the same row; IMPORT_IN_FLIGHT_BATCHES
of them are sent at once from a thread pool, so that Capillary is never idle
while the worker audits and records. The last worker to run out of rows ends the
job. Per batch:

1. the rows are marked `sent` with the batch number, committed, BEFORE the call;
2. `services.upsert_members` audits every row and calls Capillary once;
3. each row gets its own answer (ok, with warnings, failed), and the job's
   counters and heartbeat move on, in one transaction.

When the call fails as a whole: a rate limit waits `retry_after` (at most a
minute) and sends the same batch again; "unavailable" with nothing applied is
retried with backoff, then the batch is marked failed; a timeout or an
unreadable answer, after which Capillary may have applied the batch, marks its
rows `unknown` and never sends them again.

Resume. A worker that dies between steps 1 and 3 leaves `sent` rows. The next
worker resolves each one before sending anything, from the row's latest audit
entry (written before the call and completed after it, see services):

- no entry, or one that records a refusal before processing (rate limit,
  outage, credentials): nothing was applied, the row is sent again;
- a completed answer: the row takes it, without sending;
- an entry still pending (the worker died during the call): the row's
  identifiers are looked up. Found nowhere: the upsert, which would have
  created the member, was not applied, so the row is sent again. Found: it may
  be this upsert's doing or the member may have existed before, which cannot be
  told apart, so the row is marked `unknown` (with the customer id) for a human
  to check, never sent twice.

Then the counters are recounted from the rows and sending carries on from the
first unfinished batch. Waits and backoff use an injected `sleep`.
"""

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Max, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_tasks import task

from customers.capillary import errors as cap
from customers.capillary.errors import ApiCode, describe
from customers.capillary.schemas import CustomerLookup, UpsertEntry
from customers.gateway import get_client
from customers.history import audit
from customers.imports import jobs
from customers.members import services
from customers.models import AuditEntry, ImportJob, ImportRow

logger = logging.getLogger(__name__)

Status = ImportJob.Status
RowStatus = ImportRow.Status
Outcome = AuditEntry.Outcome

MAX_WAIT_SECONDS = 60.0
# Rate-limit waits per batch: with a minute each, a quota that stays used up
# for half an hour fails the batch rather than holding the job forever.
MAX_RATE_LIMIT_WAITS = 30
MAX_UNAVAILABLE_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 2.0
# Audit outcomes of a call Capillary refused before processing: nothing applied.
NOT_APPLIED_ERRORS = jobs.RESENT_ERRORS
LOOKUP_TYPES = ("mobile", "email", "externalId", "cardnumber")
# What the sending loop returns when another worker has taken the job over.
LOST = "lost"

MAY_BE_APPLIED = (
    "Capillary did not answer in time, or failed while answering, so this batch may have "
    "been applied. "
    "It was not sent again: look the member up before importing the row again."
)
UNREADABLE = (
    "Capillary's answer could not be read, so this batch may have been applied. "
    "It was not sent again: look the member up before importing the row again."
)


@task()
def run_import(job_id: int) -> None:
    process_import(job_id)


class JobStopped(Exception):
    """The job cannot go on (the message says why for staff); its rows stay resumable."""


@dataclass
class Tally:
    """What one batch changed, for the job's counters."""

    ok: int = 0
    warning: int = 0
    failed: int = 0
    unknown: int = 0

    def add(self, status: str) -> None:
        if status == RowStatus.OK:
            self.ok += 1
        elif status == RowStatus.WARNING:
            self.warning += 1
        elif status == RowStatus.FAILED:
            self.failed += 1
        elif status == RowStatus.UNKNOWN:
            self.unknown += 1


@dataclass(slots=True)
class SentRow:
    """A row taken into a batch: its number and entry, then Capillary's answer for it.

    Read with one plain query (`_pending_rows`), without building a model per row
    or decoding the entry twice; the answer fields are the row's OUTCOME_COLUMNS.
    """

    pk: int
    number: int
    entry_json: str
    customer_id: str = ""
    status: str = RowStatus.SENT
    codes: str = ""
    messages: str = ""
    audit_entry_id: int | None = None


@dataclass
class Importer:
    job_id: int
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = timezone.now
    in_flight: int = 1
    worker: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    )
    # Whether this worker joined a holder that still reports (then `worker` is the holder's).
    joined: bool = False

    def run(self) -> None:
        job = self._claim()
        if job is None:
            return
        try:
            if not self.joined:
                # Only the worker that took the job over decides what became of rows a
                # dead holder left `sent`; a joining worker's partners are alive.
                self._resolve_sent(job)
                jobs.recount(job.pk)
            ending = self._pump(job)
        except JobStopped as stopped:
            self._finish(job, Status.FAILED, error=str(stopped))
        except Exception as unexpected:
            # Rows of a batch in flight stay `sent`: a resume resolves them.
            logger.exception("import %s stopped", job.pk)
            self._finish(job, Status.FAILED, error=f"The worker failed: {unexpected}")
            raise
        else:
            if ending is not None:
                self._finish(job, ending)

    def _pump(self, job: ImportJob) -> str | None:
        """Send batches, `in_flight` at a time, until none is pending or the job must stop.

        With more than one in flight, Capillary works on one batch while this
        process audits and records another. Returns the job's final status, or
        None when another worker has taken the job over. A failed batch stops the
        sending; the batches still in flight finish and are recorded first.
        """
        send = self._send if self.in_flight == 1 else self._send_in_thread
        running: set[Future[None]] = set()
        stop: str | None = None
        with _executor(self.in_flight) as pool:
            while True:
                while stop is None and len(running) < self.in_flight:
                    taken = self._take_batch(job)
                    if isinstance(taken, str):
                        stop = taken
                        break
                    batch, rows = taken
                    if not rows:
                        break
                    running.add(pool.submit(send, job, rows, batch))
                if not running:
                    return None if stop == LOST else (stop or Status.DONE)
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()

    def _send_in_thread(self, job: ImportJob, rows: Sequence[SentRow], batch: int) -> None:
        try:
            self._send(job, rows, batch)
        finally:
            # Each pool thread has its own connections, kept from batch to batch (a
            # new PostgreSQL connection per batch cost both sides more than the
            # batch's own queries); dropped, as after a request, once broken or
            # older than CONN_MAX_AGE. The pool closes the rest when it ends.
            for database in connections.all(initialized_only=True):
                database.close_if_unusable_or_obsolete()

    # --- holding the job ------------------------------------------------------------

    def _claim(self) -> ImportJob | None:
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().select_related("owner").get(pk=self.job_id)
            takeover = job.status == Status.RUNNING and jobs.is_stale(job, self.now())
            if job.status == Status.RUNNING and not takeover and job.worker:
                if job.cancel_requested:
                    return None
                self.worker, self.joined = job.worker, True
                logger.info("import %s: joining its running workers", job.pk)
                return job
            if job.status != Status.QUEUED and not takeover:
                logger.info("import %s is %s: nothing to do", job.pk, job.status)
                return None
            if job.cancel_requested:
                job.status, job.finished_at = Status.CANCELLED, self.now()
                job.save(update_fields=["status", "finished_at"])
                return None
            job.status = Status.RUNNING
            job.worker = self.worker
            job.started_at = job.started_at or self.now()
            job.heartbeat_at = self.now()
            job.save(update_fields=["status", "worker", "started_at", "heartbeat_at"])
        if takeover:
            logger.warning("import %s: taking over from a stale worker", job.pk)
        return job

    def _heartbeat(self, job: ImportJob) -> None:
        ImportJob.objects.filter(pk=job.pk, worker=self.worker).update(heartbeat_at=self.now())

    def _wait(self, job: ImportJob, seconds: float) -> None:
        self._heartbeat(job)
        self.sleep(seconds)

    def _finish(self, job: ImportJob, status: str, error: str = "") -> None:
        with transaction.atomic():
            held = ImportJob.objects.select_for_update().filter(
                pk=job.pk, worker=self.worker, status=Status.RUNNING
            )
            if not held.exists():
                return
            if (
                status in (Status.DONE, Status.CANCELLED)
                and job.rows.filter(status=RowStatus.SENT).exists()
            ):
                # Another worker still has batches in flight: the last one ends the job.
                return
            held.update(status=status, finished_at=self.now(), heartbeat_at=self.now(), error=error)

    # --- one batch ------------------------------------------------------------------

    def _take_batch(self, job: ImportJob) -> tuple[int, list[SentRow]] | str:
        """The next pending rows, committed as `sent` before the call, or why sending stops.

        Under the job's row lock: LOST when another worker has taken the job over
        (or it no longer runs), CANCELLED when staff asked to cancel; otherwise the
        next `batch_size` pending rows in number order (none when none is
        pending), so workers sharing the job never take the same row.
        """
        with transaction.atomic():
            state = (
                ImportJob.objects.select_for_update()
                .filter(pk=job.pk)
                .values("worker", "status", "cancel_requested", "batches_sent")
                .first()
            )
            if state is None or state["worker"] != self.worker or state["status"] != Status.RUNNING:
                logger.warning("import %s: another worker took over; stopping", job.pk)
                return LOST
            if state["cancel_requested"]:
                return Status.CANCELLED
            rows = _pending_rows(job)
            if not rows:
                return state["batches_sent"], []
            batch = state["batches_sent"] + 1
            ImportJob.objects.filter(pk=job.pk).update(batches_sent=batch, heartbeat_at=self.now())
            # The pending rows numbered from the first to the last taken are exactly
            # those taken (the lock keeps other workers out), so no list of ids is sent.
            job.rows.filter(
                status=RowStatus.PENDING, number__range=(rows[0].number, rows[-1].number)
            ).update(status=RowStatus.SENT, batch=batch)
        return batch, rows

    def _send(self, job: ImportJob, rows: Sequence[SentRow], batch: int) -> None:
        entries = [UpsertEntry.model_validate_json(row.entry_json) for row in rows]
        numbers = [row.number for row in rows]
        rate_limit_waits = 0
        attempts = 0
        while True:
            try:
                results = services.upsert_members(
                    actor=job.started_by or job.owner,
                    entries=entries,
                    skip_change_identifier=job.skip_change_identifier,
                    reason=job.reason or f"Bulk import #{job.pk}",
                    import_job_id=job.pk,
                    row_numbers=numbers,
                )
            except cap.RateLimited as limited:
                rate_limit_waits += 1
                if rate_limit_waits > MAX_RATE_LIMIT_WAITS:
                    self._settle(job, rows, RowStatus.FAILED, _rate_limit_gave_up())
                    return
                self._wait(job, _bounded(limited.retry_after or 1.0))
            except cap.Unavailable as down:
                if down.outcome_unknown:
                    self._settle(job, rows, RowStatus.UNKNOWN, MAY_BE_APPLIED)
                    return
                attempts += 1
                if attempts >= MAX_UNAVAILABLE_ATTEMPTS:
                    self._settle(job, rows, RowStatus.FAILED, _unavailable_gave_up(attempts))
                    return
                self._wait(job, _bounded(BACKOFF_BASE_SECONDS * 2 ** (attempts - 1)))
            except cap.AuthFailed:
                # Refused before processing: the rows go back to pending for a resume.
                ImportRow.objects.filter(job=job, batch=batch, status=RowStatus.SENT).update(
                    status=RowStatus.PENDING, batch=None
                )
                raise JobStopped(
                    "Capillary refused the console's credentials; nothing of the current "
                    "batch was applied. Fix the Capillary settings, then resume the import."
                ) from None
            except cap.Rejected as refused:
                status = RowStatus.FAILED
                message = _code_text(refused.errors)
                if refused.meta and (refused.meta.status or 0) >= 500:
                    # A server error, even with a code, may follow a commit: never resend.
                    status, message = RowStatus.UNKNOWN, f"{MAY_BE_APPLIED} ({message})"
                # Otherwise the request as a whole was refused (too large, say): nothing applied.
                self._settle(job, rows, status, message, _codes(refused.errors))
                return
            except cap.IntegrationError:
                self._settle(job, rows, RowStatus.UNKNOWN, UNREADABLE)
                return
            else:
                self._record(job, rows, results)
                return

    def _record(
        self, job: ImportJob, rows: Sequence[SentRow], results: Sequence[services.RowResult]
    ) -> None:
        tally = Tally()
        for row, result in zip(rows, results, strict=True):
            if result.errors:
                row.status = RowStatus.FAILED
            else:
                row.status = RowStatus.WARNING if result.warnings else RowStatus.OK
            row.customer_id = "" if result.customer_id is None else str(result.customer_id)
            row.codes = _codes([*result.errors, *result.warnings])
            row.messages = _code_text([*result.errors, *result.warnings])
            row.audit_entry_id = result.entry.pk
            tally.add(row.status)
        self._save_rows(job, rows, tally)

    def _settle(
        self,
        job: ImportJob,
        rows: Sequence[SentRow],
        status: str,
        message: str,
        codes: str = "",
    ) -> None:
        """Give every row of a batch the same final status (the call failed as a whole)."""
        entries = _latest_entries(job.pk, [row.number for row in rows])
        tally = Tally()
        for row in rows:
            row.status, row.messages, row.codes = status, message, codes
            row.audit_entry_id = entries.get(row.number)
            tally.add(status)
        self._save_rows(job, rows, tally)

    def _save_rows(self, job: ImportJob, rows: Sequence[SentRow], tally: Tally) -> None:
        now = self.now()
        with transaction.atomic():
            _write_outcomes(rows)
            ImportJob.objects.filter(pk=job.pk).update(
                done_rows=F("done_rows") + tally.ok + tally.warning,
                warning_rows=F("warning_rows") + tally.warning,
                failed_rows=F("failed_rows") + tally.failed,
                unknown_rows=F("unknown_rows") + tally.unknown,
                heartbeat_at=now,
                first_progress_at=Coalesce(F("first_progress_at"), Value(now)),
            )

    # --- resume -----------------------------------------------------------------------

    def _resolve_sent(self, job: ImportJob) -> None:
        """Decide the rows a dead worker left `sent`, without sending any of them twice."""
        rows = list(job.rows.filter(status=RowStatus.SENT).order_by("number"))
        if not rows:
            return
        logger.warning("import %s: resolving %d rows left sent", job.pk, len(rows))
        latest = _latest_entries(job.pk, [row.number for row in rows])
        entries = AuditEntry.objects.in_bulk(latest.values())
        for row in rows:
            entry = entries.get(latest.get(row.number, -1))
            self._resolve(job, row, entry)
            row.audit_entry_id = entry.pk if entry else None
        ImportRow.objects.bulk_update(
            rows, ["status", "batch", "customer_id", "codes", "messages", "audit_entry"]
        )

    def _resolve(self, job: ImportJob, row: ImportRow, entry: AuditEntry | None) -> None:
        if entry is None or (
            entry.outcome == Outcome.FAILED
            and (entry.response or {}).get("error") in NOT_APPLIED_ERRORS
        ):
            row.status, row.batch = RowStatus.PENDING, None
            return
        server_error = (entry.http_status or 0) >= 500
        if entry.outcome in (Outcome.OK, Outcome.OK_WITH_WARNINGS) or (
            entry.outcome == Outcome.REJECTED and not server_error
        ):
            row.status = {
                Outcome.OK: RowStatus.OK,
                Outcome.OK_WITH_WARNINGS: RowStatus.WARNING,
                Outcome.REJECTED: RowStatus.FAILED,
            }[Outcome(entry.outcome)]
            row.customer_id = entry.customer_id
            row.codes = ",".join(entry.codes)
            row.messages = "; ".join(f"{code} {describe(int(code)).words}" for code in entry.codes)
            return
        if entry.outcome != Outcome.PENDING:
            row.status, row.messages = RowStatus.UNKNOWN, MAY_BE_APPLIED
            return
        found = self._holder(job, row)
        if found is None:
            audit.finish_write(
                entry,
                outcome=Outcome.FAILED,
                response={
                    "error": "WorkerStopped",
                    "message": "The worker stopped during the call; no member holds the "
                    "row's identifiers, so it was not applied and is sent again.",
                },
            )
            row.status, row.batch = RowStatus.PENDING, None
            return
        message = (
            "The worker stopped while this row was being sent. Capillary has a member "
            f"with its identifiers (customer {found}), so it may have been applied: it "
            "was not sent again. Check the member."
            if found
            else "The worker stopped while this row was being sent, and Capillary could not "
            "be asked whether it was applied: it was not sent again. Check the member."
        )
        audit.finish_write(
            entry,
            outcome=Outcome.UNKNOWN,
            response={"error": "WorkerStopped", "message": message},
            customer_id=found or None,
        )
        row.status, row.customer_id, row.messages = RowStatus.UNKNOWN, str(found or ""), message

    def _holder(self, job: ImportJob, row: ImportRow) -> int | None:
        """The member holding any of the row's identifiers, None if none does, 0 if unknowable."""
        entry = UpsertEntry.model_validate(row.entry)
        profile = entry.profiles[0]
        for identifier in profile.identifiers:
            if identifier.type not in LOOKUP_TYPES or not identifier.value:
                continue
            lookup = CustomerLookup(
                source=profile.source or "INSTORE",
                account_id=profile.account_id or None,
                identifier_name=identifier.type,
                identifier_value=identifier.value,
            )
            for _ in range(MAX_RATE_LIMIT_WAITS):
                try:
                    return get_client().lookup_customer_id(lookup).entity
                except cap.NotFound:
                    break
                except cap.RateLimited as limited:
                    self._wait(job, _bounded(limited.retry_after or 1.0))
                except cap.CapillaryError as error:
                    logger.warning("import %s row %s: lookup failed: %s", job.pk, row.number, error)
                    return 0
            else:
                return 0
        return None


def process_import(
    job_id: int, *, sleep: Callable[[float], None] = time.sleep, in_flight: int | None = None
) -> None:
    """Run (or resume) one import in this process until it ends or is cancelled."""
    Importer(job_id, sleep=sleep, in_flight=in_flight or settings.IMPORT_IN_FLIGHT_BATCHES).run()


class _Inline(Executor):
    """Runs each batch at once in the calling thread: one batch in flight."""

    def submit(  # type: ignore[override]
        self, fn: Callable[..., None], /, *args: Any, **kwargs: Any
    ) -> "Future[None]":
        future: Future[None] = Future()
        try:
            fn(*args, **kwargs)
        except BaseException as error:
            future.set_exception(error)
        else:
            future.set_result(None)
        return future


class _BatchThreads(ThreadPoolExecutor):
    """Threads sending batches; each keeps its database connections until the pool ends.

    A thread's Django connections are its own (thread-local). Each thread hands
    its connection handlers over when it starts, so that once every thread has
    finished, shutdown closes them from the thread that ran the pool.
    """

    def __init__(self, threads: int) -> None:
        self._handed_over: list[BaseDatabaseWrapper] = []
        self._handing_over = threading.Lock()
        super().__init__(
            max_workers=threads, thread_name_prefix="import-batch", initializer=self._hand_over
        )

    def _hand_over(self) -> None:
        with self._handing_over:
            for database in connections.all():
                database.inc_thread_sharing()
                self._handed_over.append(database)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        if not wait:
            return
        with self._handing_over:
            handed_over, self._handed_over = self._handed_over, []
        for database in handed_over:
            database.close()
            database.dec_thread_sharing()


def _executor(in_flight: int) -> Executor:
    if in_flight == 1:
        return _Inline()
    return _BatchThreads(in_flight)


# Attribute and column names alike (none has a db_column of its own).
OUTCOME_COLUMNS = ("status", "customer_id", "codes", "messages", "audit_entry_id")


def _write_outcomes(rows: Sequence[SentRow]) -> None:
    """One UPDATE per row, sent with executemany.

    bulk_update would build a CASE expression per field per row, which for a
    batch of 100 costs more than the Capillary call itself.
    """
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(column)} = %s" for column in OUTCOME_COLUMNS)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {quote(ImportRow._meta.db_table)} SET {assignments} WHERE id = %s",  # noqa: S608 - names, not input
            [[getattr(row, column) for column in OUTCOME_COLUMNS] + [row.pk] for row in rows],
        )


def _pending_rows(job: ImportJob) -> list[SentRow]:
    """The job's next `batch_size` pending rows in number order, with their entries as JSON."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('id')}, {quote('number')}, {quote('customer_id')}, "  # noqa: S608 - names
            f"CAST({quote('entry')} AS text) FROM {quote(ImportRow._meta.db_table)} "
            f"WHERE {quote('job_id')} = %s AND {quote('status')} = %s "
            f"ORDER BY {quote('number')} LIMIT %s",
            [job.pk, RowStatus.PENDING.value, job.batch_size],
        )
        return [
            SentRow(pk=pk, number=number, entry_json=entry, customer_id=customer_id)
            for pk, number, customer_id, entry in cursor.fetchall()
        ]


def _latest_entries(job_id: int, numbers: Sequence[int]) -> dict[int, int]:
    """Row number -> id of its newest audit entry in this job."""
    newest = (
        AuditEntry.objects.filter(import_job_id=job_id, import_row__in=numbers)
        .values("import_row")
        .annotate(latest=Max("id"))
        .order_by()
    )
    return {item["import_row"]: item["latest"] for item in newest if item["import_row"] is not None}


def _bounded(seconds: float) -> float:
    return max(0.0, min(float(seconds), MAX_WAIT_SECONDS))


def _codes(codes: Sequence[ApiCode]) -> str:
    return ",".join(dict.fromkeys(str(code.code) for code in codes))[:255]


def _code_text(codes: Sequence[ApiCode]) -> str:
    parts: list[str] = []
    for code in codes:
        extra = f" (Capillary: {code.message})" if code.message else ""
        parts.append(f"{code.code} {describe(code.code).words}{extra}")
    return "; ".join(parts)


def _rate_limit_gave_up() -> str:
    return (
        f"Capillary's rate limit stayed used up through {MAX_RATE_LIMIT_WAITS} waits; "
        "the batch was not applied. Upload the failed rows again later."
    )


def _unavailable_gave_up(attempts: int) -> str:
    return (
        f"Capillary was unavailable for {attempts} tries; the batch was not applied. "
        "Upload the failed rows again later."
    )


# --- queueing for the worker ----------------------------------------------------


@task()
def check_upload(job_id: int) -> None:
    """Read an upload's stored bytes into its rows (jobs.check_upload), off the request."""
    jobs.check_upload(job_id)


def start_job(
    job: ImportJob,
    *,
    by: User | None = None,
    after_dry_run: bool = False,
    confirmed_deletes: int = 0,
) -> ImportJob:
    """Queue a validated job for the worker; a second click queues nothing more.

    A dry run is started only when asked in so many words (`after_dry_run`, the
    preview's "Import these rows now"): the checked rows are the ones sent.
    `by` pressed Start: recorded on the job and named as the actor of every audit
    entry it writes (the uploader when None).
    """
    jobs.check_may_act(job, by)
    if job.dry_run and not after_dry_run:
        raise jobs.ImportRefused(
            "This was a dry run: nothing is sent. Upload the file again to import."
        )
    if job.sendable_rows == 0:
        raise jobs.ImportRefused(
            "No row of this file can be sent. Fix the file and upload it again."
        )
    deleting = jobs.deleting_rows(job)
    if deleting and confirmed_deletes != deleting:
        # Deleting cannot be undone: the person starting says so, for this very count.
        raise jobs.ImportRefused(
            f"{deleting} row{'s' if deleting != 1 else ''} of this import delete members, "
            "which cannot be undone. Tick the box confirming the deletions to start it."
        )
    now = timezone.now()
    queued = ImportJob.objects.filter(pk=job.pk, status=Status.VALIDATED).update(
        status=Status.QUEUED, heartbeat_at=now, dry_run=False, started_by=by or job.owner
    )
    if not queued:
        raise jobs.ImportRefused(f"This import is {job.get_status_display().lower()} already.")
    for _ in range(settings.IMPORT_WORKERS_PER_JOB):
        run_import.enqueue(job.pk)
    job.refresh_from_db()
    return job


def resume_job(
    job: ImportJob,
    *,
    by: User | None = None,
    stale_after: timedelta = jobs.STALE_AFTER,
    enqueue: bool = True,
) -> ImportJob:
    """Queue a job again after its worker died, or after it failed (say, bad credentials).

    The task works out what became of the rows left `sent` before sending more
    (see customers.imports.tasks), so queueing twice is harmless. A `stale_after` shorter
    than the longest Capillary call could let two workers send the same batch.
    """
    jobs.check_may_act(job, by)
    if not (job.status == Status.FAILED or jobs.is_stale(job, stale_after=stale_after)):
        raise jobs.ImportRefused("This import is not stopped: its worker is still reporting.")
    ImportJob.objects.filter(pk=job.pk).update(
        status=Status.QUEUED, heartbeat_at=timezone.now(), error="", finished_at=None
    )
    if enqueue:
        for _ in range(settings.IMPORT_WORKERS_PER_JOB):
            run_import.enqueue(job.pk)
    job.refresh_from_db()
    return job
