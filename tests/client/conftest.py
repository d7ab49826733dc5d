"""A scripted Capillary for client tests: queued answers, recorded requests, fake time."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from customers.capillary import BasicAuth, CapillaryClient, OAuthAuth, RetryPolicy

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "capillary"

TILL = "store.server"
PASSWORD = "server123"
CLIENT_KEY = "key-abc"
CLIENT_SECRET = "s3cr3t-client-secret"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def answer(status: int = 200, body: Any = None, **headers: str) -> httpx.Response:
    """A JSON answer; a `str` body is sent as raw text."""
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers=headers)
    return httpx.Response(status, json=body if body is not None else {}, headers=headers)


class FakeCapillary:
    """Plays queued answers in order, records each request, and can issue OAuth tokens."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.token_answers: list[Answer] = []
        self.requests: list[httpx.Request] = []
        self.tokens_issued = 0

    def queue(self, *answers: Answer) -> FakeCapillary:
        self.answers.extend(answers)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/v3/oauth/token/generate":
            if self.token_answers:
                return self._play(self.token_answers.pop(0), request)
            self.tokens_issued += 1
            token = {"accessToken": f"token-{self.tokens_issued}", "ttlSeconds": 300}
            return answer(200, {"data": token, "errors": None})
        if not self.answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        return self._play(self.answers.pop(0), request)

    @staticmethod
    def _play(next_answer: Answer, request: httpx.Request) -> httpx.Response:
        if isinstance(next_answer, Exception):
            raise next_answer
        if isinstance(next_answer, httpx.Response):
            return next_answer
        return next_answer(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def calls(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


class FakeTime:
    """A clock that only moves when the client sleeps (or a test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def capillary() -> FakeCapillary:
    return FakeCapillary()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


ClientFactory = Callable[..., CapillaryClient]


@pytest.fixture
def make_client(capillary: FakeCapillary, fake_time: FakeTime) -> Iterator[ClientFactory]:
    made: list[CapillaryClient] = []

    def make(
        auth: BasicAuth | OAuthAuth | None = None,
        retry: RetryPolicy | None = None,
        **options: Any,
    ) -> CapillaryClient:
        client = CapillaryClient(
            "https://eu.api.capillarytech.com",
            auth or BasicAuth(TILL, PASSWORD),
            transport=httpx.MockTransport(capillary),
            retry=retry or RetryPolicy(),
            sleep=fake_time.sleep,
            clock=fake_time.clock,
            **options,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: ClientFactory) -> CapillaryClient:
    return make_client()


@pytest.fixture
def oauth_client(make_client: ClientFactory) -> CapillaryClient:
    return make_client(auth=OAuthAuth(CLIENT_KEY, CLIENT_SECRET))
