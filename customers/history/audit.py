"""The change history's write side: what services call around every Capillary call.

A write is recorded in three steps (DESIGN.md, "record, call, update"):
`start_write` commits a pending entry before Capillary is called, the service
calls Capillary outside any transaction, then `finish_write` records the answer:
it writes the outcome fields on the entry and appends a signed completion record
to the completion chain, in one transaction (customers.history.chain). A crash
in the middle leaves the pending entry visible instead of a silent gap. Reads
(searches, opened profiles, exports) are recorded whole by `record_read`.

The batch forms, `start_writes` and `finish_writes`, take many writes at once
(a bulk-upsert batch): one transaction, one read of the chain's head, one bulk
append of the pending entries (COPY on PostgreSQL, executemany on SQLite);
completing them is one UPDATE of their outcome fields, one append of their code
rows and, under the chain lock, one of the block of signed completion records.
Callers use the same four functions whatever their size; a screen's write is a
batch of one. Every JSON column is encoded once (`chain.json_text`), with
secret-looking keys' values replaced (the second line of defence after the
Capillary client's own redaction), and that text is both stored and signed.

Call these outside `transaction.atomic()`: an outer transaction would hold back
the pending entry until it commits and keep every other writer waiting for the
chain lock meanwhile.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import connection, transaction
from django.utils import timezone

from customers.console.permissions import role_of
from customers.history.chain import (
    ENTRY_SCALARS,
    ENTRY_TEXTS,
    GENESIS,
    OUTCOME_SCALARS,
    json_text,
    lock_chain,
    sign_stored_completion,
    sign_stored_entry,
    timestamp_text,
)
from customers.history.checkpoints import checkpoint_due, record_checkpoint_task
from customers.models import (
    READ_ACTIONS,
    AuditCompletion,
    AuditEntry,
    database_time,
    insert_rows,
)

Action = AuditEntry.Action
Outcome = AuditEntry.Outcome

REDACTED = "[redacted]"
# Matched case-insensitively anywhere in a key: "Authorization", "client_secret", "accessToken".
SECRET_KEY_PARTS = ("authorization", "password", "secret", "token", "apikey", "api_key", "cookie")


@dataclass(frozen=True, kw_only=True)
class Write:
    """One write about to be sent to Capillary, for `start_writes`."""

    actor: User | AnonymousUser | None
    action: str
    reason: str
    request: Mapping[str, Any]
    customer_id: str | int | None = None
    identifier_type: str = ""
    identifier_value: str = ""
    source: str = ""
    account_id: str = ""
    before: Mapping[str, Any] | None = None
    import_job_id: int | None = None
    import_row: int | None = None
    till: str | None = None


@dataclass(frozen=True, kw_only=True)
class Answer:
    """What Capillary answered to one write, for `finish_writes`.

    `duration_ms` defaults to the time since the write was started; `customer_id`
    fills in the id Capillary assigned to a new registration.
    """

    outcome: str
    http_status: int | None = None
    request_id: str = ""
    response: Mapping[str, Any] | None = None
    error_codes: Iterable[str | int] = ()
    warning_codes: Iterable[str | int] = ()
    side_effects: Iterable[Mapping[str, Any]] = field(default=())
    duration_ms: int | None = None
    after: Mapping[str, Any] | None = None
    customer_id: str | int | None = None


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
    write = Write(
        actor=actor,
        action=action,
        reason=reason,
        customer_id=customer_id,
        identifier_type=identifier_type,
        identifier_value=identifier_value,
        source=source,
        account_id=account_id,
        request=request,
        before=before,
        import_job_id=import_job_id,
        import_row=import_row,
        till=till,
    )
    return start_writes([write])[0]


def start_writes(writes: Sequence[Write]) -> list[AuditEntry]:
    """Record many writes as pending, in order, in one transaction."""
    prepared = []
    actors: dict[tuple[int | None, str | None], dict[str, Any]] = {}
    for write in writes:
        if Action(write.action) in READ_ACTIONS:
            raise ValueError(f"{write.action!r} is a read: record it with record_read().")
        request, request_text = _json(write.request, scrub=True)
        before, before_text = _json(write.before)
        # A batch is one actor's, nearly always: their fields are worked out once.
        who = (write.actor.pk if write.actor else None, write.till)
        if who not in actors:
            actors[who] = _actor_fields(write.actor, write.till)
        prepared.append(
            _prepare(
                {
                    **actors[who],
                    "action": write.action,
                    "reason": write.reason.strip(),
                    "customer_id": _text(write.customer_id),
                    "identifier_type": write.identifier_type,
                    "identifier_value": write.identifier_value,
                    "source": write.source,
                    "account_id": write.account_id,
                    "request": request,
                    "before": before,
                    "import_job_id": write.import_job_id,
                    "import_row": write.import_row,
                },
                (request_text, before_text, None, None, None),
                write.actor,
            )
        )
    return _append(prepared)


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
    """Record Capillary's answer on a pending entry; an entry is completed only once."""
    answer = Answer(
        outcome=outcome,
        http_status=http_status,
        request_id=request_id,
        response=response,
        error_codes=error_codes,
        warning_codes=warning_codes,
        side_effects=side_effects,
        duration_ms=duration_ms,
        after=after,
        customer_id=customer_id,
    )
    return finish_writes([(entry, answer)])[0]


