from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from customers.capillary.schemas import (
    AddCustomerRequest,
    AlternateCurrencyEffect,
    AuditLogQuery,
    AuditRow,
    BulkUpsertResponse,
    ChangeIdentifierRequest,
    CouponEffect,
    CustomerIdResponse,
    CustomerLookup,
    CustomerSearchResponse,
    ExtendedFieldConfigResponse,
    ExtendedFieldsResponse,
    OtherEffect,
    PointsEffect,
    StatusChange,
    SubscriptionChange,
    SubscriptionsResponse,
    TokenResponse,
    UpdateCustomerRequest,
    UpsertEntry,
    V11CustomerUpdate,
    V11UpdateRequest,
    V11UpdateResponse,
    WireModel,
    WriteResponse,
    field_errors,
)

from .conftest import FIXTURES, fixture

MODEL_FOR_FIXTURE: dict[str, Any] = {
    "s1_upsert_request.json": list[UpsertEntry],
    "s1_upsert_request_subscriptions.json": list[UpsertEntry],
    "s1_upsert_response.json": BulkUpsertResponse,
    "s2_update_request.json": UpdateCustomerRequest,
    "s5_add_request_card.json": AddCustomerRequest,
    "s5_add_request_customer_status.json": AddCustomerRequest,
    "s5_add_request_external_id_only.json": AddCustomerRequest,
    "s5_add_request_instore.json": AddCustomerRequest,
    "s5_add_request_line.json": AddCustomerRequest,
    "s5_add_request_mobile_app.json": AddCustomerRequest,
    "s5_add_response_alternate_currency.json": WriteResponse,
    "s5_add_response_customer_status.json": WriteResponse,
    "s5_add_response_external_id_only.json": WriteResponse,
    "s5_add_response_instore.json": WriteResponse,
    "s5_add_response_line.json": WriteResponse,
    "s5_add_response_mobile_app.json": WriteResponse,
    "s5_add_response_sideeffects.json": WriteResponse,
    "ref_v2_write_response.json": WriteResponse,
    "ref_v2_failure_response.json": WriteResponse,
    "ref_bulk_response.json": BulkUpsertResponse,
    "ref_v11_update_response.json": V11UpdateResponse,
    "ref_e1_minimal_request.json": AddCustomerRequest,
    "ref_e5b_lookup_response.json": CustomerIdResponse,
    "ref_e7_change_identifier_request.json": ChangeIdentifierRequest,
    "ref_e8_subscriptions_response.json": SubscriptionsResponse,
    "ref_e8_subscriptions_failure_response.json": SubscriptionsResponse,
    "ref_e11_audit_row.json": AuditRow,
    "ref_e12_bad_key_response.json": TokenResponse,
    "ref_rate_limited_response.json": WriteResponse,
    "ref_e13_search_response.json": CustomerSearchResponse,
}

# The documented normalisation: booleans sent as "true"/"false" become JSON
# booleans, and v1.1 numbers sent as strings become numbers.
_BOOLEAN_KEYS = {"primary", "verified", "subscribed", "residence", "office"}
_NUMBER_KEYS = {"code", "total", "success_count", "warning"}


def normalised(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: normalised(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normalised(v, key) for v in value]
    if isinstance(value, str) and key in _BOOLEAN_KEYS and value in ("true", "false"):
        return value == "true"
    if isinstance(value, str) and key in _NUMBER_KEYS and value.isdigit():
        return int(value)
    return value


def dumped(parsed: Any) -> Any:
    if isinstance(parsed, list):
        return [dumped(item) for item in parsed]
    assert isinstance(parsed, BaseModel)
    return parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)


def test_every_transcribed_example_has_a_model() -> None:
    # Other suites may keep their own files here; the transcriptions are s*/ref_*.
    on_disk = {
        path.name
        for path in FIXTURES.glob("*.json")
        if path.name[:2] in ("s1", "s2", "s3", "s5", "re")
    }
    expected_extra = {"s3_update_request_rendered.json", "ref_e12_token_response.json"}
    assert on_disk == set(MODEL_FOR_FIXTURE) | expected_extra


@pytest.mark.parametrize("name", sorted(MODEL_FOR_FIXTURE))
def test_it_round_trips_every_documented_example(name: str) -> None:
    raw = fixture(name)
    adapter: TypeAdapter[Any] = TypeAdapter(MODEL_FOR_FIXTURE[name])
    parsed = adapter.validate_python(raw)

    assert dumped(parsed) == normalised(raw)
    assert dumped(adapter.validate_python(dumped(parsed))) == dumped(parsed)


