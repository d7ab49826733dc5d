"""The change history's write side: what services call around every Capillary call.

A write is recorded in three steps (DESIGN.md, "record, call, update"):
`start_write` commits a pending entry before Capillary is called, the service
calls Capillary outside any transaction, then `finish_write` records the answer.
A crash in the middle leaves the pending entry visible instead of a silent gap.
Reads (searches, opened profiles, exports) are recorded whole by `record_read`.

Call these outside `transaction.atomic()`: an outer transaction would hold back
the pending entry until it commits and keep every other writer waiting for the
chain lock meanwhile.
"""

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from customers.console.permissions import role_of
from customers.history.chain import GENESIS, lock_chain, sign_completion, sign_entry
from customers.models import READ_ACTIONS, AuditEntry

Action = AuditEntry.Action
Outcome = AuditEntry.Outcome

REDACTED = "[redacted]"
# Matched case-insensitively anywhere in a key: "Authorization", "client_secret", "accessToken".
SECRET_KEY_PARTS = ("authorization", "password", "secret", "token", "apikey", "api_key", "cookie")


def start_write(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    reason: str,
    customer_id: str | int | None = None,
    identifier_type: str = "",
    identifier_value: str = "",
    source: str = "",
    account_id: str = "",
    request: Mapping[str, Any],
    before: Mapping[str, Any] | None = None,
    import_job_id: int | None = None,
    import_row: int | None = None,
    till: str | None = None,
) -> AuditEntry:
    """Record a write about to be sent to Capillary, as pending, committed at once."""
    if Action(action) in READ_ACTIONS:
        raise ValueError(f"{action!r} is a read: record it with record_read().")
    entry = AuditEntry(
        **_actor_fields(actor, till),
        action=action,
        reason=reason.strip(),
        customer_id=_text(customer_id),
        identifier_type=identifier_type,
        identifier_value=identifier_value,
        source=source,
        account_id=account_id,
        request=scrub_secrets(request),
        before=_as_json(before),
        import_job_id=import_job_id,
        import_row=import_row,
        outcome=Outcome.PENDING,
    )
    return _append(entry)


def finish_write(
    entry: AuditEntry,
    *,
    outcome: str,
    http_status: int | None = None,
    request_id: str = "",
    response: Mapping[str, Any] | None,
    error_codes: Iterable[str | int] = (),
    warning_codes: Iterable[str | int] = (),
    side_effects: Iterable[Mapping[str, Any]] = (),
    duration_ms: int | None = None,
    after: Mapping[str, Any] | None = None,
    customer_id: str | int | None = None,
) -> AuditEntry:
    """Record Capillary's answer on a pending entry; an entry is completed only once.

    `duration_ms` defaults to the time since `start_write`; `customer_id` fills in
    the id Capillary assigned to a new registration.
    """
    final = Outcome(outcome)
    if final == Outcome.PENDING:
        raise ValueError("finish_write() needs a final outcome, not pending.")
    assigned = _text(customer_id)
    if assigned and entry.customer_id and assigned != entry.customer_id:
        raise ValueError(
            f"Entry #{entry.pk} is about customer {entry.customer_id}, not {assigned}."
        )
    if duration_ms is None:
        duration_ms = round((timezone.now() - entry.created_at).total_seconds() * 1000)
    entry.outcome = final
    entry.customer_id = assigned or entry.customer_id
    entry.http_status = http_status
    entry.request_id = request_id
    entry.response = scrub_secrets(response)
    entry.side_effects = _as_json(list(side_effects))
    entry.error_codes = _code_list(error_codes)
    entry.warning_codes = _code_list(warning_codes)
    entry.duration_ms = max(0, duration_ms)
    entry.after = _as_json(after)
    entry.completion_hash = sign_completion(_row(entry))
    with transaction.atomic():
        entry.save_completion()
    return entry


def record_read(
    *,
    actor: User | AnonymousUser | None,
    action: str,
    customer_id: str | int | None = "",
    identifier_type: str = "",
    identifier_value: str = "",
    source: str = "",
    request: Mapping[str, Any] | None = None,
    till: str | None = None,
) -> AuditEntry:
    """Record who looked at what: a search, an opened profile, an export of history."""
    if Action(action) not in READ_ACTIONS:
        raise ValueError(f"{action!r} changes a member: record it with start_write().")
    entry = AuditEntry(
        **_actor_fields(actor, till),
        action=action,
        customer_id=_text(customer_id),
        identifier_type=identifier_type,
        identifier_value=identifier_value,
        source=source,
        request=scrub_secrets(request or {}),
        outcome=Outcome.OK,
    )
    return _append(entry)


def entries_for_member(
    customer_id: str | int, limit: int = 10, *, include_reads: bool = False
) -> list[AuditEntry]:
    """The newest entries about one member, for the timeline on the profile.

    Reads are left out unless asked for: every profile opening records one, and
    a timeline full of "opened profile" would hide the changes.
    """
    entries = AuditEntry.objects.filter(customer_id=_text(customer_id))
    if not include_reads:
        entries = entries.exclude(action__in=READ_ACTIONS)
    # The timeline shows who, what and the outcome: the JSON bodies stay in the database.
    entries = entries.defer("request", "response", "before", "after", "side_effects")
    return list(entries.order_by("-created_at", "-id")[:limit])


def scrub_secrets(value: Any) -> Any:
    """A JSON copy of `value` with the value of every secret-looking key replaced.

    The Capillary client hands over redacted data already; this is the second
    line, so a secret that slips through one layer never reaches the history.
    """
    return _as_json(_redact(value))


def _redact(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            str(key): REDACTED if _is_secret(str(key)) else _redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(item) for item in value]
    return value


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(part in lowered for part in SECRET_KEY_PARTS)


def _append(entry: AuditEntry) -> AuditEntry:
    with transaction.atomic():
        lock_chain()
        previous = AuditEntry.objects.order_by("-id").values_list("entry_hash", flat=True).first()
        # Taken under the lock, so created_at never runs backwards along the chain.
        entry.created_at = timezone.now()
        entry.previous_hash = previous or GENESIS
        entry.entry_hash = sign_entry(_row(entry), entry.previous_hash)
        entry.save()
    return entry


def _actor_fields(actor: User | AnonymousUser | None, till: str | None) -> dict[str, Any]:
    return {
        "actor": actor,
        "actor_username": actor.get_username() if actor else "",
        "actor_role": role_of(actor) if actor else "",
        "actor_till": settings.CAPILLARY_TILL_CODE if till is None else till,
    }


def _row(entry: AuditEntry) -> dict[str, Any]:
    return {field.attname: getattr(entry, field.attname) for field in entry._meta.concrete_fields}


def _as_json(value: Any) -> Any:
    """What the JSON column will hand back on reading, so signatures match after a round trip."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _code_list(codes: Iterable[str | int]) -> str:
    return ",".join(dict.fromkeys(str(code).strip() for code in codes if str(code).strip()))


def _text(value: str | int | None) -> str:
    return "" if value is None else str(value).strip()
