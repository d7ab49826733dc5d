from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from customers.capillary import InMemoryRateLimiter, RateLimited, SqliteRateLimiter
from customers.capillary.ratelimit import PostgresRateLimiter, RedisRateLimiter

from .conftest import FakeTime

ADD = "POST /v2/customers"
UPDATE = "PUT /v2/customers/{userId}"

Limiter = InMemoryRateLimiter | SqliteRateLimiter | PostgresRateLimiter | RedisRateLimiter
LimiterFactory = Callable[..., Limiter]

# The shared backends run where their store is: PostgreSQL in CI's PostgreSQL run
# (DATABASE_URL), Redis wherever REDIS_URL is set (.ci/run starts one for that run).
DATABASE_URL = os.environ.get("DATABASE_URL", "")
POSTGRES_URL = DATABASE_URL if DATABASE_URL.startswith(("postgres://", "postgresql://")) else ""
REDIS_URL = os.environ.get("REDIS_URL", "")
needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="DATABASE_URL is not PostgreSQL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set")
BACKENDS = [
    "memory",
    "sqlite",
    pytest.param("postgres", marks=needs_postgres),
    pytest.param("redis", marks=needs_redis),
]


def drop_namespace(kind: str, namespace: str) -> None:
    """Remove what a test's shared limiter left in PostgreSQL or Redis."""
    if kind == "postgres":
        import psycopg

        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            tables = connection.execute(
                "SELECT tablename FROM pg_tables WHERE tablename LIKE %s",
                (f"ratelimit___{namespace}_%",),
            ).fetchall()
            for (table,) in tables:
                connection.execute(f'DROP TABLE IF EXISTS "{table}"')
    elif kind == "redis":
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"membercare:rate:{namespace}_*"):
            client.delete(key)
        client.close()


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def shared_limiter(kind: str, namespace: str, limits: dict[str, int], **options: Any) -> Limiter:
    if kind == "postgres":
        return PostgresRateLimiter(POSTGRES_URL, limits, namespace=namespace, **options)
    return RedisRateLimiter(REDIS_URL, limits, namespace=namespace, **options)


@pytest.fixture(params=BACKENDS)
def make_limiter(
    request: pytest.FixtureRequest, tmp_path: Path, fake_time: FakeTime, namespace: str
) -> Iterator[LimiterFactory]:
    made: list[Limiter] = []

    def make(limits: dict[str, int], max_wait: float = 5.0) -> Limiter:
        options: dict[str, Any] = {
            "max_wait": max_wait,
            "clock": fake_time.clock,
            "sleep": fake_time.sleep,
        }
        limiter: Limiter
        if request.param == "memory":
            limiter = InMemoryRateLimiter(limits, **options)
        elif request.param == "sqlite":
            limiter = SqliteRateLimiter(tmp_path / "quota.sqlite3", limits, **options)
        else:
            limiter = shared_limiter(request.param, namespace, limits, **options)
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        if isinstance(limiter, PostgresRateLimiter | RedisRateLimiter):
            limiter.close()
    drop_namespace(request.param, namespace)


def test_it_grants_up_to_the_limit_then_waits_for_the_window_to_slide(
    make_limiter: LimiterFactory, fake_time: FakeTime
) -> None:
    limiter = make_limiter({ADD: 3}, max_wait=60)

    for _ in range(3):
        limiter.acquire(ADD)
        fake_time.now += 10
    limiter.acquire(ADD)

    # pyrate-limiter's buckets count in milliseconds and wait one past the bound.
    assert fake_time.sleeps == [pytest.approx(30.0, abs=0.002)]


def test_it_raises_rate_limited_when_the_wait_would_exceed_the_bound(
    make_limiter: LimiterFactory, fake_time: FakeTime
) -> None:
    limiter = make_limiter({ADD: 2}, max_wait=5)
    limiter.acquire(ADD)
    limiter.acquire(ADD)
    fake_time.now += 50

    with pytest.raises(RateLimited) as caught:
        limiter.acquire(ADD)

    assert caught.value.retry_after == pytest.approx(10.0, abs=0.002)
    assert fake_time.sleeps == []


def test_each_endpoint_has_its_own_window_and_others_share_the_default_limit(
    make_limiter: LimiterFactory,
) -> None:
    limiter = make_limiter({ADD: 1, "default": 2}, max_wait=0)

    limiter.acquire(ADD)
    limiter.acquire(UPDATE)
    limiter.acquire(UPDATE)
    limiter.acquire("GET /v2/customers/lookup")
    for key in (ADD, UPDATE):
        with pytest.raises(RateLimited):
            limiter.acquire(key)


def test_endpoints_without_a_limit_or_default_are_not_limited(
    make_limiter: LimiterFactory,
) -> None:
    limiter = make_limiter({ADD: 1}, max_wait=0)

    for _ in range(100):
        limiter.acquire(UPDATE)


def test_it_refuses_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        InMemoryRateLimiter({ADD: 0})