def finish_writes(completions: Sequence[tuple[AuditEntry, Answer]]) -> list[AuditEntry]:
    """Record many answers in one transaction: each entry's outcome fields, and one
    signed completion record per entry appended to the completion chain."""
    answered = [_answered(entry, answer) for entry, answer in completions]
    entries = [entry for entry, _ in answered]
    if not entries:
        return entries
    outcomes = [outcome for _, outcome in answered]
    with transaction.atomic():
        # One UPDATE for every entry's outcome fields (refused whole if any is not
        # pending), and their code rows. They need no place in a chain, so the chain
        # lock is taken after them and held only while the records are appended;
        # always last, after the row locks, so two completions never wait on each other
        # in a circle.
        AuditEntry.save_completions(entries, outcomes)
        lock_chain()
        head = AuditCompletion.objects.order_by("-id").values_list("id", "record_hash").first()
        last_id, previous = head or (0, GENESIS)
        now = timezone.now()
        stamp, at = timestamp_text(now), database_time(now, connection)
        rows = []
        for entry, outcome in answered:
            last_id += 1
            record_hash = sign_stored_completion(
                (last_id, entry.pk, stamp), entry.entry_hash, outcome, previous
            )
            rows.append((last_id, entry.pk, at, previous, record_hash))
            previous = record_hash
        # The block of signed records, appended in one statement.
        insert_rows(AuditCompletion, COMPLETION_RECORD_COLUMNS, rows)
    return entries


def _answered(entry: AuditEntry, answer: Answer) -> tuple[AuditEntry, tuple[Any, ...]]:
    """The entry with its outcome fields set, and those fields as stored and signed."""
    final = Outcome(answer.outcome)
    if final == Outcome.PENDING:
        raise ValueError("finish_write() needs a final outcome, not pending.")
    assigned = _text(answer.customer_id)
    if assigned and entry.customer_id and assigned != entry.customer_id:
        raise ValueError(
            f"Entry #{entry.pk} is about customer {entry.customer_id}, not {assigned}."
        )
    duration_ms = answer.duration_ms
    if duration_ms is None:
        duration_ms = round((timezone.now() - entry.created_at).total_seconds() * 1000)
    entry.outcome = final
    entry.customer_id = assigned or entry.customer_id
    entry.http_status = answer.http_status
    entry.request_id = answer.request_id
    entry.response, response_text = _json(answer.response, scrub=True)
    entry.side_effects, side_effects_text = _json(list(answer.side_effects))
    entry.error_codes = _code_list(answer.error_codes)
    entry.warning_codes = _code_list(answer.warning_codes)
    entry.duration_ms = max(0, duration_ms)
    entry.after, after_text = _json(answer.after)
    scalars = tuple(getattr(entry, name) for name in OUTCOME_SCALARS)
    return entry, (*scalars, response_text, side_effects_text, after_text)


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
    request_value, request_text = _json(request or {}, scrub=True)
    fields = {
        **_actor_fields(actor, till),
        "action": action,
        "customer_id": _text(customer_id),
        "identifier_type": identifier_type,
        "identifier_value": identifier_value,
        "source": source,
        "request": request_value,
        "outcome": Outcome.OK,
    }
    return _append([_prepare(fields, (request_text, None, None, None, None), actor)])[0]


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


