"""Client-side limits that keep the console under Capillary's per-org, per-API quotas.

Limits are requests per window (a minute by default) per endpoint key, the
templated method and path the client uses, e.g.
`{"POST /v2/customers": 100, "PUT /v2/customers/{userId}": 50, "default": 300}`.
Keys without an entry get the `"default"` limit, each in a window of its own; with
no default they are not limited. `customers.capillary.client.ENDPOINT_KEYS`
lists every key.

Every limiter keeps a sliding log of grants, so no window of the given length
ever holds more than the limit (a token bucket could let through twice that
across a refill). `acquire` waits up to `max_wait` seconds for a free slot and
otherwise raises `RateLimited` with the time to the next free slot.

Where the log lives decides who shares the quota:

- `InMemoryRateLimiter`: one process (tests, scripts).
- `SqliteRateLimiter`: every process on one host, through a SQLite file.
- `PostgresRateLimiter`, `RedisRateLimiter`: every process on every host, through
  pyrate-limiter's PostgreSQL and Redis buckets (its sliding-window log, checked
  and recorded atomically: a table lock in PostgreSQL, a Lua script in Redis).
  Their clock is the store's own, so hosts need not agree on the time.

`margin` lengthens the window a little: a grant is recorded just before the
request leaves, and Capillary counts when it arrives, so a late arrival could
otherwise put one request too many into Capillary's minute.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from .errors import RateLimited


class RateLimiter(Protocol):
    def acquire(self, endpoint_key: str) -> None:
        """Return once a request to `endpoint_key` may be sent, or raise `RateLimited`."""


class _SlidingWindowLimiter(ABC):
    def __init__(
        self,
        limits: Mapping[str, int],
        *,
        window: float,
        max_wait: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        margin: float = 0.0,
    ) -> None:
        for key, limit in limits.items():
            if limit < 1:
                raise ValueError(f"rate limit for {key!r} must be at least 1, not {limit}")
        if margin < 0:
            raise ValueError(f"rate limit margin must not be negative, not {margin}")
        self._limits = dict(limits)
        self._quoted_window = window
        self._window = window + margin
        self._max_wait = max_wait
        self._clock = clock
        # How long acquire has waited; the grant clock may be a remote store's.
        self._elapsed_clock = clock
        self._sleep = sleep

    def acquire(self, endpoint_key: str) -> None:
        limit = self._limits.get(endpoint_key, self._limits.get("default"))
        if limit is None:
            return
        deadline = self._elapsed_clock() + self._max_wait
        while True:
            wait = self._try_grant(endpoint_key, limit)
            if wait is None:
                return
            if self._elapsed_clock() + wait > deadline:
                raise RateLimited(
                    f"local quota for {endpoint_key} "
                    f"({limit} per {self._quoted_window:g}s) is used up",
                    retry_after=wait,
                )
            self._sleep(wait)

    @abstractmethod
    def _try_grant(self, key: str, limit: int) -> float | None:
        """Record a grant and return None, or return the seconds until one is possible."""


class InMemoryRateLimiter(_SlidingWindowLimiter):
    """For one process (tests, scripts); threads share it."""

    def __init__(
        self,
        limits: Mapping[str, int],
        *,
        window: float = 60.0,
        max_wait: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = 0.0,
    ) -> None:
        super().__init__(
            limits, window=window, max_wait=max_wait, clock=clock, sleep=sleep, margin=margin
        )
        self._lock = threading.Lock()
        self._grants: dict[str, deque[float]] = {}

    def _try_grant(self, key: str, limit: int) -> float | None:
        with self._lock:
            now = self._clock()
            grants = self._grants.setdefault(key, deque())
            while grants and grants[0] <= now - self._window:
                grants.popleft()
            if len(grants) < limit:
                grants.append(now)
                return None
            return grants[0] + self._window - now


class SqliteRateLimiter(_SlidingWindowLimiter):
    """Shared by every process on the host through one SQLite file.

    Each decision runs in a `BEGIN IMMEDIATE` transaction, which SQLite
    serialises across processes, so web and task workers draw on one quota. The
    clock must be the same for all of them: wall time by default.
    """

    def __init__(
        self,
        path: str | Path,
        limits: Mapping[str, int],
        *,
        window: float = 60.0,
        max_wait: float = 5.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = 0.0,
    ) -> None:
        super().__init__(
            limits, window=window, max_wait=max_wait, clock=clock, sleep=sleep, margin=margin
        )
        self._path = str(path)
        self._local = threading.local()
        connection = self._connection()
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS capillary_rate_grants"
            " (endpoint TEXT NOT NULL, granted_at REAL NOT NULL)"
        )
        connection.execute(
            "CREATE INDEX IF NOT EXISTS capillary_rate_grants_by_endpoint"
            " ON capillary_rate_grants (endpoint, granted_at)"
        )

    def _connection(self) -> sqlite3.Connection:
        # One connection per thread and per process: a connection inherited
        # through fork must not be used by the child.
        pid = os.getpid()
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None or getattr(self._local, "pid", None) != pid:
            connection = sqlite3.connect(self._path, timeout=30.0, isolation_level=None)
            # Grants are short-lived bookkeeping: WAL without an fsync per decision
            # keeps a grant well under a millisecond; a crash loses only grants.
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
            self._local.pid = pid
        return connection

    def _try_grant(self, key: str, limit: int) -> float | None:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            now = self._clock()
            connection.execute(
                "DELETE FROM capillary_rate_grants WHERE endpoint = ? AND granted_at <= ?",
                (key, now - self._window),
            )
            count, oldest = connection.execute(
                "SELECT COUNT(*), MIN(granted_at) FROM capillary_rate_grants WHERE endpoint = ?",
                (key,),
            ).fetchone()
            if count < limit:
                connection.execute(
                    "INSERT INTO capillary_rate_grants (endpoint, granted_at) VALUES (?, ?)",
                    (key, now),
                )
                wait = None
            else:
                wait = float(oldest) + self._window - now
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return wait


# A grant that lost the race for a store's lock retries after a few milliseconds.
CONTENDED_WAIT = (0.002, 0.02)
# Expired grants are deleted at most this often per endpoint and process.
LEAK_EVERY_SECONDS = 60.0


def _bucket_name(namespace: str, key: str) -> str:
    """A short, stable store name for an endpoint key (any characters, any length)."""
    slug = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")[:24]
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    return f"{namespace}_{slug}_{digest}"


class _PyrateLimiter(_SlidingWindowLimiter):
    """Grants through a pyrate-limiter bucket per endpoint key, built per process.

    pyrate-limiter's own `Limiter` would wait too, but without our bound on the
    wait or our `RateLimited`; a bucket's `put_decision` is the atomic
    check-and-record with the retry-after, which is all this needs.
    """

    def __init__(
        self,
        limits: Mapping[str, int],
        *,
        window: float,
        max_wait: float,
        clock: Callable[[], float] | None,
        sleep: Callable[[float], None],
        margin: float,
        namespace: str,
    ) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,11}", namespace):
            raise ValueError(
                "rate limit namespace must be 1-12 lower-case letters, digits or _, "
                f"not {namespace!r}"
            )
        self._namespace = namespace
        super().__init__(
            limits,
            window=window,
            max_wait=max_wait,
            clock=clock or self._store_clock,
            sleep=sleep,
            margin=margin,
        )
        if clock is None:
            self._elapsed_clock = time.monotonic
        self._buckets_lock = threading.Lock()
        self._buckets: dict[str, tuple[Any, threading.Lock]] = {}
        self._pid = os.getpid()
        self._leaked_at: dict[str, float] = {}

    @abstractmethod
    def _store_clock(self) -> float:
        """Seconds since the epoch by the store's own clock."""

    @abstractmethod
    def _make_bucket(self, key: str, rates: list[Any]) -> Any:
        """A pyrate-limiter bucket for `key`, in this process."""

    def _bucket(self, key: str, limit: int) -> tuple[Any, threading.Lock]:
        from pyrate_limiter import Rate

        with self._buckets_lock:
            if self._pid != os.getpid():
                # Connections inherited through fork belong to the parent.
                self._buckets.clear()
                self._leaked_at.clear()
                self._after_fork()
                self._pid = os.getpid()
            entry = self._buckets.get(key)
            if entry is None:
                bucket = self._make_bucket(key, [Rate(limit, round(self._window * 1000))])
                entry = self._buckets[key] = (bucket, threading.Lock())
            return entry

    def _after_fork(self) -> None:
        """Forget connections opened by the parent process."""

    def _try_grant(self, key: str, limit: int) -> float | None:
        from pyrate_limiter import RateItem

        bucket, lock = self._bucket(key, limit)
        # A bucket keeps its last verdict on itself (put_decision reads it back),
        # so this process's threads take turns; other processes wait on the store.
        with lock:
            now = self._clock()
            now_ms = round(now * 1000)
            decision = bucket.put_decision(RateItem(key, now_ms))
            if decision.allowed and now - self._leaked_at.get(key, 0.0) > LEAK_EVERY_SECONDS:
                self._leaked_at[key] = now
                bucket.leak(now_ms)
        if decision.allowed:
            return None
        if decision.retry_after_ms is None:
            # Another process held the bucket's lock: not a full window, try again soon.
            return random.uniform(*CONTENDED_WAIT)
        return max(float(decision.retry_after_ms) / 1000, 0.001)


