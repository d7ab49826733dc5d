"""The hash chain under the change history: what is signed, how appends take turns.

Each entry's `entry_hash` is an HMAC over its content at creation and the hash
of the entry before it, so changing, removing or reordering a row breaks every
link after it. Completing a pending write is the one update history allows; it
writes `completion_hash`, an HMAC over the entry's own hash and the completion
fields. The key (settings.AUDIT_HMAC_KEY) is not in the database, so database
access alone cannot re-forge either signature.

This module works on plain mappings of column values, so `verify_history` can
check rows fetched with `.values()` at the same speed as it signs new ones.
"""

import hashlib
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

# Any constant shared by every process works; this one spells "audt".
ADVISORY_LOCK_KEY = 0x61756474


def _encode(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    raise TypeError(f"Cannot sign a {type(value).__name__} in an audit entry.")


def canonical(values: Mapping[str, Any]) -> bytes:
    """One byte string per content: sorted keys, no spaces, so the database's own
    JSON formatting (jsonb reorders keys) never changes a signature."""
    return json.dumps(
        values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_encode
    ).encode()


def _sign(*parts: bytes) -> str:
    return hmac.new(settings.AUDIT_HMAC_KEY.encode(), b"\n".join(parts), hashlib.sha256).hexdigest()


def sign_entry(row: Mapping[str, Any], previous_hash: str) -> str:
    """The creation signature: the entry as written, chained to the one before."""
    content = {name: row[name] for name in HASHED_FIELDS}
    return _sign(b"entry", previous_hash.encode(), canonical(content))


def sign_completion(row: Mapping[str, Any]) -> str:
    content = {name: row[name] for name in COMPLETION_FIELDS}
    return _sign(b"completion", row["entry_hash"].encode(), canonical(content))


def find_problem(row: Mapping[str, Any], previous_hash: str) -> str | None:
    """What is wrong with one entry, given the hash of the entry before it; None if nothing."""
    if row["previous_hash"] != previous_hash:
        return (
            "its link to the entry before it is broken: an earlier entry was removed, "
            "inserted or altered"
        )
    if not row["completion_hash"]:
        if sign_entry(row, previous_hash) != row["entry_hash"]:
            return "its content no longer matches its signature: it was changed after writing"
        return None
    # A completed write was signed at creation in its pending state. Its customer id
    # was either the one it holds now or, for a registration, blank until Capillary
    # assigned one; the completion signature pins whichever value it holds now.
    pending = {**row, **PENDING_STATE}
    candidates = (pending, {**pending, "customer_id": ""})
    if not any(sign_entry(c, previous_hash) == row["entry_hash"] for c in candidates):
        return "its content no longer matches its signature: it was changed after writing"
    if sign_completion(row) != row["completion_hash"]:
        return "its completion no longer matches its signature: the outcome or answer was changed"
    return None


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
