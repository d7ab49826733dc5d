"""The hash chain under the change history: what is signed, how appends take turns.

The history is two hash chains, each an append-only sequence of signed records:

- the entry chain (AuditEntry): each entry's `entry_hash` is an HMAC over its id,
  its content at creation (a write as pending, a read complete) and the hash of
  the entry before it. Changing, removing, reordering or renumbering a row
  breaks its own signature or the next entry's link.
- the completion chain (AuditCompletion): completing a write appends a record
  whose `record_hash` is an HMAC over its own id and time, the completed
  entry's id and hash, the outcome fields written on the entry, and the hash of
  the completion before it. The outcome fields are also written on the entry
  (the one update history allows), so lists and filters read one row; but a
  completed entry without its record, a record whose entry shows pending, or
  an outcome that differs from what its record signed are all breaks. Removing
  a record breaks the next record's link.

Ids are assigned under the chain lock (head + 1) so they can be signed. The key
(settings.AUDIT_HMAC_KEY) is not in the database, so database access alone
cannot re-forge a signature. Cutting records off the end of either chain is
what checkpoints catch (customers.history.checkpoints).

What is signed is what is stored. JSON columns are text columns holding one
canonical text per value (SignedJSONField: sorted keys, no spaces) and the
signature covers that text; other columns are signed as a JSON list of their
values, the time as UTC text. A write signs the values it is about to store
(`stored_entry`); `verify_history` reads the same columns with a raw cursor,
without decoding any JSON, and hashes them (`sign_stored_entry`): the format is
built so verifying a row costs little more than reading it. "entry/2" and
"completion/2" name this format (migration 0011 re-signed the history into it).
"""

import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import checks
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models

GENESIS = "0" * 64

# What an entry's signature covers, in the order signed: its id (so renumbering
# shows), its creation fields and its outcome fields as written when it was
# created (a write's pending state, a read's outcome), then its JSON columns as
# the exact text stored (ENTRY_TEXTS).
ENTRY_SCALARS = (
    "id",
    "created_at",
    "actor_id",
    "actor_username",
    "actor_role",
    "actor_till",
    "action",
    "customer_id",
    "identifier_type",
    "identifier_value",
    "source",
    "account_id",
    "reason",
    "import_job_id",
    "import_row",
    "outcome",
    "http_status",
    "request_id",
    "error_codes",
    "warning_codes",
    "duration_ms",
)
ENTRY_TEXTS = ("request", "before", "response", "side_effects", "after")
SIGNED_ENTRY_COLUMNS = ENTRY_SCALARS + ENTRY_TEXTS
# The fields a completion writes on its entry (and signs in its record), in the order signed.
OUTCOME_SCALARS = (
    "outcome",
    "customer_id",
    "http_status",
    "request_id",
    "error_codes",
    "warning_codes",
    "duration_ms",
)
OUTCOME_TEXTS = ("response", "side_effects", "after")
COMPLETION_FIELDS = OUTCOME_SCALARS + OUTCOME_TEXTS
HASHED_FIELDS = tuple(name for name in SIGNED_ENTRY_COLUMNS if name != "id")
# What the completion fields hold while a write is pending.
PENDING_STATE: dict[str, Any] = {
    "outcome": "pending",
    "http_status": None,
    "request_id": "",
    "response": None,
    "side_effects": None,
    "error_codes": "",
    "warning_codes": "",
    "duration_ms": None,
    "after": None,
}

# Positions in a stored entry (a tuple in SIGNED_ENTRY_COLUMNS order).
_AT = {name: position for position, name in enumerate(SIGNED_ENTRY_COLUMNS)}
_CREATED, _ACTION, _CUSTOMER, _OUTCOME = (
    _AT["created_at"],
    _AT["action"],
    _AT["customer_id"],
    _AT["outcome"],
)
_SCALARS_END = len(ENTRY_SCALARS)
_OUTCOME_POSITIONS = tuple(_AT[name] for name in OUTCOME_SCALARS)
_OUTCOME_TEXT_POSITIONS = tuple(_AT[name] for name in OUTCOME_TEXTS)
_PENDING_SCALARS = {
    _AT[name]: PENDING_STATE[name] for name in OUTCOME_SCALARS if name in PENDING_STATE
}