@pytest.mark.parametrize("name", sorted(n for n in MODEL_FOR_FIXTURE if "_request" in n))
def test_the_body_it_sends_is_the_documented_example(name: str) -> None:
    parsed = TypeAdapter(MODEL_FOR_FIXTURE[name]).validate_python(fixture(name))
    sent = [p.to_wire() for p in parsed] if isinstance(parsed, list) else parsed.to_wire()

    assert sent == normalised(fixture(name))


def test_it_round_trips_the_token_example_without_showing_the_token() -> None:
    parsed = TokenResponse.model_validate(fixture("ref_e12_token_response.json"))

    assert parsed.data is not None
    assert parsed.data.access_token.get_secret_value() == "<JWT>"
    assert parsed.data.ttl_seconds == 300
    assert "<JWT>" not in repr(parsed)
    assert "<JWT>" not in parsed.model_dump_json()


def test_it_rejects_the_rendered_page_example_naming_the_obfuscated_email() -> None:
    with pytest.raises(ValidationError) as caught:
        UpdateCustomerRequest.model_validate(fixture("s3_update_request_rendered.json"))

    assert list(field_errors(caught.value)) == ["profiles.0.commChannels.1.value"]


def test_it_reads_side_effects_by_type_and_keeps_unknown_types_whole() -> None:
    response = WriteResponse.model_validate(
        {
            "createdId": 1,
            "sideEffects": [
                *fixture("s5_add_response_customer_status.json")["sideEffects"],
                *fixture("s5_add_response_alternate_currency.json")["sideEffects"],
                {"type": "badge", "badgeId": 7, "entityType": "USER"},
            ],
        }
    )

    kinds = [type(effect) for effect in response.side_effects]
    assert kinds == [PointsEffect, CouponEffect, CouponEffect, AlternateCurrencyEffect, OtherEffect]
    coupon = response.side_effects[1]
    assert isinstance(coupon, CouponEffect)
    assert coupon.coupon_code == "JQI7S8P8"
    unknown = response.to_wire()["sideEffects"][-1]
    assert unknown == {"type": "badge", "badgeId": 7, "entityType": "USER"}


def test_it_marks_the_referrers_points() -> None:
    response = WriteResponse.model_validate(fixture("s5_add_response_sideeffects.json"))

    referrer = [e for e in response.side_effects if isinstance(e, PointsEffect) and e.is_referrer]
    assert [e.customer_id for e in referrer] == [424133021]


def test_it_keeps_fields_it_does_not_know() -> None:
    request = AddCustomerRequest.model_validate(
        {**fixture("s5_add_request_external_id_only.json"), "futureFlag": {"x": 1}}
    )

    assert request.to_wire()["futureFlag"] == {"x": 1}


def _profile(**changes: Any) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "firstName": "Asha",
        "identifiers": [{"type": "mobile", "value": "919900000001"}],
        "source": "INSTORE",
    }
    profile.update(changes)
    return {"profiles": [profile]}


