import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

import psycopg
from django.conf import settings
from django.db import connections, models, router
from django.utils import timezone

from customers.history.chain import COMPLETION_FIELDS, SignedJSONField

_Row = TypeVar("_Row", bound=models.Model)


class StaffCapability(models.Model):
    """Holds no rows: it anchors the console's capability permissions (customers.console.roles)."""

    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = "staff capability"

    def __str__(self) -> str:
        return "staff capability"


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove the change history."""


class AppendOnlyQuerySet(models.QuerySet[_Row]):
    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("The change history is append-only: entries cannot be deleted.")

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(
            "The change history is append-only: only customers.history.audit.finish_write may "
            "complete a pending entry."
        )


class AuditEntry(models.Model):
    """One thing a member of staff did with a member: a Capillary write, or a read.

    Writes are recorded pending before Capillary is called and completed once with
    its answer; reads are recorded complete. Rows are appended through
    customers.history.audit only, which signs them into a hash chain, and a
    completion appends its own signed record to the completion chain
    (AuditCompletion; customers.history.chain says what each covers).
    """

    class Action(models.TextChoices):
        SEARCH = "search", "Search"
        VIEW_PROFILE = "view_profile", "Open profile"
        EXPORT_HISTORY = "export_history", "Export history"
        REGISTER = "register", "Register"
        UPDATE_PROFILE = "update_profile", "Update profile"
        CHANGE_IDENTIFIER = "change_identifier", "Change identifier"
        UPDATE_SUBSCRIPTIONS = "update_subscriptions", "Update subscriptions"
        CHANGE_STATUS = "change_status", "Change status"
        ENROLL = "enroll", "Enroll"
        # One member by hand (the upsert screen); rows of a CSV import are BULK_UPSERT.
        UPSERT = "upsert", "Upsert"
        BULK_UPSERT = "bulk_upsert", "Bulk upsert (import)"
        V11_UPDATE = "v11_update", "Update (v1.1)"

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        OK = "ok", "OK"
        OK_WITH_WARNINGS = "ok_with_warnings", "OK with warnings"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Unknown"

    created_at = models.DateTimeField(default=timezone.now)
    # PROTECT: a member of staff with history can be deactivated, never erased from it.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=150, blank=True)
    actor_till = models.CharField("till or store", max_length=100, blank=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    customer_id = models.CharField(max_length=64, blank=True)
    identifier_type = models.CharField(max_length=32, blank=True)
    identifier_value = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=32, blank=True)
    account_id = models.CharField(max_length=64, blank=True)
    reason = models.TextField(blank=True)
    request = SignedJSONField(default=dict, blank=True)
    before = SignedJSONField(null=True, blank=True)
    import_job_id = models.BigIntegerField(null=True, blank=True)
    import_row = models.PositiveIntegerField(null=True, blank=True)

    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    request_id = models.CharField("X-Cap-Requestid", max_length=100, blank=True, db_index=True)
    response = SignedJSONField(null=True, blank=True)
    side_effects = SignedJSONField(null=True, blank=True)
    # Comma-separated, as signed and shown; AuditCode repeats them for filtering.
    error_codes = models.TextField(blank=True)
    warning_codes = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    after = SignedJSONField(null=True, blank=True)

    previous_hash = models.CharField(max_length=64, editable=False)
    entry_hash = models.CharField(max_length=64, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        default_permissions = ("view",)
        # Every list orders by (created_at, id) descending; each filter that can be
        # selective gets its own index ending in those two, so a page is one range scan.
        indexes = [
            models.Index(fields=["created_at", "id"], name="audit_created_idx"),
            models.Index(fields=["customer_id", "created_at", "id"], name="audit_customer_idx"),
            models.Index(
                fields=["identifier_value", "created_at", "id"], name="audit_identifier_idx"
            ),
            models.Index(fields=["actor", "created_at", "id"], name="audit_actor_idx"),
            models.Index(fields=["action", "created_at", "id"], name="audit_action_idx"),
            models.Index(fields=["outcome", "created_at", "id"], name="audit_outcome_idx"),
            models.Index(fields=["import_job_id", "created_at", "id"], name="audit_import_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_action_display()} by {self.actor_username or 'system'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(
                "The change history is append-only: only customers.history.audit.finish_write may "
                "complete a pending entry."
            )
        if not self.entry_hash:
            raise AppendOnlyError(
                "Append audit entries through customers.history.audit, which signs them."
            )
        # An explicit primary key must never turn this insert into an update.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("The change history is append-only: entries cannot be deleted.")

    @property
    def is_read(self) -> bool:
        return self.action in READ_ACTIONS

    @property
    def codes(self) -> list[str]:
        return [c for c in f"{self.error_codes},{self.warning_codes}".split(",") if c]

    @classmethod
    def save_completions(
        cls, entries: "Sequence[AuditEntry]", outcomes: "Sequence[Sequence[Any]]"
    ) -> None:
        """Write many entries' outcome fields in one statement, and their code rows in another.

        `outcomes` are the entries' outcome fields as stored, in COMPLETION_FIELDS
        order (JSON as its text), as the caller signs them. Only the completion
        fields are written, and only on rows still pending (with no customer id yet,
        or this one), so two racing completions cannot both succeed: if any entry
        was not pending, nothing is written. The caller (customers.history.audit)
        appends the signed AuditCompletion records in the same transaction.
        """
        if not entries:
            return
        if any(entry.outcome == cls.Outcome.PENDING for entry in entries):
            raise AppendOnlyError("A completion needs a final outcome.")
        connection = connections[router.db_for_write(cls)]
        quote = connection.ops.quote_name
        table = quote(cls._meta.db_table)
        fields = [
            cast("models.Field[Any, Any]", cls._meta.get_field(name)) for name in COMPLETION_FIELDS
        ]
        postgres = connection.vendor == "postgresql"
        # The new values are a table v(column1 (the id), column2, ...): on PostgreSQL
        # one typed array per column, unnested (a statement of fixed, short text, so
        # psycopg and the server parse it once); on SQLite a VALUES list, in chunks
        # below its limit on parameters.
        position = {str(f.column): f"v.column{n}" for n, f in enumerate(fields, start=2)}
        assignments = ", ".join(
            f"{quote(str(f.column))} = {position[str(f.column)]}" for f in fields
        )
        customer = f"{table}.{quote('customer_id')}"
        where = (
            f"WHERE {table}.{quote('id')} = v.column1 AND {table}.{quote('outcome')} = %s "
            f"AND ({customer} = '' OR {customer} = {position['customer_id']})"
        )
        update = f"UPDATE {table} SET {assignments} FROM"  # noqa: S608 - names
        pending = cls.Outcome.PENDING.value
        completed = 0
        if postgres:
            types = ["bigint", *(str(f.db_type(connection)) for f in fields)]
            # %b: binary, so psycopg encodes each array without escaping every element.
            arrays = ", ".join(f"%b::{kind}[]" for kind in types)
            names = ", ".join(f"column{n}" for n in range(1, len(types) + 1))
            columns = [
                [entry.pk for entry in entries],
                *(list(c) for c in zip(*outcomes, strict=True)),
            ]
            sql = f"{update} unnest({arrays}) AS v({names}) {where}"
            completed = execute_bound(connection, sql, [*columns, pending])
        for first in range(0, len(entries) if not postgres else 0, COMPLETIONS_PER_STATEMENT):
            chunk = range(first, min(first + COMPLETIONS_PER_STATEMENT, len(entries)))
            params: list[Any] = []
            for index in chunk:
                params.append(entries[index].pk)
                params.extend(outcomes[index])
            row = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
            sql = f"{update} (VALUES {', '.join([row] * len(chunk))}) AS v {where}"
            completed += execute_bound(connection, sql, [*params, pending])
        if completed != len(entries) or len({entry.pk for entry in entries}) != len(entries):
            raise AppendOnlyError(
                "Audit entries #"
                + ", #".join(str(entry.pk) for entry in entries)
                + ": not all were pending: some were completed already."
            )
        insert_rows(
            AuditCode,
            ("entry_id", "code", "created_at"),
            [
                (entry.pk, code, database_time(entry.created_at, connection))
                for entry in entries
                for code in dict.fromkeys(entry.codes)
            ],
            using=connection.alias,
        )


# On SQLite, outcome fields per entry are 10, plus its id: 1,000 entries stay far
# below its 32,766 parameters. (PostgreSQL passes one array per column.)
COMPLETIONS_PER_STATEMENT = 1000


def execute_bound(connection: Any, sql: str, params: Sequence[Any]) -> int:
    """Run one statement and return its row count; on PostgreSQL with server-side binding.

    Django's PostgreSQL cursors bind on the client: psycopg splits the statement
    and quotes every value into it in Python, which for a hundred-row UPDATE
    costs more than the rest of the batch. A server-side cursor sends the values
    apart (encoded in C) and reuses the parsed statement for the same shape.
    """
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(sql, params)
            return int(cursor.rowcount)
        started = time.monotonic()
        with psycopg.Cursor(cursor.cursor.connection) as bound:
            bound.execute(sql, params)
            count = bound.rowcount
        if connection.queries_logged:
            took = f"{time.monotonic() - started:.3f}"
            connection.queries_log.append({"sql": sql, "time": took})
        return int(count)


def database_time(value: datetime, connection: Any) -> Any:
    """A timestamp as a raw statement passes it: PostgreSQL takes the datetime,
    SQLite Django's text for it."""
    if connection.vendor == "postgresql":
        return value
    return connection.ops.adapt_datetimefield_value(value)


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    using: str = "default",
) -> None:
    """Append rows to a history table in one go, the cheapest way each database has.

    PostgreSQL: COPY (one round trip, rows encoded in C). SQLite: executemany of a
    prepared INSERT. Values are as the database stores them (see database_time);
    no model instance, no per-field preparation: the history's bulk path.
    """
    if not rows:
        return
    connection = connections[using]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = f"COPY {table} ({names}) FROM STDIN"
            started = time.monotonic()
            with cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
            if connection.queries_logged:
                # Django's debug cursor sees execute() only: log the COPY as it would.
                took = f"{time.monotonic() - started:.3f}"
                connection.queries_log.append({"sql": f"{len(rows)} rows: {sql}", "time": took})
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608