# Any constant shared by every process works; this one spells "audt".
ADVISORY_LOCK_KEY = 0x61756474

_KIND_ENTRY = b"entry/2"
_KIND_COMPLETION = b"completion/2"


def _encode(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    raise TypeError(f"Cannot sign a {type(value).__name__} in an audit entry.")


def canonical(values: Any) -> bytes:
    """One byte string per content: sorted keys, no spaces, so the database's own
    JSON formatting never changes a signature (checkpoints, export manifests)."""
    return json.dumps(
        values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_encode
    ).encode()


def json_text(value: Any) -> str | None:
    """The text a JSON column of the history stores, and its signature covers: sorted
    keys, no spaces, so one value has one text. None (SQL NULL) stays None."""
    if value is None:
        return None
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder
    )


if TYPE_CHECKING:
    _TextField = models.TextField[Any, Any]
else:
    _TextField = models.TextField


class SignedJSONField(_TextField):
    """JSON kept as the exact text that was signed (`json_text`), not as jsonb.

    The chain signs each JSON column's stored text, so `verify_history` checks a
    row by reading that text and hashing it, without decoding and re-encoding
    JSON (what made it slow). PostgreSQL's jsonb would reorder keys and respace
    the text; a text column keeps it byte for byte. Code reading an entry sees
    the decoded value, as with a JSONField.
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return None if value is None else json.loads(value)

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> Any:
        return json_text(value)

    def value_to_string(self, obj: Any) -> Any:
        return self.value_from_object(obj)


def timestamp_text(value: datetime) -> str:
    """A timestamp as signed: UTC, microseconds, "Z". (A raw read has the database
    format it the same way: customers.history.verification._time.)"""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _sign(*parts: bytes) -> str:
    return hmac.digest(settings.AUDIT_HMAC_KEY.encode(), b"\n".join(parts), "sha256").hex()


def sign_parts(*parts: bytes) -> str:
    """An HMAC with the audit key over `parts`, for records beside the chains
    (checkpoints, export manifests); the first part names the kind of record."""
    return _sign(*parts)


def _scalars(values: Sequence[Any]) -> bytes:
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()


def _texts(texts: Sequence[str | None]) -> list[bytes]:
    # NULL is the empty part: a stored JSON text is never empty, and never holds a
    # raw newline (JSON escapes it), so the parts split one way only.
    return [b"" if text is None else text.encode() for text in texts]


def stored_entry(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """An entry as its signature sees it, from Python values (a model's fields):
    the columns of SIGNED_ENTRY_COLUMNS, JSON as its stored text, the time as signed."""
    values: list[Any] = [row[name] for name in ENTRY_SCALARS]
    values[_CREATED] = timestamp_text(values[_CREATED])
    values.extend(json_text(row[name]) for name in ENTRY_TEXTS)
    return tuple(values)


def sign_stored_entry(stored: Sequence[Any], previous_hash: str) -> str:
    """The creation signature of a stored entry, chained to the one before it."""
    return _sign(
        _KIND_ENTRY,
        previous_hash.encode(),
        _scalars(stored[:_SCALARS_END]),
        *_texts(stored[_SCALARS_END:]),
    )


def sign_entry(row: Mapping[str, Any], previous_hash: str) -> str:
    """The creation signature: the entry as written (Python values), with its id,
    chained to the one before."""
    return sign_stored_entry(stored_entry(row), previous_hash)


def sign_stored_completion(
    record: Sequence[Any], entry_hash: str, outcome: Sequence[Any], previous_hash: str
) -> str:
    """A completion record's signature over stored values: the record (id, entry id,
    time as signed), the entry it completes (its hash and its outcome fields as
    stored, in COMPLETION_FIELDS order), chained to the completion before it."""
    scalars = [*record, *outcome[: len(OUTCOME_SCALARS)]]
    return _sign(
        _KIND_COMPLETION,
        previous_hash.encode(),
        entry_hash.encode(),
        _scalars(scalars),
        *_texts(outcome[len(OUTCOME_SCALARS) :]),
    )


def sign_completion(record: Mapping[str, Any], entry: Mapping[str, Any], previous_hash: str) -> str:
    """A completion record's signature from Python values (see sign_stored_completion)."""
    return sign_stored_completion(
        (record["id"], record["entry_id"], timestamp_text(record["created_at"])),
        entry["entry_hash"],
        stored_outcome(entry),
        previous_hash,
    )


