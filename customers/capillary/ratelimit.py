"""Client-side limits that keep the console under Capillary's per-org, per-API quotas.

Limits are requests per window (a minute by default) per endpoint key, the
templated method and path the client uses, e.g.
`{"POST /v2/customers": 100, "PUT /v2/customers/{userId}": 50, "default": 300}`.
Keys without an entry get the `"default"` limit, each in a window of its own; with
no default they are not limited. `customers.capillary.client.ENDPOINT_KEYS`
lists every key.

Both limiters keep a sliding log of grants, so no window of the given length
ever holds more than the limit (a token bucket could let through twice that
across a refill). `acquire` waits up to `max_wait` seconds for a free slot and
otherwise raises `RateLimited` with the time to the next free slot.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

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
    ) -> None:
        for key, limit in limits.items():
            if limit < 1:
                raise ValueError(f"rate limit for {key!r} must be at least 1, not {limit}")
        self._limits = dict(limits)
        self._window = window
        self._max_wait = max_wait
        self._clock = clock
        self._sleep = sleep

    def acquire(self, endpoint_key: str) -> None:
        limit = self._limits.get(endpoint_key, self._limits.get("default"))
        if limit is None:
            return
        deadline = self._clock() + self._max_wait
        while True:
            wait = self._try_grant(endpoint_key, limit)
            if wait is None:
                return
            if self._clock() + wait > deadline:
                raise RateLimited(
                    f"local quota for {endpoint_key} ({limit} per {self._window:g}s) is used up",
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
    ) -> None:
        super().__init__(limits, window=window, max_wait=max_wait, clock=clock, sleep=sleep)
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
    ) -> None:
        super().__init__(limits, window=window, max_wait=max_wait, clock=clock, sleep=sleep)
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
