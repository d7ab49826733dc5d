from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from customers.capillary import InMemoryRateLimiter, RateLimited, SqliteRateLimiter

from .conftest import FakeTime

ADD = "POST /v2/customers"
UPDATE = "PUT /v2/customers/{userId}"

Limiter = InMemoryRateLimiter | SqliteRateLimiter
LimiterFactory = Callable[..., Limiter]


@pytest.fixture(params=["memory", "sqlite"])
def make_limiter(
    request: pytest.FixtureRequest, tmp_path: Path, fake_time: FakeTime
) -> LimiterFactory:
    def make(limits: dict[str, int], max_wait: float = 5.0) -> Limiter:
        if request.param == "memory":
            return InMemoryRateLimiter(
                limits, max_wait=max_wait, clock=fake_time.clock, sleep=fake_time.sleep
            )
        return SqliteRateLimiter(
            tmp_path / "quota.sqlite3",
            limits,
            max_wait=max_wait,
            clock=fake_time.clock,
            sleep=fake_time.sleep,
        )

    return make


def test_it_grants_up_to_the_limit_then_waits_for_the_window_to_slide(
    make_limiter: LimiterFactory, fake_time: FakeTime
) -> None:
    limiter = make_limiter({ADD: 3}, max_wait=60)

    for _ in range(3):
        limiter.acquire(ADD)
        fake_time.now += 10
    limiter.acquire(ADD)

    assert fake_time.sleeps == [30.0]


def test_it_raises_rate_limited_when_the_wait_would_exceed_the_bound(
    make_limiter: LimiterFactory, fake_time: FakeTime
) -> None:
    limiter = make_limiter({ADD: 2}, max_wait=5)
    limiter.acquire(ADD)
    limiter.acquire(ADD)
    fake_time.now += 50

    with pytest.raises(RateLimited) as caught:
        limiter.acquire(ADD)

    assert caught.value.retry_after == 10.0
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

    limiter = SqliteRateLimiter(sys.argv[1], {"POST /v2/customers": 30}, window=3600, max_wait=0)
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


def test_processes_sharing_a_sqlite_limiter_stay_under_the_quota(tmp_path: Path) -> None:
    path = str(tmp_path / "quota.sqlite3")
    SqliteRateLimiter(path, {})
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", GRAB_SLOTS, path], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    granted = [int(worker.communicate(timeout=30)[0]) for worker in workers]

    assert sum(granted) == 30
    assert all(worker.returncode == 0 for worker in workers)