def stored_outcome(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    """An entry's outcome fields as a completion signs them, from Python values."""
    return (
        *(entry[name] for name in OUTCOME_SCALARS),
        *(json_text(entry[name]) for name in OUTCOME_TEXTS),
    )


def outcome_of(stored: Sequence[Any]) -> tuple[Any, ...]:
    """A stored entry's outcome fields, in COMPLETION_FIELDS order."""
    return (
        *(stored[position] for position in _OUTCOME_POSITIONS),
        *(stored[position] for position in _OUTCOME_TEXT_POSITIONS),
    )


def entry_problem(stored: Sequence[Any], previous_hash: str, entry_hash: str) -> str | None:
    """What is wrong with one stored entry on its own, given the hash of the entry
    before it (`stored` in SIGNED_ENTRY_COLUMNS order, as `stored_entry` or a raw
    read gives it).

    A completed write was signed at creation in its pending state; whether its
    outcome is the one recorded is the completion chain's to say (see
    `is_completed_write`). Its customer id was either the one it holds now or,
    for a registration, blank until Capillary assigned one.
    """
    if not stored_is_completed_write(stored):
        if sign_stored_entry(stored, previous_hash) == entry_hash:
            return None
        return "its content no longer matches its signature: it was changed after writing"
    pending = list(stored)
    for position, value in _PENDING_SCALARS.items():
        pending[position] = value
    for position in _OUTCOME_TEXT_POSITIONS:
        pending[position] = None
    tries = [stored[_CUSTOMER]]
    if stored[_CUSTOMER]:
        # A registration was signed before Capillary assigned its id: try that first.
        tries.insert(0 if stored[_ACTION] == "register" else 1, "")
    for customer in tries:
        pending[_CUSTOMER] = customer
        if sign_stored_entry(pending, previous_hash) == entry_hash:
            return None
    return "its content no longer matches its signature: it was changed after writing"


def stored_is_completed_write(stored: Sequence[Any]) -> bool:
    return stored[_OUTCOME] != "pending" and stored[_ACTION] not in READ_ACTION_NAMES


def is_completed_write(row: Mapping[str, Any]) -> bool:
    return row["outcome"] != "pending" and row["action"] not in READ_ACTION_NAMES


# The read actions by name (customers.models.READ_ACTIONS holds the same as choices;
# models import this module, so the names live here).
READ_ACTION_NAMES = frozenset({"search", "view_profile", "export_history"})


def lock_chain(using: str = "default") -> None:
    """Make this transaction the only one appending until it ends, so the chain never forks.

    PostgreSQL: a transaction-level advisory lock, shared by the web process and
    every worker. SQLite: the IMMEDIATE write transaction (see the check below)
    already holds the database's single write lock from its first statement.
    """
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("lock_chain() must run inside transaction.atomic().")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])


@checks.register()
def check_sqlite_writes_are_serialised(**kwargs: Any) -> Sequence[checks.CheckMessage]:
    errors = []
    for alias, database in settings.DATABASES.items():
        if database["ENGINE"] != "django.db.backends.sqlite3":
            continue
        if database.get("OPTIONS", {}).get("transaction_mode") != "IMMEDIATE":
            errors.append(
                checks.Error(
                    f"Database {alias!r} is SQLite without transaction_mode IMMEDIATE.",
                    hint="The change history's hash chain relies on IMMEDIATE transactions "
                    "to serialise appends; set OPTIONS['transaction_mode'] = 'IMMEDIATE'.",
                    id="customers.E001",
                )
            )
    return errors
