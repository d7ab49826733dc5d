"""No secret ever reaches what the audit trail, the logs or an error message hold."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from customers.capillary import (
    BasicAuth,
    CallMeta,
    CapillaryClient,
    CapillaryError,
    OAuthAuth,
)
from customers.capillary.schemas import CustomerLookup

from .conftest import (
    CLIENT_KEY,
    CLIENT_SECRET,
    PASSWORD,
    TILL,
    ClientFactory,
    FakeCapillary,
    answer,
    fixture,
)

BY_MOBILE = CustomerLookup(
    source="INSTORE", identifier_name="mobile", identifier_value="919900000001"
)
BASIC = BasicAuth(TILL, PASSWORD)
BASIC_SECRETS = [PASSWORD, *BASIC.secrets()]


def echo_credentials(status: int) -> Callable[[httpx.Request], httpx.Response]:
    """A debugging proxy's error page that repeats the request headers."""

    def serve(request: httpx.Request) -> httpx.Response:
        headers = "".join(f"<li>{k}: {v}</li>" for k, v in request.headers.items())
        return httpx.Response(status, text=f"<html><ul>{headers}</ul></html>")

    return serve


def echo_in_errors(request: httpx.Request) -> httpx.Response:
    token = request.headers.get("X-CAP-API-OAUTH-TOKEN") or request.headers.get("Authorization")
    return answer(400, {"errors": [{"code": 8084, "message": f"bad request from {token}"}]})


def everything_said(
    results: list[Any], errors: list[CapillaryError], caplog: pytest.LogCaptureFixture
) -> str:
    metas: list[CallMeta] = [r.meta for r in results] + [e.meta for e in errors if e.meta]
    parts = [repr(m) + str(m) + json.dumps(m.as_dict(), default=str) for m in metas]
    parts += [repr(e) + str(e) + repr(e.args) for e in errors]
    parts += [repr(r) + r.model_dump_json() for r in results]
    parts += [record.getMessage() for record in caplog.records]
    return "\n".join(parts)


def run_calls(client: CapillaryClient, capillary: FakeCapillary) -> tuple[list[Any], list[Any]]:
    capillary.queue(
        answer(200, {"entity": 1, "warnings": []}),
        answer(400, fixture("ref_v2_failure_response.json")),
        echo_credentials(502),
        echo_credentials(200),
        echo_in_errors,
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("timed out"),
    )
    results: list[Any] = []
    errors: list[CapillaryError] = []
    calls = [
        lambda: client.lookup_customer_id(BY_MOBILE),
        lambda: client.update_customer(5, {"extendedFields": {}}, source="INSTORE"),
        lambda: client.update_customer(5, {"extendedFields": {}}, source="INSTORE"),
        lambda: client.get_status_log(5),
        lambda: client.add_customer(fixture("ref_e1_minimal_request.json")),
        lambda: client.update_customer(5, {"extendedFields": {}}, source="INSTORE"),
    ]
    for call in calls:
        try:
            results.append(call())
        except CapillaryError as error:
            errors.append(error)
    return results, errors


def test_basic_credentials_never_appear_in_meta_errors_or_logs(
    make_client: ClientFactory, capillary: FakeCapillary, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="customers.capillary")
    client = make_client(auth=BASIC)

    results, errors = run_calls(client, capillary)

    said = everything_said(results, errors, caplog)
    assert len(errors) >= 4
    assert "[redacted]" in said
    for secret in BASIC_SECRETS:
        assert secret not in said
    assert PASSWORD not in repr(client) + repr(BASIC)


def test_oauth_secrets_and_tokens_never_appear_in_meta_errors_or_logs(
    make_client: ClientFactory, capillary: FakeCapillary, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="customers.capillary")
    auth = OAuthAuth(CLIENT_KEY, CLIENT_SECRET)
    client = make_client(auth=auth)

    results, errors = run_calls(client, capillary)
    results.append(client.generate_token(CLIENT_KEY, CLIENT_SECRET))

    said = everything_said(results, errors, caplog)
    tokens = [f"token-{n}" for n in range(1, capillary.tokens_issued + 1)]
    assert len(tokens) >= 2
    for secret in [CLIENT_SECRET, *tokens]:
        assert secret not in said
    assert CLIENT_SECRET not in repr(client) + repr(auth)


def test_the_token_call_keeps_the_key_but_not_the_secret_or_token() -> None:
    capillary = FakeCapillary()
    with CapillaryClient(
        "https://eu.api.capillarytech.com", BASIC, transport=httpx.MockTransport(capillary)
    ) as client:
        token = client.generate_token(CLIENT_KEY, CLIENT_SECRET)

    assert token.meta.request_body == {"key": CLIENT_KEY, "secret": "[redacted]"}
    assert token.meta.response_body == {
        "data": {"accessToken": "[redacted]", "ttlSeconds": 300},
        "errors": None,
    }


def test_it_logs_one_line_per_call_with_status_request_id_and_duration(
    client: CapillaryClient, capillary: FakeCapillary, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="customers.capillary")
    capillary.queue(
        httpx.ConnectError("refused"),
        answer(200, {"entity": 1}, **{"X-Cap-Requestid": "abc-1"}),
        answer(400, fixture("ref_v2_failure_response.json"), **{"X-Cap-Requestid": "abc-2"}),
    )

    client.lookup_customer_id(BY_MOBILE)
    with pytest.raises(CapillaryError):
        client.lookup_customer_id(BY_MOBILE)

    lines = [r.getMessage() for r in caplog.records if r.name == "customers.capillary"]
    assert len(lines) == 2
    assert lines[0].startswith("GET /v2/customers/lookup -> 200 request_id=abc-1 duration_ms=")
    assert lines[0].endswith("attempts=2")
    assert lines[1].startswith("GET /v2/customers/lookup -> 400 NotFound request_id=abc-2")
    assert "919900000001" not in "".join(lines)
