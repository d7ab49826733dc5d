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

This module works on plain mappings of column values, so `verify_history` can
check rows fetched with `.values()` at the same speed as it signs new ones.
"""

import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core import checks
from django.db import connections

GENESIS = "0" * 64

CREATION_FIELDS = (
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
    "request",
    "before",
    "import_job_id",
    "import_row",
)
COMPLETION_FIELDS = (
    "outcome",
    "customer_id",
    "http_status",
    "request_id",
    "response",
    "side_effects",
    "error_codes",
    "warning_codes",
    "duration_ms",
    "after",
)
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
HASHED_FIELDS = tuple(dict.fromkeys(CREATION_FIELDS + COMPLETION_FIELDS))
# What an entry's signature covers: its id (so renumbering shows) and every field above.
ENTRY_FIELDS = ("id", *HASHED_FIELDS)
COMPLETION_RECORD_FIELDS = ("id", "entry_id", "created_at")

# Any constant shared by every process works; this one spells "audt".
ADVISORY_LOCK_KEY = 0x61756474


def _encode(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    raise TypeError(f"Cannot sign a {type(value).__name__} in an audit entry.")


def canonical(values: Any) -> bytes:
    """One byte string per content: sorted keys, no spaces, so the database's own
    JSON formatting (jsonb reorders keys) never changes a signature."""
    return json.dumps(
        values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_encode
    ).encode()


def _sign(*parts: bytes) -> str:
    return hmac.digest(settings.AUDIT_HMAC_KEY.encode(), b"\n".join(parts), "sha256").hex()


def sign_parts(*parts: bytes) -> str:
    """An HMAC with the audit key over `parts`, for records beside the chains
    (checkpoints, export manifests); the first part names the kind of record."""
    return _sign(*parts)


def sign_entry(row: Mapping[str, Any], previous_hash: str) -> str:
    """The creation signature: the entry as written, with its id, chained to the one before."""
    content = {name: row[name] for name in ENTRY_FIELDS}
    return _sign(b"entry", previous_hash.encode(), canonical(content))


def sign_completion(record: Mapping[str, Any], entry: Mapping[str, Any], previous_hash: str) -> str:
    """A completion record's signature: itself, the entry it completes (id, hash and the
    outcome fields as written), chained to the completion before it."""
    content = {name: record[name] for name in COMPLETION_RECORD_FIELDS}
    content["outcome_fields"] = {name: entry[name] for name in COMPLETION_FIELDS}
    return _sign(
        b"completion", previous_hash.encode(), entry["entry_hash"].encode(), canonical(content)
    )


def entry_problem(row: Mapping[str, Any], previous_hash: str) -> str | None:
    """What is wrong with one entry on its own, given the hash of the entry before it.

    A completed write was signed at creation in its pending state; whether its
    outcome is the one recorded is the completion chain's to say (see
    `is_completed_write`). Its customer id was either the one it holds now or,
    for a registration, blank until Capillary assigned one.
    """
    if row["previous_hash"] != previous_hash:
        return (
            "its link to the entry before it is broken: an earlier entry was removed, "
            "inserted, renumbered or altered"
        )
    if not is_completed_write(row):
        if sign_entry(row, previous_hash) == row["entry_hash"]:
            return None
        return "its content no longer matches its signature: it was changed after writing"
    pending = {**row, **PENDING_STATE}
    if sign_entry(pending, previous_hash) == row["entry_hash"]:
        return None
    if (
        row["customer_id"]
        and sign_entry({**pending, "customer_id": ""}, previous_hash) == (row["entry_hash"])
    ):
        return None
    return "its content no longer matches its signature: it was changed after writing"


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
