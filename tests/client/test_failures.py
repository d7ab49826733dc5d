"""How every kind of failure is retried (or not) and which error of the tree it becomes."""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any

import httpx
import pytest

from customers.capillary import (
    AuthFailed,
    CapillaryClient,
    InMemoryRateLimiter,
    IntegrationError,
    NotFound,
    RateLimited,
    Rejected,
    RetryPolicy,
    Unavailable,
)
from customers.capillary.schemas import CustomerLookup

from .conftest import ClientFactory, FakeCapillary, FakeTime, answer, fixture

BY_MOBILE = CustomerLookup(
    source="INSTORE", identifier_name="mobile", identifier_value="919900000001"
)
FOUND = {"entity": 306, "warnings": []}
WRITE_OK = {"createdId": 5, "warnings": [], "sideEffects": []}
HTML_PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def read(client: CapillaryClient) -> Any:
    return client.lookup_customer_id(BY_MOBILE)


def write(client: CapillaryClient) -> Any:
    return client.update_customer(5, {"extendedFields": {"city": "Pune"}}, source="INSTORE")


def add(client: CapillaryClient) -> Any:
    return client.add_customer(fixture("ref_e1_minimal_request.json"))


NOT_SENT = [
    httpx.ConnectError("connection refused"),
    httpx.ConnectTimeout("connect timed out"),
    httpx.PoolTimeout("no free connection"),
]
MAYBE_SENT = [
    httpx.ReadTimeout("read timed out"),
    httpx.WriteTimeout("write timed out"),
    httpx.ReadError("[Errno 104] Connection reset by peer"),
    httpx.RemoteProtocolError("Server disconnected without sending a response."),
]


@pytest.mark.parametrize("failure", NOT_SENT + MAYBE_SENT, ids=type)
def test_it_retries_a_read_after_a_transport_failure(
    client: CapillaryClient, capillary: FakeCapillary, fake_time: FakeTime, failure: Exception
) -> None:
    capillary.queue(failure, answer(200, FOUND))

    found = read(client)

    assert found.entity == 306
    assert found.meta.attempts == 2
    assert len(fake_time.sleeps) == 1
    assert 0 <= fake_time.sleeps[0] <= 0.2


@pytest.mark.parametrize("failure", NOT_SENT, ids=type)
def test_it_resends_a_write_that_surely_never_left(
    client: CapillaryClient, capillary: FakeCapillary, failure: Exception
) -> None:
    capillary.queue(failure, answer(200, WRITE_OK))

    assert add(client).created_id == 5
    assert capillary.calls() == ["POST /v2/customers"] * 2


@pytest.mark.parametrize("failure", MAYBE_SENT, ids=type)
@pytest.mark.parametrize("call", [write, add], ids=["update", "add"])
def test_it_never_resends_a_write_that_may_have_arrived(
    client: CapillaryClient,
    capillary: FakeCapillary,
    fake_time: FakeTime,
    failure: Exception,
    call: Any,
) -> None:
    capillary.queue(failure)

    with pytest.raises(Unavailable) as caught:
        call(client)

    assert caught.value.outcome_unknown is True
    assert len(capillary.requests) == 1
    assert fake_time.sleeps == []
    assert caught.value.meta is not None
    assert (caught.value.meta.attempts, caught.value.meta.status) == (1, None)


def test_what_it_reports_is_the_last_attempt_only(
    make_client: ClientFactory, capillary: FakeCapillary
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=2))
    capillary.queue(answer(502, HTML_PAGE, **{"X-Cap-Requestid": "r-1"}), httpx.ReadTimeout("slow"))

    with pytest.raises(Unavailable) as caught:
        read(client)

    assert caught.value.meta is not None
    assert (caught.value.meta.status, caught.value.meta.request_id) == (None, None)
    assert caught.value.meta.attempts == 2


