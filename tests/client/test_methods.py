"""Each method sends the documented request and returns the documented answer as a model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from customers.capillary import CallMeta, CapillaryClient, UserContext
from customers.capillary.schemas import (
    BulkUpsertResponse,
    ChangeIdentifierRequest,
    Customer,
    CustomerLookup,
    SubscriptionChange,
    V11CustomerUpdate,
)

from .conftest import FakeCapillary, answer, fixture

STAFF = UserContext(entity_id="75015489", source_id="A. Staff")
BY_MOBILE = CustomerLookup(
    source="INSTORE", identifier_name="mobile", identifier_value="919900000001"
)
LOOKUP_QUERY = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": "919900000001"}
WRITE_OK = {"createdId": 556844761, "warnings": [], "sideEffects": []}


def sent_json(capillary: FakeCapillary) -> Any:
    return json.loads(capillary.last.content)


def sent_query(capillary: FakeCapillary) -> dict[str, str]:
    return dict(capillary.last.url.params)


def actor_headers(capillary: FakeCapillary) -> dict[str, str]:
    return {k: v for k, v in capillary.last.headers.items() if k.startswith("user-context")}


STAFF_HEADERS = {
    "user-context-entity-type": "INTOUCH_ADMIN_USER",
    "user-context-entity-id": "75015489",
    "user-context-entity-source": "MEMBER_CARE",
    "user-context-entity-source-id": "A. Staff",
}


def test_it_adds_a_customer(client: CapillaryClient, capillary: FakeCapillary) -> None:
    capillary.queue(answer(200, fixture("s5_add_response_customer_status.json")))

    created = client.add_customer(fixture("s5_add_request_customer_status.json"), actor=STAFF)

    assert capillary.calls() == ["POST /v2/customers"]
    assert sent_query(capillary) == {}
    assert capillary.last.headers["WAIT_FOR_DOWNSTREAM"] == "true"
    assert capillary.last.headers["Content-Type"] == "application/json"
    assert capillary.last.headers["Accept"] == "application/json"
    assert actor_headers(capillary) == STAFF_HEADERS
    assert sent_json(capillary)["statusLabel"] == "active-1"
    assert created.created_id == 557669379
    assert [w.code for w in created.warnings] == [1302]
    assert len(created.side_effects) == 3


def test_it_can_add_without_waiting_for_loyalty_and_with_raw_side_effects(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(answer(200, WRITE_OK))

    client.add_customer(
        fixture("ref_e1_minimal_request.json"),
        wait_for_downstream=False,
        raw_side_effects=True,
        enroll_in_all_programs=True,
    )

    assert capillary.last.headers["WAIT_FOR_DOWNSTREAM"] == "false"
    assert sent_query(capillary) == {"rawSideEffects": "true", "mlp_single_enroll": "true"}
    assert actor_headers(capillary) == {}


def test_it_sends_basic_credentials_as_documented(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(answer(200, WRITE_OK))

    client.add_customer(fixture("ref_e1_minimal_request.json"))

    assert capillary.last.headers["Authorization"] == (
        "Basic c3RvcmUuc2VydmVyOjhhMTZhNmI3MDUwNWViMWYxZmY3Y2RjMGNkNTU1OWE3"
    )


def test_it_updates_a_customer_by_id(client: CapillaryClient, capillary: FakeCapillary) -> None:
    capillary.queue(
        answer(200, {**WRITE_OK, "sideEffects": [{"type": "points", "awardedPoints": 5}]})
    )

    updated = client.update_customer(
        171891944, fixture("s2_update_request.json"), source="INSTORE", actor=STAFF
    )

    assert capillary.calls() == ["PUT /v2/customers/171891944"]
    assert sent_query(capillary) == {"source": "INSTORE", "use_async": "false"}
    assert actor_headers(capillary) == STAFF_HEADERS
    assert sent_json(capillary)["profiles"][0]["commChannels"][0]["primary"] is True
    assert updated.created_id == 556844761


def test_it_updates_a_multi_account_profile_in_the_background(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(answer(200, WRITE_OK))

    client.update_customer(
        5, {"extendedFields": {"city": "Pune"}}, source="wechat", account_id="wx1", use_async=True
    )

    assert sent_query(capillary) == {"source": "WECHAT", "accountId": "wx1", "use_async": "true"}
    assert sent_json(capillary) == {"extendedFields": {"city": "Pune"}}


def test_it_updates_a_customer_found_by_identifier(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(answer(200, WRITE_OK))

    client.update_customer_by_lookup(BY_MOBILE, {"profiles": [{"firstName": "Asha"}]}, actor=STAFF)

    assert capillary.calls() == ["PUT /v2/customers/lookup"]
    assert sent_query(capillary) == {**LOOKUP_QUERY, "use_async": "false"}
    assert sent_json(capillary) == {"profiles": [{"firstName": "Asha"}]}
    assert actor_headers(capillary) == STAFF_HEADERS


def test_it_upserts_in_bulk_and_returns_every_item(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(answer(201, fixture("s1_upsert_response.json")))

    result = client.bulk_upsert(
        [*fixture("s1_upsert_request.json"), *fixture("s1_upsert_request_subscriptions.json")],
        actor=STAFF,
    )

    assert capillary.calls() == ["POST /v2/integrations/customer/upsert/bulk"]
    assert sent_query(capillary) == {"skipChangeIdentifier": "false"}
    assert [entry["profiles"][0]["identifiers"][0]["type"] for entry in sent_json(capillary)] == [
        "externalId",
        "mobile",
    ]
    assert isinstance(result, BulkUpsertResponse)
    assert (result.total_count, result.failure_count) == (1, 1)
    [item] = result.response
    assert not item.ok
    assert [e.code for e in item.errors] == [3017]
    assert isinstance(item.result, Customer)
    assert item.result.profiles[0].identifiers[1].type == "cardnumber"


def test_it_can_upsert_without_changing_identifiers(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(answer(200, fixture("ref_bulk_response.json")))

    client.bulk_upsert(fixture("s1_upsert_request.json"), skip_change_identifier=True)

    assert sent_query(capillary) == {"skipChangeIdentifier": "true"}


def test_it_updates_through_v11(client: CapillaryClient, capillary: FakeCapillary) -> None:
    capillary.queue(answer(200, fixture("ref_v11_update_response.json")))

    updated = client.update_customer_v11(
        V11CustomerUpdate(mobile="919900000001", firstname="Asha"),
        {"email": "asha@example.com", "lastname": "Rao"},
        actor=STAFF,
    )

    assert capillary.calls() == ["POST /v1.1/customer/update"]
    assert sent_query(capillary) == {"format": "json"}
    assert sent_json(capillary) == {
        "root": {
            "customer": [
                {"mobile": "919900000001", "firstname": "Asha"},
                {"email": "asha@example.com", "lastname": "Rao"},
            ]
        }
    }
    assert actor_headers(capillary) == STAFF_HEADERS
    assert [c.user_id for c in updated.customers] == [343445382]


def test_it_looks_a_customer_up_with_embedded_sections(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(answer(200, fixture("s1_upsert_response.json")["response"][0]["result"]))

    customer = client.lookup_customer(
        BY_MOBILE, embed=["points", "subscriptions"], extra_query={"includedFraudDetails": True}
    )

    assert capillary.calls() == ["GET /v2/customers/lookup/customerDetails"]
    assert sent_query(capillary) == {
        **LOOKUP_QUERY,
        "embed": "points,subscriptions",
        "includedFraudDetails": "true",
    }
    assert capillary.last.content == b""
    assert customer.id == 176671442
    assert customer.extended_fields == {"gender": "Male"}


def test_it_looks_up_only_the_customer_id(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(answer(200, fixture("ref_e5b_lookup_response.json")))

    found = client.lookup_customer_id(BY_MOBILE)

    assert capillary.calls() == ["GET /v2/customers/lookup"]
    assert sent_query(capillary) == LOOKUP_QUERY
    assert found.entity == 306


def test_it_gets_a_customer_by_id(client: CapillaryClient, capillary: FakeCapillary) -> None:
    capillary.queue(answer(200, {"id": 5, "profiles": [], "warnings": []}))

    customer = client.get_customer(5, source="ALL", embed=["mlp"], language="zh")

    assert capillary.calls() == ["GET /v2/customers/5"]
    assert sent_query(capillary) == {"source": "ALL", "embed": "mlp"}
    assert capillary.last.headers["language"] == "zh"
    assert customer.id == 5


def test_it_searches_customers_and_reads_the_documented_sample(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(answer(200, fixture("ref_e13_search_response.json")))

    found = client.search_customers("  tom ", limit=10, offset=0)

    assert capillary.calls() == ["GET /v2/customers/search"]
    assert sent_query(capillary) == {"q": "tom", "limit": "10", "offset": "0"}
    assert capillary.last.content == b""
    assert found.pagination is not None
    assert (found.pagination.limit, found.pagination.offset, found.pagination.total) == (10, 0, 33)
    assert [hit.user_id for hit in found.data] == [261504789, 261506099, 261504579, 261506077]
    matched = found.data[0].matched_identifiers[0]
    assert (matched.id_type, matched.id_value, matched.source, matched.account_id) == (
        "firstName",
        "Tom",
        "INSTORE",
        "",
    )
    profile = found.data[0].profiles[0]
    assert (profile.source, profile.first_name, profile.last_name) == ("INSTORE", "Tom", "Sawyer")


def test_a_search_page_defaults_to_ten_from_the_start(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(answer(200, {"pagination": {}, "data": [], "warnings": [], "errors": []}))

    found = client.search_customers("99455")

    assert sent_query(capillary) == {"q": "99455", "limit": "10", "offset": "0"}
    assert found.data == []


def test_it_changes_identifiers(client: CapillaryClient, capillary: FakeCapillary) -> None:
    capillary.queue(answer(200, {"createdId": 9, "warnings": []}))

    changed = client.change_identifier(
        9,
        ChangeIdentifierRequest.model_validate(fixture("ref_e7_change_identifier_request.json")),
        source="INSTORE",
        actor=STAFF,
    )

    assert capillary.calls() == ["POST /v2/customers/9/changeIdentifier"]
    assert sent_query(capillary) == {"source": "INSTORE", "use_async": "false"}
    assert sent_json(capillary) == fixture("ref_e7_change_identifier_request.json")
    assert actor_headers(capillary) == STAFF_HEADERS
    assert changed.created_id == 9
    assert changed.side_effects == []


def test_it_reads_subscriptions_by_id_and_by_identifier(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(*[answer(200, fixture("ref_e8_subscriptions_response.json"))] * 2)

    by_id = client.get_subscriptions(5)
    by_lookup = client.get_subscriptions(BY_MOBILE)

    assert capillary.calls() == [
        "GET /v2/customers/5/subscriptions",
        "GET /v2/customers/lookup/subscriptions",
    ]
    assert sent_query(capillary) == LOOKUP_QUERY
    assert [(s.channel, s.type) for s in by_id.subscriptions] == [
        ("EMAIL", "OPTIN"),
        ("SMS", "OPTOUT"),
    ]
    assert by_lookup.subscriptions == by_id.subscriptions


def test_it_changes_subscriptions_by_id_and_by_identifier(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    change = SubscriptionChange.model_validate(
        {
            "subscriptions": [{"channel": "mobile", "priority": "BULK", "type": "OPTOUT"}],
            "reason": "asked at the till",
            "campaignId": -1,
            "scope": {},
        }
    )
    echo = {"subscriptions": [{"channel": "MOBILE", "priority": "BULK", "type": "OPTOUT"}]}
    capillary.queue(answer(200, echo), answer(200, echo))

    client.update_subscriptions(5, change, actor=STAFF)
    body_by_id = sent_json(capillary)
    client.update_subscriptions(BY_MOBILE, change, actor=STAFF)

    assert capillary.calls() == [
        "POST /v2/customers/5/subscriptions",
        "POST /v2/customers/lookup/subscriptions",
    ]
    assert body_by_id == {
        "subscriptions": [{"channel": "MOBILE", "priority": "BULK", "type": "OPTOUT"}],
        "reason": "asked at the till",
        "campaignId": -1,
        "scope": {"scope": "USER", "subScope": "NONE"},
    }
    assert sent_query(capillary) == LOOKUP_QUERY
    assert actor_headers(capillary) == STAFF_HEADERS


def test_it_changes_the_status_label(client: CapillaryClient, capillary: FakeCapillary) -> None:
    capillary.queue(answer(200, {"createdId": 5, "warnings": []}))

    client.change_status(
        BY_MOBILE,
        {"reason": "fraud check", "label": "Suspicious", "createdOn": "2024-04-12T10:00:00Z"},
        actor=STAFF,
        use_async=True,
    )

    assert capillary.calls() == ["PUT /v2/customers/lookup/status"]
    assert sent_query(capillary) == {**LOOKUP_QUERY, "use_async": "true"}
    assert sent_json(capillary) == {
        "reason": "fraud check",
        "label": "Suspicious",
        "createdOn": "2024-04-12T10:00:00Z",
    }
    assert actor_headers(capillary) == STAFF_HEADERS


def test_it_reads_the_status_log(client: CapillaryClient, capillary: FakeCapillary) -> None:
    row = {"label": "Suspicious", "prevLabel": "Active", "status": "SUSPENDED", "isActive": True}
    capillary.queue(answer(200, {"data": [row], "warnings": []}))

    log = client.get_status_log(5)

    assert capillary.calls() == ["GET /v2/customers/5/statusLog"]
    assert [(e.label, e.prev_label, e.is_active) for e in log.data] == [
        ("Suspicious", "Active", True)
    ]


def test_it_reads_the_extended_field_catalogue_and_config(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    capillary.queue(
        answer(200, {"entity": {"customer": [{"name": "gender"}]}, "success": True}),
        answer(200, [{"extendedFieldId": 3, "mandatory": False}]),
    )

    fields = client.get_extended_fields(language="ar")
    config = client.get_extended_field_config()

    assert capillary.calls() == ["GET /v2/extendedFields", "GET /v2/entity/extendedFieldConfig"]
    assert capillary.requests[0].headers["language"] == "ar"
    assert [f.name for f in fields.fields_for("CUSTOMER")] == ["gender"]
    assert config.data[0].extended_field_id == 3


def test_it_reads_capillarys_audit_log(client: CapillaryClient, capillary: FakeCapillary) -> None:
    body = {"data": [fixture("ref_e11_audit_row.json")], "pagination": {"totalElements": 1}}
    capillary.queue(answer(200, body))

    audit = client.get_audit_logs(98662653, limit=50, sort_order="DESC")

    assert capillary.calls() == ["GET /api_gateway/v2/audits"]
    assert sent_query(capillary) == {
        "entityId": "98662653",
        "entityType": "CUSTOMER",
        "limit": "50",
        "pageNo": "0",
        "sortOrder": "DESC",
        "includeUserContext": "true",
    }
    [row] = audit.data
    assert row.user_context_details is not None
    assert row.user_context_details.entity_source_id == "A. Staff"
    assert audit.pagination is not None
    assert audit.pagination.total_elements == 1


def test_it_generates_a_token_without_credentials_headers(
    client: CapillaryClient, capillary: FakeCapillary
) -> None:
    token = client.generate_token("key-1", "secret-1")

    assert capillary.calls() == ["POST /v3/oauth/token/generate"]
    assert "Authorization" not in capillary.last.headers
    assert sent_json(capillary) == {"key": "key-1", "secret": "secret-1"}
    assert token.data is not None
    assert token.data.access_token.get_secret_value() == "token-1"


def test_every_answer_carries_what_the_call_did(
    client: CapillaryClient, capillary: FakeCapillary, fake_time: Any
) -> None:
    def slow(request: Any) -> Any:
        fake_time.now += 0.25
        return answer(200, WRITE_OK, **{"X-Cap-Requestid": "req-42"})

    capillary.queue(slow)

    updated = client.update_customer(7, {"extendedFields": {"city": "Pune"}}, source="INSTORE")

    assert updated.meta == CallMeta(
        method="PUT",
        path="/v2/customers/7",
        endpoint="PUT /v2/customers/{userId}",
        query={"source": "INSTORE", "use_async": "false"},
        request_body={"extendedFields": {"city": "Pune"}},
        status=200,
        request_id="req-42",
        response_body=WRITE_OK,
        duration_ms=250.0,
        attempts=1,
    )
    assert "meta" not in updated.to_wire()


def test_it_escapes_path_parameters(client: CapillaryClient, capillary: FakeCapillary) -> None:
    capillary.queue(answer(200, {"data": []}))

    client.get_status_log("5/../admin")  # type: ignore[arg-type]

    assert capillary.last.url.raw_path == b"/v2/customers/5%2F..%2Fadmin/statusLog"


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.update_customer(1, {}, source="SHOP"), "source"),
        (lambda c: c.get_customer(1, source="SHOP"), "source"),
        (lambda c: c.add_customer({"profiles": []}), "profiles"),
        (
            lambda c: c.bulk_upsert([{"profiles": [{"identifiers": []}]}]),
            "0.profiles.0.identifiers",
        ),
        (lambda c: c.get_audit_logs(1, entity_type="ORDER"), "entity_type"),
        (lambda c: c.search_customers("   "), "q"),
        (lambda c: c.search_customers("tom", limit=101), "limit"),
        (lambda c: c.search_customers("tom", limit=0), "limit"),
        (lambda c: c.search_customers("tom", offset=-1), "offset"),
    ],
)
def test_it_sends_nothing_when_the_input_breaks_a_documented_limit(
    client: CapillaryClient, capillary: FakeCapillary, call: Any, field: str
) -> None:
    from pydantic import ValidationError

    from customers.capillary import field_errors

    with pytest.raises(ValidationError) as caught:
        call(client)

    assert field in field_errors(caught.value)
    assert capillary.requests == []