def _errors_of(model: type[WireModel], body: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return field_errors(caught.value)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"firstName": "A" * 101}, "profiles.0.firstName"),
        ({"lastName": "Rao<script>"}, "profiles.0.lastName"),
        (
            {"identifiers": [{"type": "mobile", "value": "+91 99000"}]},
            "profiles.0.identifiers.0.value",
        ),
        ({"identifiers": [{"type": "mobile", "value": "12345"}]}, "profiles.0.identifiers.0.value"),
        (
            {"identifiers": [{"type": "email", "value": "asha at x"}]},
            "profiles.0.identifiers.0.value",
        ),
        (
            {"identifiers": [{"type": "email", "value": "a" * 250 + "@x.com"}]},
            "profiles.0.identifiers.0.value",
        ),
        ({"identifiers": [{"type": "phone", "value": "1"}]}, "profiles.0.identifiers.0.type"),
        ({"identifiers": []}, "profiles.0.identifiers"),
        ({"source": "SHOP"}, "profiles.0.source"),
        ({"commChannels": [{"type": "fax", "value": "1"}]}, "profiles.0.commChannels.0.type"),
        (
            {"commChannels": [{"type": "mobile", "value": "99-00"}]},
            "profiles.0.commChannels.0.value",
        ),
        (
            {"commChannels": [{"type": "email", "meta": {"lastViewedDate": "2019-10-10"}}]},
            "profiles.0.commChannels.0.meta.lastViewedDate",
        ),
    ],
)
def test_it_rejects_a_profile_breaking_a_documented_limit_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    assert field in _errors_of(AddCustomerRequest, _profile(**changes))


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"loyaltyInfo": {"loyaltyType": "gold"}}, "loyaltyInfo.loyaltyType"),
        (
            {"loyaltyProgramEnrollments": [{"programId": 1, "tierExpiryDate": "2024-07-11 16:36"}]},
            "loyaltyProgramEnrollments.0.tierExpiryDate",
        ),
        (
            {
                "loyaltyProgramEnrollments": [
                    {"programId": 1, "pointsExpiryDate": "2024-02-30T10:00:00+05:30"}
                ]
            },
            "loyaltyProgramEnrollments.0.pointsExpiryDate",
        ),
        (
            {
                "subscriptionInfo": {
                    "subscriptions": [{"channel": "FAX", "priority": "BULK", "type": "OPTIN"}]
                }
            },
            "subscriptionInfo.subscriptions.0.channel",
        ),
        (
            {
                "subscriptionInfo": {
                    "subscriptions": [{"channel": "EMAIL", "priority": "LOW", "type": "OPTIN"}]
                }
            },
            "subscriptionInfo.subscriptions.0.priority",
        ),
        (
            {
                "subscriptionInfo": {
                    "subscriptions": [{"channel": "EMAIL", "priority": "BULK", "type": "MAYBE"}]
                }
            },
            "subscriptionInfo.subscriptions.0.type",
        ),
        ({"createDate": "yesterday"}, "createDate"),
    ],
)
def test_it_rejects_customer_fields_breaking_a_documented_limit(
    extra: dict[str, Any], field: str
) -> None:
    assert field in _errors_of(AddCustomerRequest, {**_profile(), **extra})


def test_it_gives_form_friendly_messages() -> None:
    errors = _errors_of(AddCustomerRequest, _profile(firstName="Asha!"))

    assert errors == {
        "profiles.0.firstName": "may contain only letters, digits, spaces, hyphens and apostrophes"
    }


def test_it_accepts_names_in_any_script_and_trims_them() -> None:
    request = AddCustomerRequest.model_validate(
        _profile(firstName="  Zoë O'Brien-山田 ", lastName="")
    )

    assert request.profiles[0].first_name == "Zoë O'Brien-山田"


def test_it_accepts_documented_spellings_in_any_case_and_emits_the_documented_one() -> None:
    request = AddCustomerRequest.model_validate(
        _profile(
            source="instore",
            identifiers=[{"type": "cardNumber", "value": "BUKL0001", "seriesId": 46}],
            commChannels=[{"type": "MOBILE", "value": "919900000001", "primary": "TRUE"}],
        )
    )

    profile = request.to_wire()["profiles"][0]
    assert profile["source"] == "INSTORE"
    assert profile["identifiers"][0]["type"] == "cardnumber"
    assert profile["commChannels"][0] == {
        "type": "mobile",
        "value": "919900000001",
        "primary": True,
    }


def test_it_reads_card_identifiers_in_either_spelling() -> None:
    customer = BulkUpsertResponse.model_validate(
        {
            "response": [
                {"result": {"profiles": [{"identifiers": [{"type": "cardNumber", "value": "C1"}]}]}}
            ]
        }
    )

    result = customer.response[0].result
    assert result is not None
    assert result.profiles[0].identifiers[0].type == "cardnumber"


def test_it_requires_something_to_change_for_identifiers() -> None:
    assert list(_errors_of(ChangeIdentifierRequest, {})) == ["__all__"]
    with pytest.raises(ValidationError, match="at least one identifier"):
        ChangeIdentifierRequest.model_validate({"add": [], "remove": []})


def test_it_lets_staff_remove_a_malformed_legacy_identifier() -> None:
    change = ChangeIdentifierRequest.model_validate(
        {"remove": [{"type": "email", "value": "bad@@"}]}
    )

    assert change.to_wire() == {"add": [], "remove": [{"type": "email", "value": "bad@@"}]}


def test_it_requires_at_least_one_subscription_and_a_reason_for_status() -> None:
    assert "subscriptions" in _errors_of(SubscriptionChange, {"subscriptions": []})
    assert set(_errors_of(StatusChange, {"reason": "", "label": ""})) == {"reason", "label"}


def test_it_reads_the_v11_two_level_status_with_mixed_types() -> None:
    body = fixture("ref_v11_update_response.json")
    body["response"]["status"]["code"] = "200"
    body["response"]["customers"]["customer"] = {
        "user_id": "7",
        "item_status": {"success": "false", "code": 1011, "message": "Customer not found"},
    }

    response = V11UpdateResponse.model_validate(body)

    assert response.response.status.success is True
    assert response.response.status.code == 200
    assert response.response.status.total == 1
    [item] = response.customers
    assert (item.user_id, item.ok) == (7, False)
    assert item.item_status is not None
    assert item.to_wire()["item_status"]["success"] == "false"