def test_it_gives_up_after_the_attempts_allowed(
    client: CapillaryClient, capillary: FakeCapillary, fake_time: FakeTime
) -> None:
    capillary.queue(*[httpx.ConnectError("refused")] * 4)

    with pytest.raises(Unavailable) as caught:
        add(client)

    assert caught.value.outcome_unknown is False
    assert len(capillary.requests) == 4
    assert len(fake_time.sleeps) == 3
    assert all(0 <= s <= c for s, c in zip(fake_time.sleeps, [0.2, 0.4, 0.8], strict=True))
    assert caught.value.meta is not None
    assert caught.value.meta.attempts == 4


def test_it_stays_within_the_total_time_budget(
    make_client: ClientFactory, capillary: FakeCapillary, fake_time: FakeTime
) -> None:
    client = make_client(
        retry=RetryPolicy(max_attempts=50, base_delay=1.0, max_delay=1.0, total_budget=3.0)
    )
    capillary.queue(*[answer(429, {}, **{"Retry-After": "1"})] * 50)

    with pytest.raises(RateLimited):
        read(client)

    assert sum(fake_time.sleeps) <= 3.0
    assert len(capillary.requests) == 4


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_it_retries_a_read_after_a_server_error(
    client: CapillaryClient, capillary: FakeCapillary, status: int
) -> None:
    capillary.queue(answer(status, HTML_PAGE), answer(200, FOUND))

    assert read(client).entity == 306