class AuditCompletion(models.Model):
    """The signed record that a write was completed, and with which outcome.

    One per completed write, appended to its own hash chain by
    customers.history.audit in the transaction that writes the entry's outcome
    fields; customers.history.chain says what its signature covers.
    """

    entry = models.OneToOneField(AuditEntry, on_delete=models.PROTECT, related_name="completion")
    created_at = models.DateTimeField()
    previous_hash = models.CharField(max_length=64, editable=False)
    record_hash = models.CharField(max_length=64, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"Completion #{self.pk} of entry #{self.entry_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding or not self.record_hash:
            raise AppendOnlyError("Completions are appended, signed, by customers.history.audit.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("The change history is append-only: completions cannot be deleted.")


READ_ACTIONS = frozenset(
    {AuditEntry.Action.SEARCH, AuditEntry.Action.VIEW_PROFILE, AuditEntry.Action.EXPORT_HISTORY}
)


class AuditCode(models.Model):
    """An error or warning code of an audit entry, repeated here as an index.

    A text column like ",8014," can only be searched with LIKE '%,8014,%', which
    reads every row on both SQLite and PostgreSQL, so a rare code would scan the
    whole history. One row per (entry, code), ordered by the entry's created_at,
    turns "entries with code X, newest first" into a single index range scan.
    The entry's own columns stay the signed record; verify_history checks these
    rows agree with them.
    """

    entry = models.ForeignKey(
        AuditEntry, on_delete=models.PROTECT, related_name="code_rows", db_index=False
    )
    code = models.CharField(max_length=16)
    created_at = models.DateTimeField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["entry", "code"], name="audit_code_once_per_entry")
        ]
        indexes = [models.Index(fields=["code", "created_at", "entry"], name="audit_code_idx")]

    def __str__(self) -> str:
        return f"{self.code} on #{self.entry_id}"


