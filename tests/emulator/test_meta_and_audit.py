"""E10 extended fields, E11 audit and change history."""

from typing import Any

from .conftest import Api, codes_of, member, mobile

AUDITS = "/api_gateway/v2/audits"
STAFF = {
    "USER-CONTEXT-ENTITY-TYPE": "INTOUCH_ADMIN_USER",
    "USER-CONTEXT-ENTITY-ID": "75015489",
    "USER-CONTEXT-ENTITY-SOURCE": "MEMBER_CARE",
    "USER-CONTEXT-ENTITY-SOURCE-ID": "A. Staff",
}


def test_it_lists_the_enabled_extended_fields(api: Api) -> None:
    body = api.http.get("/v2/extendedFields").json()
    assert (body["success"], body["warnings"], body["errors"]) == (True, [], [])
    fields = {f["name"]: f for f in body["entity"]["CUSTOMER"]}
    assert "ssnNumber" not in fields
    assert fields["gender"]["dataType"] == "STANDARD_ENUM"
    assert fields["gender"]["possibleValues"] == ["Male", "Female", "Other"]
    assert set(fields["dob"]) >= {
        "id",
        "name",
        "label",
        "dataType",
        "createdOnISO",
        "baseEntityType",
        "entityType",
    }


def test_it_serves_the_extended_field_config(api: Api) -> None:
    config = api.http.get("/v2/entity/extendedFieldConfig").json()
    assert isinstance(config, list)
    dob = next(c for c in config if c["extendedFieldId"] == 102)
    assert dob["isPiiData"] is True
    assert dob["auditTrailEnabled"] is True


def test_it_serves_the_custom_field_catalogue(api: Api) -> None:
    data = api.http.get("/v2/organization/customFields").json()["data"]
    assert {
        "name": "employee",
        "label": "Employee",
        "type": "boolean",
        "scope": "loyalty_registration",
    } in data


def audit(api: Api, customer_id: int, **params: Any) -> dict[str, Any]:
    query = {
        "entityType": "CUSTOMER",
        "entityId": customer_id,
        "includeUserContext": "true",
        **params,
    }
    body: dict[str, Any] = api.http.get(AUDITS, params=query).json()
    return body


def test_it_records_changes_with_the_user_context_headers(api: Api) -> None:
    customer_id = api.add_ok(member(1), headers=STAFF)
    api.clock.advance(60)
    api.http.put(
        f"/v2/customers/{customer_id}",
        params={"source": "INSTORE"},
        json={"profiles": [{"lastName": "New"}]},
        headers=STAFF,
    )
    body = audit(api, customer_id)
    assert body["pagination"] == {
        "totalElements": 2,
        "totalPages": 1,
        "numberOfElements": 2,
        "number": 0,
    }
    latest = body["data"][0]
    assert latest["userContextDetails"] == {
        "entityType": "INTOUCH_ADMIN_USER",
        "entityId": "75015489",
        "entitySource": "MEMBER_CARE",
        "entitySourceId": "A. Staff",
    }
    assert latest["updatedByMode"] == "MEMBER_CARE"
    assert latest["events"] == [
        {
            "eventType": "Standard Fields",
            "updatedField": "LastName",
            "additionalFields": {"previousValue": "Last1", "currentValue": "New"},
            "associateEntities": None,
        }
    ]
    assert set(latest) >= {
        "updatedBy",
        "orgId",
        "entityType",
        "entityId",
        "createdOn",
        "requestId",
        "autoUpdateTime",
    }


def test_it_hides_the_user_context_unless_asked_and_fills_nulls_without_headers(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    assert (
        audit(api, customer_id, includeUserContext="false")["data"][0]["userContextDetails"] is None
    )
    context = audit(api, customer_id)["data"][0]["userContextDetails"]
    assert context == {
        "entityType": None,
        "entityId": None,
        "entitySource": None,
        "entitySourceId": None,
    }
    assert audit(api, customer_id)["data"][0]["updatedByMode"] == "API"


def test_it_filters_by_reference_type_and_pages(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    query = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": mobile(1)}
    for label in ("Suspicious", "Active", "On Hold"):
        api.http.put(
            "/v2/customers/lookup/status", params=query, json={"reason": "r", "label": label}
        )
    body = audit(api, customer_id, referenceType="CustomerStatus", limit=2, pageNo=1)
    assert body["pagination"] == {
        "totalElements": 3,
        "totalPages": 2,
        "numberOfElements": 1,
        "number": 1,
    }
    event = body["data"][0]["events"][0]
    assert event["additionalFields"]["currentValue"] == "SUSPENDED"
    assert event["additionalFields"]["currentLabelId"] == "56"


def test_it_serves_the_older_audit_path_and_refuses_bad_queries(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    older = api.http.get(
        "/v2/auditLog/get", params={"entityType": "CUSTOMER", "entityId": customer_id}
    )
    assert older.json()["pagination"]["totalElements"] == 1
    assert codes_of(api.http.get(AUDITS, params={"entityType": "STORE", "entityId": 1})) == [400]
    assert codes_of(
        api.http.get(AUDITS, params={"entityType": "CUSTOMER", "entityId": 1, "limit": 500})
    ) == [8102]


def test_it_records_merges_with_victim_and_survivor_and_change_requests(api: Api) -> None:
    survivor = api.add_ok(member(1))
    victim = api.add_ok(member(2, source="WEBSITE"))
    change = {"add": [{"type": "email", "value": "member1@example.com"}]}
    api.http.post(
        f"/v2/customers/{victim}/changeIdentifier", params={"source": "WEBSITE"}, json=change
    )
    merge_rows = audit(api, survivor, referenceType="CustomerMerge")["data"]
    assert merge_rows[0]["victimUserDetails"]["mobile"] == mobile(2)
    assert merge_rows[0]["survivorUserDetails"]["email"] == "member1@example.com"
    requests = api.http.get(f"/v2/customers/{victim}/changeRequest").json()
    assert [r["changeType"] for r in requests["data"]] == ["EMAIL"]
    assert requests["pagination"] == {"limit": 10, "offset": 0, "total": 1}


def test_it_records_card_status_changes_against_the_card(api: Api) -> None:
    customer_id = api.add_ok(
        member(
            1,
            identifiers=[
                {"type": "mobile", "value": mobile(1)},
                {"type": "cardnumber", "value": "C-1"},
            ],
        )
    )
    card_id = api.get(customer_id).json()["cardDetails"][0]["cardId"]
    rows = api.http.get(AUDITS, params={"entityType": "CARD", "entityId": card_id}).json()["data"]
    assert rows[0]["events"][0]["associateEntities"] == [
        {"entityType": "CUSTOMER", "entityId": customer_id}
    ]
