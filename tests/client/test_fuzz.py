"""Whatever Capillary (or anything in between) answers, callers only see the error tree."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.capillary import (
    BasicAuth,
    CapillaryClient,
    CapillaryError,
    OAuthAuth,
    RetryPolicy,
)
from customers.capillary.schemas import CapillaryResponse, CustomerLookup

from .conftest import fixture

BY_MOBILE = CustomerLookup(
    source="INSTORE", identifier_name="mobile", identifier_value="919900000001"
)
# Keys Capillary uses, so that random bodies often reach the deeper parsing paths.
WIRE_KEYS = [
    "errors",
    "error",
    "warnings",
    "code",
    "message",
    "status",
    "success",
    "createdId",
    "sideEffects",
    "type",
    "response",
    "customers",
    "customer",
    "item_status",
    "entity",
    "data",
    "accessToken",
    "ttlSeconds",
    "result",
    "entityId",
    "profiles",
    "identifiers",
    "subscriptions",
    "totalCount",
    "failureCount",
    "points",
    "coupon",
    "alternate_currency",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(["true", "false", "1000", "8015", "points", "coupon"])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(WIRE_KEYS) | st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=25,
)
statuses = st.sampled_from([200, 201, 400, 401, 403, 404, 429, 461, 498, 500, 502, 503, 521])


class Scripted:
    def __init__(self) -> None:
        self.response = httpx.Response(200)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return self.response


CALLS: list[Callable[[CapillaryClient], CapillaryResponse]] = [
    lambda c: c.add_customer(fixture("ref_e1_minimal_request.json")),
    lambda c: c.lookup_customer(BY_MOBILE),
    lambda c: c.lookup_customer_id(BY_MOBILE),
    lambda c: c.bulk_upsert(fixture("s1_upsert_request.json")),
    lambda c: c.update_customer_v11({"mobile": "919900000001"}),
    lambda c: c.get_subscriptions(5),
    lambda c: c.get_extended_field_config(),
    lambda c: c.get_audit_logs(5),
    lambda c: c.generate_token("k", "s"),
]

SETTINGS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def only_the_error_tree(auth: Any, response: httpx.Response, call_index: int) -> None:
    scripted = Scripted()
    scripted.response = response
    client = CapillaryClient(
        "https://eu.api.capillarytech.com",
        auth,
        transport=httpx.MockTransport(scripted),
        retry=RetryPolicy(max_attempts=2),
        sleep=lambda seconds: None,
    )
    try:
        result = CALLS[call_index](client)
    except CapillaryError:
        return
    finally:
        client.close()
    assert isinstance(result, CapillaryResponse)
    assert result.meta.attempts >= 1


@SETTINGS
@given(body=json_values, status=statuses, call=st.integers(0, len(CALLS) - 1))
def test_any_json_answer_ends_in_a_model_or_the_error_tree(
    body: Any, status: int, call: int
) -> None:
    response = httpx.Response(status, content=json.dumps(body).encode())
    only_the_error_tree(BasicAuth("till", "pw"), response, call)


@SETTINGS
@given(body=st.binary(max_size=64), status=statuses, call=st.integers(0, len(CALLS) - 1))
def test_any_bytes_end_in_a_model_or_the_error_tree(body: bytes, status: int, call: int) -> None:
    only_the_error_tree(BasicAuth("till", "pw"), httpx.Response(status, content=body), call)


@SETTINGS
@given(body=json_values, status=statuses)
def test_any_token_answer_ends_in_the_error_tree_for_an_oauth_client(
    body: Any, status: int
) -> None:
    response = httpx.Response(status, content=json.dumps(body).encode())
    only_the_error_tree(OAuthAuth("k", "s"), response, 2)