class FormToken(models.Model):
    """A one-time token per rendered registration form: a double submit never registers twice."""

    token = models.CharField(max_length=64, primary_key=True)
    entry = models.ForeignKey(AuditEntry, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.token


class ImportJob(models.Model):
    """One uploaded CSV of members to upsert, from preview to the last batch.

    The rows live in ImportRow. The counters are kept by the worker batch by
    batch, so the progress page never counts a hundred thousand rows.
    """

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Checking the file"
        VALIDATED = "validated", "Ready to start"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    # Who uploaded the file; who pressed Start (the actor of its audit entries) and
    # who cancelled it. Only the uploader (or a superuser) may act on a job.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    file_name = models.CharField(max_length=255)
    columns = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADED)
    dry_run = models.BooleanField(default=False)
    skip_change_identifier = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    batch_size = models.PositiveIntegerField(default=100)

    total_rows = models.PositiveIntegerField(default=0)
    invalid_rows = models.PositiveIntegerField(default=0)
    done_rows = models.PositiveIntegerField(default=0)
    warning_rows = models.PositiveIntegerField(default=0)
    failed_rows = models.PositiveIntegerField(default=0)
    unknown_rows = models.PositiveIntegerField(default=0)
    batches_sent = models.PositiveIntegerField(default=0)
    # While `uploaded`: the check task's progress, in rows and in bytes of the file
    # (a percentage without counting the lines first).
    checked_rows = models.PositiveIntegerField(default=0)
    upload_bytes = models.PositiveBigIntegerField(default=0)
    checked_bytes = models.PositiveBigIntegerField(default=0)
    # The preview a corrected file replaces: discarded once this file is checked.
    replaces_job = models.PositiveIntegerField(null=True, blank=True)

    cancel_requested = models.BooleanField(default=False)
    # Which worker holds the job; a new one takes over only after the heartbeat goes stale.
    worker = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    first_progress_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        default_permissions = ()
        indexes = [
            models.Index(fields=["created_at", "id"], name="import_job_created_idx"),
            models.Index(fields=["status", "heartbeat_at"], name="import_job_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Import #{self.pk} {self.file_name}"

    @property
    def sendable_rows(self) -> int:
        return self.total_rows - self.invalid_rows

    @property
    def processed_rows(self) -> int:
        """Rows with a final answer: accepted (with or without warnings), failed or unknown."""
        return self.done_rows + self.failed_rows + self.unknown_rows

    @property
    def remaining_rows(self) -> int:
        return max(0, self.sendable_rows - self.processed_rows)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.CANCELLED)

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def check_failed(self) -> bool:
        """The file itself was unusable: it failed before anyone pressed Start."""
        return self.status == self.Status.FAILED and self.started_by_id is None

    @property
    def checked_percent(self) -> int:
        if not self.upload_bytes:
            return 0
        return min(100, self.checked_bytes * 100 // self.upload_bytes)


class ImportUpload(models.Model):
    """An uploaded file waiting for its check task, in the database every worker host shares.

    Deleted as soon as the file is checked (or found unusable); at most
    IMPORT_MAX_UPLOAD_BYTES each. Its own table, so loading a job never loads the file.
    """

    job = models.OneToOneField(
        ImportJob, on_delete=models.CASCADE, primary_key=True, related_name="upload"
    )
    data = models.BinaryField()

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"Upload of import #{self.job_id}"


class ImportRow(models.Model):
    """One data row of an import: what the file said, what was sent, what Capillary answered.

    `pending` rows wait for a batch; `sent` rows are in a batch whose answer is
    not recorded yet (a worker that died leaves them so, for the resume to
    resolve); the other statuses are final.
    """

    class Status(models.TextChoices):
        INVALID = "invalid", "Invalid (not sent)"
        PENDING = "pending", "Not sent yet"
        SENT = "sent", "Sent, awaiting answer"
        OK = "ok", "OK"
        WARNING = "warning", "OK with warnings"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Outcome unknown"

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField()
    values = models.JSONField(default=dict)
    entry = models.JSONField(null=True, blank=True)
    problems = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    customer_id = models.CharField(max_length=64, blank=True)
    codes = models.CharField(max_length=255, blank=True)
    messages = models.TextField(blank=True)
    batch = models.PositiveIntegerField(null=True, blank=True)
    audit_entry = models.ForeignKey(
        AuditEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="import_row_once_per_job")
        ]
        # The worker takes "pending rows in number order"; the results table filters by status.
        indexes = [models.Index(fields=["job", "status", "number"], name="import_row_status_idx")]

    def __str__(self) -> str:
        return f"Row {self.number} of import #{self.job_id}"


class AuditCheckpoint(models.Model):
    """A signed statement that both chains were verified up to these records.

    Chained by `previous_signature`; written by customers.history.checkpoints only.
    """

    created_at = models.DateTimeField()
    entry_id = models.BigIntegerField()
    entry_count = models.BigIntegerField()
    entry_head = models.CharField(max_length=64)
    completion_id = models.BigIntegerField()
    completion_count = models.BigIntegerField()
    completion_head = models.CharField(max_length=64)
    previous_signature = models.CharField(max_length=64)
    signature = models.CharField(max_length=64)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"Checkpoint #{self.pk} up to entry #{self.entry_id}"


class ChainCheck(models.Model):
    """One run of the chain's verification and what it found, for the history page."""

    checked_at = models.DateTimeField(default=timezone.now)
    full = models.BooleanField()
    intact = models.BooleanField()
    from_entry = models.BigIntegerField()
    up_to_entry = models.BigIntegerField()
    entry_count = models.BigIntegerField()
    checked_entries = models.BigIntegerField()
    broken_entry_id = models.BigIntegerField(null=True, blank=True)
    problem = models.TextField(blank=True)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        state = "intact" if self.intact else "broken"
        return f"Chain check at {self.checked_at:%Y-%m-%d %H:%M}: {state}"


class RegistrationReceipt(models.Model):
    """The receipt of one registration, found by a random token (its URL names no sequence)."""

    token = models.CharField(max_length=43, primary_key=True)
    entry = models.OneToOneField(AuditEntry, on_delete=models.PROTECT, related_name="receipt")

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"Receipt of entry #{self.entry_id}"