def _json(value: Any, *, scrub: bool = False) -> tuple[Any, str | None]:
    """A JSON column's value as the entry holds it, and the text stored and signed.

    The value is decoded from the text, so the entry in hand equals the entry read
    back. With `scrub`, secret-looking keys' values are replaced; the text is
    searched first, and only a text holding a secret word anywhere (a key or
    not) is walked key by key: most never are.
    """
    if value is None:
        return None, None
    text = json_text(value)
    if scrub and text is not None and _may_hold_secret(text):
        text = json_text(_redact(value))
    return (None if text is None else json.loads(text)), text


def _may_hold_secret(text: str) -> bool:
    lowered = text.lower()
    return any(part in lowered for part in SECRET_KEY_PARTS)


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


_Prepared = tuple[AuditEntry, tuple[Any, ...], tuple[str | None, ...]]
# The model called with every field in order: Django's fast path for building rows.
_MODEL: Any = AuditEntry
_ENTRY_ATTNAMES = tuple(field.attname for field in AuditEntry._meta.concrete_fields)
# An entry's fields before anything is said about it: a pending write by nobody.
_BLANK: dict[str, Any] = {
    **{field.attname: field.get_default() for field in AuditEntry._meta.concrete_fields},
    "id": None,
    "created_at": None,
    "outcome": Outcome.PENDING,
    "request": None,
}
# The scalar columns signed after id and created_at (chain.ENTRY_SCALARS), then the
# columns of a stored entry row in the order _append writes them.
_SCALARS_AFTER_TIME = ENTRY_SCALARS[2:]
ENTRY_ROW_COLUMNS = (*ENTRY_SCALARS, *ENTRY_TEXTS, "previous_hash", "entry_hash")
COMPLETION_RECORD_COLUMNS = ("id", "entry_id", "created_at", "previous_hash", "record_hash")


def _prepare(
    fields: Mapping[str, Any],
    texts: tuple[str | None, ...],
    actor: User | AnonymousUser | None,
) -> _Prepared:
    """An entry built from its fields (the model's positional form, cheap for a batch),
    the scalars it will be signed with after its id and time, and its JSON texts:
    all the work of an append that need not wait for the chain lock."""
    values = {**_BLANK, **fields}
    entry: AuditEntry = _MODEL(*[values[name] for name in _ENTRY_ATTNAMES])
    if isinstance(actor, User):
        AuditEntry.actor.field.set_cached_value(entry, actor)
    return entry, tuple(values[name] for name in _SCALARS_AFTER_TIME), texts


def _append(prepared: Sequence[_Prepared]) -> list[AuditEntry]:
    """Sign and insert prepared entries, in order, under the chain lock."""
    with transaction.atomic():
        lock_chain()
        head = AuditEntry.objects.order_by("-id").values_list("id", "entry_hash").first()
        last_id, previous = head or (0, GENESIS)
        # Taken under the lock, so created_at never runs backwards along the chain.
        now = timezone.now()
        stamp, at = timestamp_text(now), database_time(now, connection)
        first_id = last_id
        rows = []
        for entry, scalars, texts in prepared:
            # Ids follow the head under the lock, so each is known before it is signed.
            last_id += 1
            entry_hash = sign_stored_entry((last_id, stamp, *scalars, *texts), previous)
            rows.append((last_id, at, *scalars, *texts, previous, entry_hash))
            entry.id, entry.created_at = last_id, now
            entry.previous_hash, entry.entry_hash = previous, entry_hash
            previous = entry_hash
        # One statement, whatever the count: a batch's entries, or a screen's one.
        insert_rows(AuditEntry, ENTRY_ROW_COLUMNS, rows)
        if checkpoint_due(first_id, last_id):
            transaction.on_commit(record_checkpoint_task.enqueue)
    entries = [entry for entry, _, _ in prepared]
    for entry in entries:
        entry._state.adding = False
        entry._state.db = connection.alias
    return entries


def _actor_fields(actor: User | AnonymousUser | None, till: str | None) -> dict[str, Any]:
    return {
        "actor_id": actor.pk if actor else None,
        "actor_username": actor.get_username() if actor else "",
        "actor_role": role_of(actor) if actor else "",
        "actor_till": settings.CAPILLARY_TILL_CODE if till is None else till,
    }


def _code_list(codes: Iterable[str | int]) -> str:
    return ",".join(dict.fromkeys(str(code).strip() for code in codes if str(code).strip()))


def _text(value: str | int | None) -> str:
    return "" if value is None else str(value).strip()