def test_a_server_error_that_persists_is_unavailable_with_what_happened(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(*[answer(502, HTML_PAGE, **{"X-Cap-Requestid": "r-502"})] * 4)

    with pytest.raises(Unavailable) as caught:
        read(client)

    assert caught.value.outcome_unknown is False
    meta = caught.value.meta
    assert meta is not None
    assert (meta.status, meta.attempts, meta.request_id) == (502, 4, "r-502")
    assert meta.response_body == HTML_PAGE


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_server_error_on_a_write_is_not_resent_and_its_outcome_is_unknown(
    client: CapillaryClient, capillary: FakeCapillary, status: int
) -> None:
    capillary.queue(answer(status, HTML_PAGE))

    with pytest.raises(Unavailable) as caught:
        write(client)

    assert caught.value.outcome_unknown is True
    assert len(capillary.requests) == 1


@pytest.mark.parametrize("status", [429, 461, 503, 521])
def test_it_resends_a_write_that_capillary_refused_before_processing(
    client: CapillaryClient, capillary: FakeCapillary, status: int
) -> None:
    capillary.queue(answer(status, {}), answer(200, WRITE_OK))

    assert write(client).created_id == 5
    assert len(capillary.requests) == 2


def test_a_busy_signal_that_persists_on_a_write_is_unavailable_but_not_applied(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(*[answer(521, {})] * 4)

    with pytest.raises(Unavailable) as caught:
        write(client)

    assert caught.value.outcome_unknown is False


def test_it_backs_off_on_429_without_retry_after(
    client: CapillaryClient, capillary: FakeCapillary, fake_time: FakeTime
) -> None:
    capillary.queue(answer(429, fixture("ref_rate_limited_response.json")), answer(200, FOUND))

    read(client)

    assert len(fake_time.sleeps) == 1
    assert 0 <= fake_time.sleeps[0] <= 0.2


def test_it_waits_as_long_as_retry_after_says(
    client: CapillaryClient, capillary: FakeCapillary, fake_time: FakeTime
) -> None:
    capillary.queue(answer(429, {}, **{"Retry-After": "7"}), answer(200, FOUND))

    read(client)

    assert fake_time.sleeps == [7.0]


def test_it_understands_retry_after_as_an_http_date(
    client: CapillaryClient, capillary: FakeCapillary, fake_time: FakeTime
) -> None:
    when = email.utils.formatdate(time.time() + 4, usegmt=True)
    capillary.queue(answer(503, {}, **{"Retry-After": when}), answer(200, FOUND))

    read(client)

    assert 2.0 <= fake_time.sleeps[0] <= 4.0


def test_a_retry_after_beyond_the_budget_is_raised_at_once(
    client: CapillaryClient, capillary: FakeCapillary, fake_time: FakeTime
) -> None:
    capillary.queue(answer(429, fixture("ref_rate_limited_response.json"), **{"Retry-After": "60"}))

    with pytest.raises(RateLimited) as caught:
        write(client)

    assert caught.value.retry_after == 60.0
    assert fake_time.sleeps == []
    assert len(capillary.requests) == 1


def test_429s_that_persist_become_rate_limited(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(*[answer(429, "Too Many Requests")] * 4)

    with pytest.raises(RateLimited) as caught:
        read(client)

    assert caught.value.retry_after is None
    assert caught.value.meta is not None
    assert caught.value.meta.attempts == 4


def test_the_local_limiter_stops_a_call_before_it_is_sent(
    make_client: ClientFactory, capillary: FakeCapillary, fake_time: FakeTime
) -> None:
    limiter = InMemoryRateLimiter(
        {"GET /v2/customers/lookup": 1}, max_wait=0, clock=fake_time.clock, sleep=fake_time.sleep
    )
    client = make_client(rate_limiter=limiter)
    capillary.queue(answer(200, FOUND))

    read(client)
    with pytest.raises(RateLimited) as caught:
        read(client)

    assert len(capillary.requests) == 1
    assert caught.value.retry_after == 60.0
    assert caught.value.meta is not None
    assert caught.value.meta.endpoint == "GET /v2/customers/lookup"


def test_wrong_basic_credentials_fail_without_retrying(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(answer(401, "Authentication failed"))

    with pytest.raises(AuthFailed):
        read(client)

    assert len(capillary.requests) == 1


def test_a_till_without_access_to_the_api_fails_auth(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    body = {"errors": [{"code": 4000, "message": "Not authorized. Access is denied!"}]}
    capillary.queue(answer(403, body))

    with pytest.raises(AuthFailed, match="4000"):
        read(client)


def test_an_unavailable_authorisation_service_is_retried_then_unavailable(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    body = {"errors": [{"code": 4001, "message": "authorisation status unavailable"}]}
    capillary.queue(*[answer(503, body)] * 4)

    with pytest.raises(Unavailable) as caught:
        write(client)

    assert caught.value.outcome_unknown is False
    assert len(capillary.requests) == 4


def test_a_200_carrying_errors_is_rejected_with_codes_and_field_hints(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    body = {
        "createdId": None,
        "warnings": [{"status": False, "code": 8107, "message": "Default label not set"}],
        "errors": [{"status": False, "code": 8014, "message": "Invalid mobile"}],
    }
    capillary.queue(answer(200, body))

    with pytest.raises(Rejected) as caught:
        add(client)

    error = caught.value
    assert type(error) is Rejected
    assert [e.code for e in error.errors] == [8014]
    assert [w.code for w in error.warnings] == [8107]
    assert error.field_errors() == {
        "mobile": ["Invalid mobile number (or primary identifier) (8014)"]
    }
    assert "8014 Invalid mobile" in str(error)
    assert error.meta is not None
    assert error.meta.status == 200


@pytest.mark.parametrize("status", [200, 400, 404, 500])
def test_customer_not_found_codes_become_not_found(
    client: CapillaryClient, capillary: FakeCapillary, status: int
) -> None:
    capillary.queue(answer(status, fixture("ref_v2_failure_response.json")))

    with pytest.raises(NotFound) as caught:
        write(client)

    assert [e.code for e in caught.value.errors] == [8015]
    assert len(capillary.requests) == 1


def test_a_404_without_a_body_is_not_found(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(httpx.Response(404))

    with pytest.raises(NotFound):
        client.get_customer(5, source="ALL")


def test_a_blank_400_is_a_rejection_of_the_input(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(httpx.Response(400))

    with pytest.raises(Rejected) as caught:
        client.get_customer(5, source="ALL")

    assert [(e.code, e.message) for e in caught.value.errors] == [(400, "Bad Request")]


def test_a_4xx_with_a_real_answer_is_not_an_error(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(answer(400, {"createdId": 5, "warnings": [{"code": 8055, "message": "x"}]}))

    updated = write(client)

    assert updated.created_id == 5
    assert updated.meta.status == 400


def test_a_total_failure_with_codes_on_a_write_is_a_rejection_not_an_outage(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(answer(500, fixture("ref_e8_subscriptions_failure_response.json")))

    with pytest.raises(Rejected) as caught:
        client.update_subscriptions(
            5, {"subscriptions": [{"channel": "EMAIL", "priority": "BULK", "type": "OPTIN"}]}
        )

    assert [e.code for e in caught.value.errors] == [500]


def test_a_business_error_on_a_5xx_read_is_not_retried(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(answer(500, {"errors": [{"code": 8069, "message": "merged"}]}))

    with pytest.raises(Rejected):
        read(client)

    assert len(capillary.requests) == 1


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, '{"createdId": 5', IntegrationError),
        (200, HTML_PAGE, IntegrationError),
        (200, "", IntegrationError),
        (200, "[1, 2]", IntegrationError),
        (200, '{"createdId": "five"}', IntegrationError),
        (200, '{"errors": "boom"}', IntegrationError),
        (200, '{"errors": [{"message": "no code"}]}', IntegrationError),
        (502, HTML_PAGE, Unavailable),
        (418, HTML_PAGE, Rejected),
    ],
)
def test_an_unreadable_answer_is_an_integration_error_unless_the_status_says_more(
    client: CapillaryClient, capillary: FakeCapillary, status: int, body: str, error: type
) -> None:
    capillary.queue(answer(status, body))

    with pytest.raises(error) as caught:
        write(client)

    assert type(caught.value) is error
    assert caught.value.meta is not None
    try:
        assert caught.value.meta.response_body == json.loads(body)
    except ValueError:
        assert caught.value.meta.response_body == body


def test_bulk_items_that_all_failed_are_returned_not_raised(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    body = {
        "response": [
            {"errors": [{"code": 8015, "message": "not found"}], "warnings": []},
            {"entityId": 2, "result": {}, "errors": [{"code": 3017, "message": "label"}]},
        ],
        "totalCount": 2,
        "failureCount": 2,
    }
    capillary.queue(answer(500, body))

    result = client.bulk_upsert(fixture("s1_upsert_request.json") * 2)

    assert [item.ok for item in result.response] == [False, False]
    assert result.failure_count == 2


def test_a_refused_batch_is_rejected(client: CapillaryClient, capillary: FakeCapillary) -> None:
    capillary.queue(answer(400, {"errors": [{"code": 1060, "message": "Batch limit exceeded"}]}))

    with pytest.raises(Rejected, match="1060"):
        client.bulk_upsert(fixture("s1_upsert_request.json"))


def test_v11_items_that_failed_are_returned_not_raised(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    body = {
        "response": {
            "status": {"success": "false", "code": 500, "message": "All requests have failed"},
            "customers": {
                "customer": [
                    {"user_id": "", "item_status": {"success": "false", "code": "1011"}},
                ]
            },
        }
    }
    capillary.queue(answer(500, body))

    result = client.update_customer_v11({"mobile": "919900000001"})

    assert [(c.user_id, c.ok) for c in result.customers] == [(None, False)]
    assert [c.item_status and c.item_status.code for c in result.customers] == [1011]


@pytest.mark.parametrize(
    ("status", "v11_status", "error"),
    [
        (400, {"success": "false", "code": 400, "message": "Invalid input"}, Rejected),
        (200, {"success": "false", "code": "401", "message": "Unauthorized"}, AuthFailed),
    ],
)
def test_a_v11_failure_without_items_is_raised(
    client: CapillaryClient,
    capillary: FakeCapillary,
    status: int,
    v11_status: dict[str, Any],
    error: type,
) -> None:
    capillary.queue(answer(status, {"response": {"status": v11_status}}))

    with pytest.raises(error):
        client.update_customer_v11({"mobile": "919900000001"})