class PostgresRateLimiter(_PyrateLimiter):
    """Shared by every process on every host through one PostgreSQL database.

    pyrate-limiter's `PostgresBucket`: one table of grants per endpoint key
    (`ratelimit___<namespace>_...`, created on first use), checked and written
    under `LOCK TABLE ... EXCLUSIVE NOWAIT` in one transaction; a process that
    finds the lock taken retries after a few milliseconds. The clock is the
    database's `clock_timestamp()`.
    """

    def __init__(
        self,
        conninfo: str,
        limits: Mapping[str, int],
        *,
        window: float = 60.0,
        max_wait: float = 5.0,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = 0.0,
        namespace: str = "capillary",
        pool_size: int = 4,
    ) -> None:
        self._conninfo = conninfo
        self._pool_size = pool_size
        self._pool: Any = None
        self._pool_lock = threading.Lock()
        super().__init__(
            limits,
            window=window,
            max_wait=max_wait,
            clock=clock,
            sleep=sleep,
            margin=margin,
            namespace=namespace,
        )

    def _connections(self) -> Any:
        from psycopg_pool import ConnectionPool

        with self._pool_lock:
            if self._pool is None:
                self._pool = ConnectionPool(
                    self._conninfo,
                    min_size=1,
                    max_size=self._pool_size,
                    # Grant timestamps are stored as TIMESTAMP: one time zone for all.
                    kwargs={"options": "-c timezone=UTC", "application_name": "membercare-limiter"},
                    open=True,
                    # A database that cannot be reached fails the call, not hangs it.
                    timeout=10.0,
                )
            return self._pool

    def _after_fork(self) -> None:
        with self._pool_lock:
            self._pool = None

    def _store_clock(self) -> float:
        with self._connections().connection() as connection:
            row = connection.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()
        return float(row[0])

    def _make_bucket(self, key: str, rates: list[Any]) -> Any:
        from pyrate_limiter import PostgresBucket

        return PostgresBucket(self._connections(), _bucket_name(self._namespace, key), rates)

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.close()
            self._pool = None


class RedisRateLimiter(_PyrateLimiter):
    """Shared by every process on every host through one Redis.

    pyrate-limiter's `RedisBucket`: a sorted set of grants per endpoint key
    (`membercare:rate:<namespace>_...`), checked and added by one Lua script, so Redis
    serialises the decisions. The clock is Redis's `TIME`.
    """

    def __init__(
        self,
        url: str,
        limits: Mapping[str, int],
        *,
        window: float = 60.0,
        max_wait: float = 5.0,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = 0.0,
        namespace: str = "capillary",
    ) -> None:
        import redis

        # redis-py's pool notices a fork and opens new connections in the child.
        self._redis = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        super().__init__(
            limits,
            window=window,
            max_wait=max_wait,
            clock=clock,
            sleep=sleep,
            margin=margin,
            namespace=namespace,
        )

    def _store_clock(self) -> float:
        seconds, microseconds = self._redis.time()
        return float(seconds) + float(microseconds) / 1_000_000

    def _make_bucket(self, key: str, rates: list[Any]) -> Any:
        from pyrate_limiter import RedisBucket

        return RedisBucket.init(
            rates, self._redis, f"membercare:rate:{_bucket_name(self._namespace, key)}"
        )

    def close(self) -> None:
        self._redis.close()
