"""The emulator on an ephemeral 127.0.0.1 port, spoken to with plain httpx.

``api`` serves the shipped org; ``make_api(changes)`` serves a variant of it
(``changes`` is deep-merged into the default org JSON). Time and sleep are fake,
so token expiry, rate limits and latency faults run without waiting.
"""

import base64
import hashlib
import random
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from customers.capillary_emulator import Emulator, OrgConfig, serve
from customers.capillary_emulator.org_file import default_org_data, parse_org

TILL, TILL_PASSWORD = "membercare.till", "membercare123"
START = 1_800_000_000.0
# Built once: httpx loads the CA bundle for every client otherwise (~0.2 s each).
TLS = ssl.create_default_context()


def basic(till: str = TILL, password: str = TILL_PASSWORD) -> str:
    digest = hashlib.md5(password.encode(), usedforsecurity=False).hexdigest()
    return "Basic " + base64.b64encode(f"{till}:{digest}".encode()).decode()


@dataclass
class FakeClock:
    now: float = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeSleep:
    calls: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def org_with(changes: dict[str, Any] | None = None) -> OrgConfig:
    return parse_org(deep_merge(default_org_data(), changes or {}))


def mobile(n: int, country: str = "91") -> str:
    """A valid mobile for the shipped org's rules, distinct per n."""
    national = {"91": "9", "44": "7", "1": "2", "971": "5"}[country]
    length = 9 if country == "971" else 10
    return country + national + str(n).zfill(length - 1)


def member(
    n: int = 1,
    *,
    source: str = "INSTORE",
    account: str | None = None,
    identifiers: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An E1 body for member number n (mobile + email), with top-level extras."""
    profile: dict[str, Any] = {
        "firstName": f"First{n}",
        "lastName": f"Last{n}",
        "identifiers": identifiers
        if identifiers is not None
        else [
            {"type": "mobile", "value": mobile(n)},
            {"type": "email", "value": f"member{n}@example.com"},
        ],
        "source": source,
    }
    if account is not None:
        profile["accountId"] = account
    profile.update(extra.pop("profile", {}))
    return {"profiles": [profile], **extra}


@dataclass
class Api:
    emulator: Emulator
    http: httpx.Client
    clock: FakeClock
    sleep: FakeSleep

    def add(self, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
        return self.http.post("/v2/customers", json=body, **kwargs)

    def add_ok(self, body: dict[str, Any], **kwargs: Any) -> int:
        response = self.add(body, **kwargs)
        assert response.status_code == 200, response.text
        return int(response.json()["createdId"])

    def details(
        self, value: str, name: str = "mobile", source: str = "INSTORE", **params: Any
    ) -> httpx.Response:
        query = {"source": source, "identifierName": name, "identifierValue": value, **params}
        return self.http.get("/v2/customers/lookup/customerDetails", params=query)

    def get(self, customer_id: int, source: str = "ALL", **params: Any) -> httpx.Response:
        return self.http.get(f"/v2/customers/{customer_id}", params={"source": source, **params})


def codes_of(response: httpx.Response, key: str = "errors") -> list[int]:
    return [entry["code"] for entry in response.json().get(key) or []]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_api(clock: FakeClock) -> Iterator[Callable[..., Api]]:
    started: list[tuple[Any, Emulator, httpx.Client]] = []

    def start(
        changes: dict[str, Any] | None = None, *, state: str = ":memory:", auth: str | None = None
    ) -> Api:
        sleep = FakeSleep()
        emulator = Emulator(
            state, org_with(changes), clock=clock, sleep=sleep, rng=random.Random(7)
        )
        server = serve(emulator, "127.0.0.1", 0)
        headers = {"Authorization": auth or basic()}
        client = httpx.Client(base_url=server.base_url, headers=headers, timeout=5, verify=TLS)
        started.append((server, emulator, client))
        return Api(emulator, client, clock, sleep)

    yield start
    for server, emulator, client in started:
        client.close()
        server.shutdown()
        emulator.close()


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()