def test_two_limiters_on_one_file_share_the_quota(tmp_path: Path, fake_time: FakeTime) -> None:
    web, worker = (
        SqliteRateLimiter(
            tmp_path / "quota.sqlite3",
            {ADD: 3},
            max_wait=0,
            clock=fake_time.clock,
            sleep=fake_time.sleep,
        )
        for _ in range(2)
    )

    web.acquire(ADD)
    worker.acquire(ADD)
    web.acquire(ADD)

    with pytest.raises(RateLimited):
        worker.acquire(ADD)


GRAB_SLOTS = textwrap.dedent(
    """
    import sys
    from customers.capillary import RateLimited, SqliteRateLimiter
    from customers.capillary.ratelimit import PostgresRateLimiter, RedisRateLimiter

    kind, where, namespace = sys.argv[1:4]
    limits = {"POST /v2/customers": 30}
    if kind == "sqlite":
        limiter = SqliteRateLimiter(where, limits, window=3600, max_wait=0)
    else:
        shared = PostgresRateLimiter if kind == "postgres" else RedisRateLimiter
        # A few seconds of patience: a contended table lock is retried, a full window is not.
        limiter = shared(where, limits, window=3600, max_wait=2, namespace=namespace)
    granted = 0
    for _ in range(40):
        try:
            limiter.acquire("POST /v2/customers")
            granted += 1
        except RateLimited:
            pass
    print(granted)
    """
)


@pytest.mark.parametrize(
    "kind",
    [
        "sqlite",
        pytest.param("postgres", marks=needs_postgres),
        pytest.param("redis", marks=needs_redis),
    ],
)
def test_processes_sharing_a_limiter_stay_under_the_quota(
    kind: str, tmp_path: Path, namespace: str
) -> None:
    where = {"sqlite": str(tmp_path / "quota.sqlite3"), "postgres": POSTGRES_URL}.get(
        kind, REDIS_URL
    )
    if kind == "sqlite":
        SqliteRateLimiter(where, {})
    try:
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", GRAB_SLOTS, kind, where, namespace],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        granted = [int(worker.communicate(timeout=60)[0]) for worker in workers]
    finally:
        drop_namespace(kind, namespace)

    assert sum(granted) == 30
    assert all(worker.returncode == 0 for worker in workers)


def test_a_margin_lengthens_the_window_but_not_the_quoted_one(fake_time: FakeTime) -> None:
    limiter = InMemoryRateLimiter(
        {ADD: 1}, max_wait=0, margin=0.5, clock=fake_time.clock, sleep=fake_time.sleep
    )
    limiter.acquire(ADD)
    fake_time.now += 60

    with pytest.raises(RateLimited, match=r"1 per 60s") as caught:
        limiter.acquire(ADD)

    assert caught.value.retry_after == pytest.approx(0.5)


@pytest.mark.parametrize("kind", ["postgres", "redis"])
def test_a_shared_limiter_refuses_a_bad_namespace(kind: str) -> None:
    with pytest.raises(ValueError, match="namespace"):
        PostgresRateLimiter("", {}, namespace="Bad Name") if kind == "postgres" else (
            RedisRateLimiter("redis://127.0.0.1:1", {}, namespace="x" * 13)
        )


@pytest.mark.parametrize(
    "kind",
    [pytest.param("postgres", marks=needs_postgres), pytest.param("redis", marks=needs_redis)],
)
def test_threads_of_two_hosts_on_a_shared_store_never_exceed_the_quota(
    kind: str, namespace: str
) -> None:
    # Two limiters with their own connections stand for two hosts; their threads
    # race for 25 slots of a window far longer than the test.
    hosts = [shared_limiter(kind, namespace, {ADD: 25}, window=3600, max_wait=0) for _ in "ab"]
    granted: list[int] = []
    lock = threading.Lock()

    def grab(limiter: Limiter) -> None:
        mine = 0
        for _ in range(10):
            try:
                limiter.acquire(ADD)
                mine += 1
            except RateLimited:
                pass
        with lock:
            granted.append(mine)

    # max_wait=0 refuses a contended lock as well as a full window, so every
    # thread keeps asking until the window is surely full.
    threads = [threading.Thread(target=grab, args=(hosts[n % 2],)) for n in range(6)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        while True:
            try:
                hosts[0].acquire(ADD)
                granted.append(1)
            except RateLimited as refused:
                if refused.retry_after and refused.retry_after > 1:
                    break
        assert sum(granted) == 25
    finally:
        for host in hosts:
            host.close()
        drop_namespace(kind, namespace)


@needs_postgres
def test_the_postgres_limiter_counts_by_the_database_clock(namespace: str) -> None:
    limiter = PostgresRateLimiter(POSTGRES_URL, {ADD: 1}, namespace=namespace, max_wait=0)
    try:
        limiter.acquire(ADD)
        with pytest.raises(RateLimited) as caught:
            limiter.acquire(ADD)
        assert 59 < (caught.value.retry_after or 0) <= 60.01
    finally:
        limiter.close()
        drop_namespace("postgres", namespace)
