"""Audit entries for the change history tests, made through the real audit service."""

from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from customers.history import audit
from customers.models import AuditEntry

BEFORE = {
    "id": 100,
    "profiles": [
        {
            "firstName": "Asha",
            "lastName": "Rao",
            "source": "INSTORE",
            "identifiers": [{"type": "mobile", "value": "919000000001"}],
            "attribution": {"modifiedDate": "2026-01-01T10:00:00Z"},
        }
    ],
    "customerStatus": {"label": "Active", "labelId": 54, "status": "ACTIVE"},
    "pointsSummary": {"loyaltyPoints": 100.0},
}
AFTER = {
    "id": 100,
    "profiles": [
        {
            "firstName": "Aasha",
            "lastName": "Rao",
            "source": "INSTORE",
            "identifiers": [
                {"type": "mobile", "value": "919000000001"},
                {"type": "email", "value": "asha@example.com"},
            ],
            "attribution": {"modifiedDate": "2026-03-01T10:00:00Z"},
        }
    ],
    "customerStatus": {"label": "On Hold", "labelId": 55, "status": "SUSPENDED"},
    "pointsSummary": {"loyaltyPoints": 100.0},
}


def write(
    actor: Any = None,
    *,
    action: str = "update_profile",
    outcome: str = "ok",
    customer_id: str = "100",
    identifier: tuple[str, str] = ("mobile", "919000000001"),
    reason: str = "Member asked",
    error_codes: tuple[str, ...] = (),
    warning_codes: tuple[str, ...] = (),
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    import_job_id: int | None = None,
    import_row: int | None = None,
) -> AuditEntry:
    entry = audit.start_write(
        actor=actor,
        action=action,
        reason=reason,
        customer_id=customer_id,
        identifier_type=identifier[0],
        identifier_value=identifier[1],
        source="INSTORE",
        request=request or {"profiles": [{"firstName": "Aasha"}]},
        before=before,
        import_job_id=import_job_id,
        import_row=import_row,
    )
    if outcome == "pending":
        return entry
    return audit.finish_write(
        entry,
        outcome=outcome,
        http_status=200 if outcome.startswith("ok") else 400,
        request_id="req-1",
        response=response or {"createdId": customer_id},
        error_codes=error_codes,
        warning_codes=warning_codes,
        after=after,
        duration_ms=120,
    )


def read(actor: Any = None, **fields: Any) -> AuditEntry:
    return audit.record_read(actor=actor, **{"action": "view_profile", **fields})


@contextmanager
def triggers_disabled() -> Iterator[None]:
    """What a DBA could do on PostgreSQL; the test's transaction undoes it afterwards."""
    if connection.vendor != "postgresql":
        yield
        return
    tables = ("customers_auditentry", "customers_auditcode", "customers_auditcompletion")
    with connection.cursor() as cursor:
        # ALTER TABLE waits for no one, but refuses while deferred FK checks are queued.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in tables:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def tamper(sql: str, params: tuple[Any, ...] = (), *more: str) -> None:
    """Change history behind the ORM's back, as someone with database access would.

    `more` statements run in the same breath, for changes that only agree with the
    foreign keys once all are done (renumbering entries and what points at them)."""
    with triggers_disabled(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        for statement in more:
            cursor.execute(statement)


def verify(*args: str) -> tuple[bool, str]:
    """Run verify_history; (intact, what it said)."""
    out = StringIO()
    try:
        call_command("verify_history", *args, stdout=out)
    except CommandError as error:
        return False, str(error)
    return True, out.getvalue()


def remove_entry(entry_id: int) -> None:
    """Delete an entry with its completion record and codes, as a careful tamperer would."""
    for table, column in (
        ("customers_auditcode", "entry_id"),
        ("customers_auditcompletion", "entry_id"),
        ("customers_auditentry", "id"),
    ):
        # Table and column names are the constants above.
        tamper(f"DELETE FROM {table} WHERE {column} = %s", (entry_id,))  # noqa: S608
