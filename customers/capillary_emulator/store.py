"""The emulator's SQLite state: schema, transactions, and the two shared counters.

One connection per ``Store``, guarded by a lock, so ``:memory:`` works across the
threads of one process. Several processes share a file safely: WAL lets readers
run beside a writer, writes start with ``BEGIN IMMEDIATE`` so a check-then-insert
holds the write lock throughout, and the UNIQUE index on identifiers is the last
word if two writers ever disagree.
"""

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_SECONDS = 30.0
MMAP_BYTES = 256 * 1024 * 1024
CACHE_KIB = 32 * 1024
FIRST_CUSTOMER_ID = 100_000_001

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    loyalty_type TEXT NOT NULL,
    status_label TEXT,
    extended_fields TEXT NOT NULL DEFAULT '{}',
    associated_with TEXT,
    fraud_status TEXT NOT NULL DEFAULT 'NONE',
    fraud_changed_at REAL,
    merged_into INTEGER,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    created_till TEXT NOT NULL,
    modified_till TEXT NOT NULL,
    created_source TEXT NOT NULL,
    registered_on TEXT,
    alt_currencies TEXT NOT NULL DEFAULT '{}',
    labels TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS profiles (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    source TEXT NOT NULL,
    account_id TEXT NOT NULL,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    fields TEXT NOT NULL DEFAULT '{}',
    channels TEXT NOT NULL DEFAULT '[]',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    created_till TEXT NOT NULL,
    modified_till TEXT NOT NULL,
    UNIQUE (customer_id, source, account_id)
);
CREATE TABLE IF NOT EXISTS identifiers (
    profile_id INTEGER NOT NULL,
    customer_id INTEGER NOT NULL,
    source TEXT NOT NULL,
    account_id TEXT NOT NULL,
    type TEXT NOT NULL,
    value TEXT NOT NULL,
    shared INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS identifiers_by_value ON identifiers (type, value);
CREATE INDEX IF NOT EXISTS identifiers_by_customer ON identifiers (customer_id);
-- The customer search (E13) matches prefixes of names and identifiers in any case:
-- each is indexed folded and then by customer, so a search reads its hits in order
-- straight off the indexes, whatever the number of members.
CREATE INDEX IF NOT EXISTS profiles_by_first_name
    ON profiles (search_fold(first_name), customer_id);
CREATE INDEX IF NOT EXISTS profiles_by_last_name
    ON profiles (search_fold(last_name), customer_id);
CREATE INDEX IF NOT EXISTS profiles_by_full_name
    ON profiles (search_fold(first_name || ' ' || last_name), customer_id);
CREATE INDEX IF NOT EXISTS identifiers_by_folded_value
    ON identifiers (search_fold(value), customer_id);
CREATE TABLE IF NOT EXISTS cards (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL UNIQUE,
    series_id INTEGER NOT NULL,
    customer_id INTEGER,
    status_label TEXT NOT NULL,
    extended_fields TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    status_changed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS cards_by_customer ON cards (customer_id);
CREATE TABLE IF NOT EXISTS enrollments (
    customer_id INTEGER NOT NULL,
    program_id INTEGER NOT NULL,
    tier_number INTEGER NOT NULL,
    points REAL NOT NULL,
    lifetime_points REAL NOT NULL,
    tier_expiry TEXT,
    points_expiry TEXT,
    enrolled_at REAL NOT NULL,
    PRIMARY KEY (customer_id, program_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subscriptions (
    customer_id INTEGER NOT NULL,
    channel TEXT NOT NULL,
    priority TEXT NOT NULL,
    type TEXT NOT NULL,
    account_id TEXT NOT NULL DEFAULT '',
    source_name TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL,
    PRIMARY KEY (customer_id, channel, priority)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS status_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL,
    label TEXT,
    prev_label TEXT,
    reason TEXT NOT NULL,
    created_on REAL NOT NULL,
    created_by INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS status_log_by_customer ON status_log (customer_id, id);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_type TEXT NOT NULL,
    entity_id INTEGER NOT NULL,
    created_on INTEGER NOT NULL,
    row TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_entity ON audit (entity_type, entity_id, id);
CREATE TABLE IF NOT EXISTS change_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL,
    change_type TEXT NOT NULL,
    created_on REAL NOT NULL,
    row TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS change_requests_by_customer ON change_requests (customer_id, id);
CREATE TABLE IF NOT EXISTS subscription_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL,
    row TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS subscription_log_by_customer ON subscription_log (customer_id, id);
CREATE TABLE IF NOT EXISTS coupons (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL,
    code TEXT NOT NULL,
    row TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS quota (
    key TEXT PRIMARY KEY,
    tokens REAL NOT NULL,
    ts REAL NOT NULL,
    allowed INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS control (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
"""

TABLES = (
    "customers",
    "profiles",
    "identifiers",
    "cards",
    "enrollments",
    "subscriptions",
    "status_log",
    "audit",
    "change_requests",
    "subscription_log",
    "coupons",
    "quota",
    "control",
)

# One statement, so the refill-and-take is atomic across processes without a
# transaction of its own. SQLite evaluates every SET expression on the old row.
_TAKE_QUOTA = """
INSERT INTO quota (key, tokens, ts, allowed) VALUES (:key, :capacity - 1, :now, 1)
ON CONFLICT (key) DO UPDATE SET
    allowed = (min(:capacity, tokens + max(0, :now - ts) * :rate) >= 1),
    tokens = min(:capacity, tokens + max(0, :now - ts) * :rate)
             - (min(:capacity, tokens + max(0, :now - ts) * :rate) >= 1),
    ts = max(ts, :now)
RETURNING allowed, tokens
"""


def search_fold(value: Any) -> Any:
    """Text as the customer search compares it: Unicode case folded ("ÉMILE" is "émile").

    SQLite's own lower() folds ASCII only. Every connection registers this before
    touching the schema, since the search indexes are built on it.
    """
    return value.casefold() if isinstance(value, str) else value


class Store:
    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self.db = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
        self.db.row_factory = sqlite3.Row
        self.db.create_function("search_fold", 1, search_fold, deterministic=True)
        if path != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")
            # WAL with NORMAL survives a process crash; only a power cut may lose the tail.
            self.db.execute("PRAGMA synchronous=NORMAL")
            # Past SQLite's default 2 MB page cache every lookup would read pages through
            # syscalls; mapping the file keeps lookups flat as the member count grows.
            self.db.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
            self.db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        with self.write():
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self._upgrade(self.db)
            self._seed_sequence()

    @staticmethod
    def _upgrade(db: sqlite3.Connection) -> None:
        """Bring a state file from before dual eligibility up to date: identifiers shared
        under it are outside the uniqueness index."""
        columns = {row["name"] for row in db.execute("PRAGMA table_info(identifiers)")}
        if "shared" not in columns:
            db.execute("ALTER TABLE identifiers ADD COLUMN shared INTEGER NOT NULL DEFAULT 0")
        db.execute("DROP INDEX IF EXISTS identifiers_unique")
        db.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS identifiers_unique_unshared"
            " ON identifiers (source, account_id, type, value) WHERE shared = 0"
        )

    def _seed_sequence(self) -> None:
        row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'customers'").fetchone()
        if row is None:
            self.db.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('customers', ?)",
                (FIRST_CUSTOMER_ID - 1,),
            )

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested use joins the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.db
                finally:
                    self._depth -= 1
                return
            self.db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            else:
                self.db.execute("COMMIT")
            finally:
                self._depth = 0

    @contextmanager
    def savepoint(self) -> Iterator[sqlite3.Connection]:
        """One element of a batch inside the batch's write transaction: an error
        undoes this element's changes only. Outside a transaction, a write of its own."""
        with self._lock:
            if not self._depth:
                with self.write() as db:
                    yield db
                return
            self.db.execute("SAVEPOINT element")
            self._depth += 1
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK TO element")
                self.db.execute("RELEASE element")
                raise
            else:
                self.db.execute("RELEASE element")
            finally:
                self._depth -= 1

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for reads that span several queries."""
        with self._lock:
            if self._depth:
                yield self.db
                return
            self.db.execute("BEGIN")
            self._depth = 1
            try:
                yield self.db
            finally:
                self._depth = 0
                self.db.execute("COMMIT")

    def reset(self) -> None:
        with self.write() as db:
            for table in TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            db.execute("DELETE FROM sqlite_sequence")
            self._seed_sequence()

    def checkpoint(self) -> None:
        """Fold the WAL into the main file: after a bulk load, reads would otherwise
        search a large WAL (outside the memory map) for every page."""
        if self.path != ":memory:":
            with self._lock:
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def take_token(self, key: str, capacity: int, rate: float, now: float) -> tuple[bool, float]:
        """Token bucket shared by every process on this file: (allowed, tokens left)."""
        with self._lock:
            row = self.db.execute(
                _TAKE_QUOTA, {"key": key, "capacity": capacity, "rate": rate, "now": now}
            ).fetchone()
        return bool(row["allowed"]), float(row["tokens"])

    def get_control(self, key: str) -> Any | None:
        with self._lock:
            row = self.db.execute("SELECT value FROM control WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row["value"])

    def set_control(self, key: str, value: Any) -> None:
        with self.write() as db:
            self._put_control(db, key, value)

    def update_control(self, key: str, change: Callable[[Any | None], tuple[Any, Any]]) -> Any:
        """Read, change and write one control value atomically; returns change's result."""
        with self.write() as db:
            row = db.execute("SELECT value FROM control WHERE key = ?", (key,)).fetchone()
            new_value, result = change(None if row is None else json.loads(row["value"]))
            self._put_control(db, key, new_value)
            return result

    @staticmethod
    def _put_control(db: sqlite3.Connection, key: str, value: Any) -> None:
        db.execute(
            "INSERT INTO control (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    def close(self) -> None:
        with self._lock:
            self.db.close()