def test_it_reads_v11_item_warnings_as_codes() -> None:
    response = V11UpdateResponse.model_validate(fixture("ref_v11_update_response.json"))

    status = response.customers[0].item_status
    assert status is not None
    assert status.warnings is not None
    assert status.warnings.warning == [91017, 1017]


def test_it_builds_a_v11_update_and_requires_a_way_to_find_the_customer() -> None:
    request = V11UpdateRequest.of(
        V11CustomerUpdate.model_validate(
            {
                "mobile": "919900000001",
                "type": "loyalty",
                "registered_on": "2016-09-11 11:11:11",
                "subscriptions": {
                    "subscription": {"priority": "TRANS", "channel": "SMS", "is_subscribed": 1}
                },
                "custom_fields": {"field": {"name": "kid_count", "value": "2"}},
            }
        )
    )

    assert request.to_wire() == {
        "root": {
            "customer": [
                {
                    "mobile": "919900000001",
                    "type": "LOYALTY",
                    "registered_on": "2016-09-11 11:11:11",
                    "subscriptions": {
                        "subscription": [
                            {
                                "priority": "TRANS",
                                "channel": "sms",
                                "is_subscribed": "1",
                                "scope": "all",
                            }
                        ]
                    },
                    "custom_fields": {"field": [{"name": "kid_count", "value": "2"}]},
                }
            ]
        }
    }
    assert "__all__" in _errors_of(V11CustomerUpdate, {"firstname": "Asha"})
    assert "registered_on" in _errors_of(
        V11CustomerUpdate, {"id": 1, "registered_on": "2016-09-11T11:11:11"}
    )
    assert "fraud_status.status" in _errors_of(
        V11CustomerUpdate, {"id": 1, "fraud_status": {"status": "MAYBE"}}
    )


def test_it_sends_the_official_samples_empty_fraud_status() -> None:
    update = V11CustomerUpdate.model_validate({"id": 1, "fraud_status": {"status": ""}})
    assert update.to_wire()["fraud_status"] == {"status": ""}


def test_it_reads_extended_fields_whatever_the_entity_key_casing() -> None:
    response = ExtendedFieldsResponse.model_validate(
        {
            "entity": {
                "CUSTOMER": [{"id": 1, "name": "gender", "dataType": "STANDARD_ENUM"}],
                "REGULAR_LINEITEM": [{"name": "size"}],
            },
            "warnings": [],
            "errors": [],
            "success": True,
        }
    )

    assert [f.name for f in response.fields_for("customer")] == ["gender"]


def test_it_accepts_the_extended_field_config_as_a_bare_array() -> None:
    response = ExtendedFieldConfigResponse.model_validate(
        [{"extendedFieldId": 11, "mandatory": True, "isPiiData": False}]
    )

    assert response.data[0].extended_field_id == 11
    assert response.data[0].to_wire()["isPiiData"] is False


def test_it_validates_lookups_and_emits_canonical_identifier_names() -> None:
    lookup = CustomerLookup(
        source="ALL", identifier_name="mobile, cardNumber", identifier_value="91990,C1"
    )

    assert lookup.to_query() == {
        "source": "ALL",
        "identifierName": "mobile,cardnumber",
        "identifierValue": "91990,C1",
    }
    assert "identifierName" in _errors_of(
        CustomerLookup, {"source": "INSTORE", "identifierName": "phone", "identifierValue": "1"}
    )
    assert "source" in _errors_of(
        CustomerLookup, {"source": "NOWHERE", "identifierName": "mobile", "identifierValue": "1"}
    )


def test_it_validates_audit_filters() -> None:
    query = AuditLogQuery.model_validate(
        {"entity_id": 5, "start_date": "2024-04-01 00:00:00", "reference_type": "CustomerStatus"}
    )

    assert query.to_query() == {
        "entityId": "5",
        "entityType": "CUSTOMER",
        "limit": "10",
        "pageNo": "0",
        "startDate": "2024-04-01 00:00:00",
        "referenceType": "CustomerStatus",
        "includeUserContext": "true",
    }
    errors = _errors_of(AuditLogQuery, {"entity_id": 5, "start_date": "2024-04-01", "limit": 0})
    assert set(errors) == {"start_date", "limit"}
