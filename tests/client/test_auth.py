from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from customers.capillary import (
    AuthFailed,
    BasicAuth,
    CapillaryClient,
    OAuthAuth,
)
from customers.capillary.schemas import CustomerLookup

from .conftest import (
    CLIENT_KEY,
    CLIENT_SECRET,
    ClientFactory,
    FakeCapillary,
    FakeTime,
    answer,
    fixture,
)

BY_MOBILE = CustomerLookup(
    source="INSTORE", identifier_name="mobile", identifier_value="919900000001"
)
FOUND = {"entity": 306, "warnings": []}
TOKEN = "/v3/oauth/token/generate"
LOOKUP = "/v2/customers/lookup"


def test_basic_credentials_match_the_worked_example() -> None:
    auth = BasicAuth("store.server", "server123")

    assert auth.headers() == {
        "Authorization": "Basic c3RvcmUuc2VydmVyOjhhMTZhNmI3MDUwNWViMWYxZmY3Y2RjMGNkNTU1OWE3"
    }
    assert "8a16a6b70505eb1f1ff7cdc0cd5559a7" in auth.secrets()


def test_it_fetches_a_token_once_and_sends_it_as_documented(
    oauth_client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(answer(200, FOUND), answer(200, FOUND))

    oauth_client.lookup_customer_id(BY_MOBILE)
    oauth_client.lookup_customer_id(BY_MOBILE)

    assert [r.url.path for r in capillary.requests] == [TOKEN, LOOKUP, LOOKUP]
    token_request = capillary.requests[0]
    assert token_request.read() == b'{"key":"key-abc","secret":"s3cr3t-client-secret"}'
    assert "X-CAP-API-OAUTH-TOKEN" not in token_request.headers
    assert capillary.last.headers["X-CAP-API-OAUTH-TOKEN"] == "token-1"
    assert "Authorization" not in capillary.last.headers


def test_it_renews_the_token_shortly_before_it_expires(
    oauth_client: CapillaryClient, capillary: FakeCapillary, fake_time: FakeTime
) -> None:
    capillary.queue(*[answer(200, FOUND)] * 3)

    oauth_client.lookup_customer_id(BY_MOBILE)
    fake_time.now += 239
    oauth_client.lookup_customer_id(BY_MOBILE)
    fake_time.now += 1
    oauth_client.lookup_customer_id(BY_MOBILE)

    assert capillary.tokens_issued == 2
    assert capillary.last.headers["X-CAP-API-OAUTH-TOKEN"] == "token-2"


@pytest.mark.parametrize("status", [401, 498])
def test_a_refused_token_is_replaced_once_and_the_call_repeated(
    oauth_client: CapillaryClient, capillary: FakeCapillary, status: int
) -> None:
    capillary.queue(answer(status, {"message": "Token expired"}), answer(200, FOUND))

    found = oauth_client.lookup_customer_id(BY_MOBILE)

    assert found.entity == 306
    assert [r.url.path for r in capillary.requests] == [TOKEN, LOOKUP, TOKEN, LOOKUP]
    assert capillary.last.headers["X-CAP-API-OAUTH-TOKEN"] == "token-2"
    assert found.meta.attempts == 2


def test_a_write_is_repeated_after_a_refused_token_because_it_was_not_processed(
    oauth_client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(answer(498, "Token expired"), answer(200, {"createdId": 1, "warnings": []}))

    oauth_client.add_customer(fixture("ref_e1_minimal_request.json"))

    assert [r.url.path for r in capillary.requests] == [
        TOKEN,
        "/v2/customers",
        TOKEN,
        "/v2/customers",
    ]


@pytest.mark.parametrize("statuses", [(401, 401), (498, 401), (401, 498)])
def test_a_token_refused_twice_fails_auth_after_exactly_one_refresh(
    oauth_client: CapillaryClient, capillary: FakeCapillary, statuses: tuple[int, int]
) -> None:
    capillary.queue(*(answer(status, "Unauthorized") for status in statuses))

    with pytest.raises(AuthFailed):
        oauth_client.lookup_customer_id(BY_MOBILE)

    assert capillary.tokens_issued == 2
    assert [r.url.path for r in capillary.requests] == [TOKEN, LOOKUP, TOKEN, LOOKUP]


def test_a_bad_client_key_fails_auth_before_any_customer_call(
    oauth_client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.token_answers.append(answer(200, fixture("ref_e12_bad_key_response.json")))

    with pytest.raises(AuthFailed, match="320001") as caught:
        oauth_client.lookup_customer_id(BY_MOBILE)

    assert [r.url.path for r in capillary.requests] == [TOKEN]
    assert caught.value.meta is not None
    assert caught.value.meta.endpoint == "GET /v2/customers/lookup"


def test_generating_a_token_with_a_bad_key_fails_auth(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.token_answers.append(answer(200, fixture("ref_e12_bad_key_response.json")))

    with pytest.raises(AuthFailed) as caught:
        client.generate_token("wrong", "wrong-secret")

    assert caught.value.meta is not None
    assert caught.value.meta.response_body == fixture("ref_e12_bad_key_response.json")


def test_token_generation_is_retried_like_a_read(
    oauth_client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.token_answers.extend([httpx.ReadTimeout("slow"), answer(503, "busy")])
    capillary.queue(answer(200, FOUND))

    oauth_client.lookup_customer_id(BY_MOBILE)

    assert [r.url.path for r in capillary.requests] == [TOKEN, TOKEN, TOKEN, LOOKUP]


def test_an_answer_without_a_token_fails_auth(
    oauth_client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.token_answers.append(answer(200, {"data": None, "errors": None}))

    with pytest.raises(AuthFailed, match="no token"):
        oauth_client.lookup_customer_id(BY_MOBILE)


def test_threads_share_one_token_fetch(
    make_client: ClientFactory, capillary: FakeCapillary
) -> None:
    inside_token_fetch = threading.Event()
    lock = threading.Lock()
    fetches = 0

    def serve(request: httpx.Request) -> httpx.Response:
        nonlocal fetches
        if request.url.path == TOKEN:
            with lock:
                fetches += 1
            # A second thread entering here while the first waits would mean
            # the cache is not single-flight.
            inside_token_fetch.wait(0.05)
            return answer(200, {"data": {"accessToken": "t", "ttlSeconds": 300}})
        return answer(200, FOUND)

    client = CapillaryClient(
        "https://eu.api.capillarytech.com",
        OAuthAuth(CLIENT_KEY, CLIENT_SECRET),
        transport=httpx.MockTransport(serve),
    )
    start = threading.Barrier(8)

    def call(_: int) -> int:
        start.wait()
        return client.lookup_customer_id(BY_MOBILE).entity

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(call, range(8))) == [306] * 8
    client.close()

    assert fetches == 1


def test_a_stale_refusal_does_not_drop_a_newer_token() -> None:
    auth = OAuthAuth(CLIENT_KEY, CLIENT_SECRET)
    tokens = iter(["first", "second"])

    def fetch(key: str, secret: str) -> tuple[str, int]:
        return next(tokens), 300

    first = auth.token(fetch, lambda: 0.0)
    auth.invalidate(first)
    second = auth.token(fetch, lambda: 0.0)
    auth.invalidate(first)

    assert auth.token(fetch, lambda: 0.0) == second == "second"
