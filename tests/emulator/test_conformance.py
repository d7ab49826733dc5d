"""The emulator against Capillary's current documentation (issue 14's defects 1-8).

Each test names the page (``shared/capillary/docs/``) or reference section it holds
the emulator to, and speaks to it over HTTP as a real client would.
"""

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from customers.capillary_emulator import codes

from .conftest import Api, codes_of, member, mobile

DUAL = {"registration": {"dual_eligibility": True}}
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "capillary"
V11 = "/v1.1/customer/update"


def v11(api: Api, customer: dict[str, Any]) -> httpx.Response:
    return api.http.post(V11, params={"format": "json"}, json={"root": {"customer": [customer]}})


def v11_item(response: httpx.Response) -> dict[str, Any]:
    item: dict[str, Any] = response.json()["response"]["customers"]["customer"][0]
    return item


# --- 1. Dual eligibility (reference §1.9.6, S16) ----------------------------------


def test_dual_eligibility_lets_a_second_customer_register_with_the_same_email(
    make_api: Callable[..., Api],
) -> None:
    api = make_api(DUAL)
    shared = [{"type": "email", "value": "family@example.com"}]
    first = api.add_ok(member(1, identifiers=[{"type": "mobile", "value": mobile(1)}, *shared]))
    second = api.add(member(2, identifiers=[{"type": "mobile", "value": mobile(2)}, *shared]))
    assert second.status_code == 200, second.text
    assert second.json()["createdId"] != first
    assert codes_of(second, "warnings") == []


def test_dual_eligibility_answers_8015_for_a_lookup_by_a_shared_email_alone(
    make_api: Callable[..., Api],
) -> None:
    api = make_api(DUAL)
    shared = [{"type": "email", "value": "family@example.com"}]
    api.add_ok(member(1, identifiers=[{"type": "mobile", "value": mobile(1)}, *shared]))
    api.add_ok(member(2, identifiers=[{"type": "mobile", "value": mobile(2)}, *shared]))
    alone = api.details("family@example.com", name="email")
    assert codes_of(alone) == [8015]
    both = api.details(f"family@example.com,{mobile(2)}", name="email,mobile")
    assert both.json()["profiles"][0]["firstName"] == "First2"


def test_without_dual_eligibility_the_same_email_is_still_8006(api: Api) -> None:
    shared = [{"type": "email", "value": "family@example.com"}]
    api.add_ok(member(1, identifiers=[{"type": "mobile", "value": mobile(1)}, *shared]))
    again = api.add(member(2, identifiers=[{"type": "mobile", "value": mobile(2)}, *shared]))
    assert codes_of(again) == [8006]


# --- 2. v1.1 update and secondary identifiers (E4, S4, S34) -----------------------


def test_v11_leaves_an_empty_external_id_empty_while_its_setting_is_off(api: Api) -> None:
    api.add_ok(member(1))
    response = v11(api, {"mobile": mobile(1), "external_id": "EXT-NEW"})
    assert v11_item(response)["item_status"]["warnings"] == {"warning": ["91006"]}
    assert v11_item(response)["external_id"] == ""


def test_v11_fills_an_empty_external_id_when_its_setting_is_on(
    make_api: Callable[..., Api],
) -> None:
    api = make_api({"registration": {"CONF_LOYALTY_ALLOW_EXTERNAL_ID_UPDATE": True}})
    api.add_ok(member(1))
    response = v11(api, {"mobile": mobile(1), "external_id": "EXT-NEW"})
    assert v11_item(response)["external_id"] == "EXT-NEW"


def test_v11_never_overwrites_a_secondary_identifier_even_when_email_updates_are_allowed(
    make_api: Callable[..., Api],
) -> None:
    api = make_api({"registration": {"CONF_ALLOW_EMAIL_UPDATE": True}})
    api.add_ok(member(1))
    response = v11(api, {"mobile": mobile(1), "email": "other@example.com"})
    assert response.status_code == 500
    status = response.json()["response"]["status"]
    assert status["message"] == "All requests have failed due to errors"
    assert "Tried to update secondary identifier" in v11_item(response)["item_status"]["message"]
    identifiers = api.details(mobile(1)).json()["profiles"][0]["identifiers"]
    assert {"type": "email", "value": "member1@example.com"} in identifiers


# --- 3. v1.1 fraud_status with an empty status (the official sample) ---------------


def test_v11_accepts_an_empty_fraud_status_and_leaves_it_unchanged(api: Api) -> None:
    api.add_ok(member(1))
    response = v11(api, {"mobile": mobile(1), "fraud_status": {"status": ""}})
    assert response.status_code == 200
    assert v11_item(response)["item_status"]["success"] == "true"
    assert v11_item(response)["fraud_status"] == "NONE"


# --- 4. Customer labels (E9b pages) --------------------------------------------------


def test_org_labels_answer_in_the_documented_shape(api: Api) -> None:
    body = api.http.get("/v2/organization/labels").json()
    assert set(body) == {"data", "warnings", "errors"}
    assert body["data"][0] == {
        "id": 21158,
        "orgId": 100458,
        "description": "Customers whose purchase value is more than $4000",
        "lastUpdatedBy": 75015489,
        "name": "Premium",
        "active": True,
    }


def test_tagging_an_unknown_label_is_warning_33000_beside_the_entity(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    response = api.http.post(
        f"/v2/customers/{customer_id}/changeLabels",
        json={"add": [{"labelName": "Premium"}, {"labelName": "No such label"}]},
    )
    assert response.status_code == 200
    assert response.json()["entity"] == customer_id
    assert response.json()["warnings"] == [
        {"status": False, "code": 33000, "message": "No such label label not found"}
    ]
    labels = api.http.get(f"/v2/customers/{customer_id}/labels").json()["data"]
    assert [label["labelName"] for label in labels] == ["Premium"]
    assert labels[0]["labelId"] == 21158


def test_a_customer_without_labels_answers_warning_33001(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    body = api.http.get(f"/v2/customers/{customer_id}/labels").json()
    assert body == {
        "warnings": [{"status": False, "code": 33001, "message": "User labels not found"}],
        "errors": [],
    }


# --- 5. Subscriptions: every item failing (E8, S19) ---------------------------------


def test_a_subscription_request_whose_every_item_fails_is_http_500_with_code_500(
    api: Api,
) -> None:
    customer_id = api.add_ok(member(1))
    response = api.http.post(
        f"/v2/customers/{customer_id}/subscriptions",
        json={"subscriptions": [{"channel": "PIGEON", "priority": "BULK", "type": "OPTIN"}]},
    )
    assert response.status_code == 500
    assert response.json() == {
        "warnings": [],
        "errors": [
            {"status": False, "code": 500, "message": "All requests have failed due to errors"}
        ],
    }


# --- 6. Code meanings (reference §3, the status-code page) ---------------------------


def test_1104_means_an_invalid_or_missing_identifier_and_subscriptions_no_longer_use_it(
    api: Api,
) -> None:
    assert 1104 not in codes.MESSAGES or codes.MESSAGES[1104].startswith("Invalid identifier")
    customer_id = api.add_ok(member(1))
    response = api.http.post(f"/v2/customers/{customer_id}/subscriptions", json={})
    assert codes_of(response) == [400]


def test_every_code_the_emulator_names_has_a_message(api: Api) -> None:
    named: set[int] = set()
    package = Path(codes.__file__).parent
    pattern = re.compile(r"(?:ApiError|entry)\(\s*(\d{3,6})\b")
    for path in package.rglob("*.py"):
        named.update(int(code) for code in pattern.findall(path.read_text(encoding="utf-8")))
    named.update(
        value for name, value in vars(codes).items() if name.isupper() and isinstance(value, int)
    )
    assert sorted(named - set(codes.MESSAGES)) == []


def _words(text: str) -> str:
    text = re.sub(r"\{\w*\}", "{}", text.lower())
    return re.sub(r"[\s.]+$", "", re.sub(r"\s+", " ", text))


def test_every_message_is_the_status_code_pages_wording_or_names_its_source() -> None:
    page = json.loads((FIXTURES / "docs_status_codes.json").read_text(encoding="utf-8"))["codes"]
    undocumented = []
    for code, text in codes.MESSAGES.items():
        if code in codes.SOURCES:
            continue
        printed = [_words(row["description"]) for row in page.get(str(code), [])]
        if not any(description.startswith(_words(text)) for description in printed):
            undocumented.append((code, text, printed))
    assert undocumented == []


def test_every_inferred_code_is_in_the_coverage_table() -> None:
    from customers import capillary_emulator

    doc = capillary_emulator.__doc__ or ""
    missing = [code for code in codes.INFERRED if str(code) not in doc]
    assert missing == []


# --- 7. Envelopes -------------------------------------------------------------------


def test_the_status_log_carries_errors_and_a_string_created_by_user(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    body = api.http.get(f"/v2/customers/{customer_id}/statusLog").json()
    assert body["errors"] == []
    assert body["data"][0]["createdByUser"] == "membercare.till"


def test_the_subscription_change_log_carries_errors(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    body = api.http.get(f"/v2/customers/{customer_id}/subscriptionStatusChangeLog").json()
    assert body["errors"] == []


def test_the_extended_field_catalogue_is_keyed_by_upper_case_entity(api: Api) -> None:
    entity = api.http.get("/v2/extendedFields").json()["entity"]
    assert list(entity) == ["CUSTOMER"]


# --- 8. Cards (S9, the audit page's CARD sample, the card details page) -------------


def _link(api: Api, customer_id: int, number: str, **card: Any) -> httpx.Response:
    return api.http.post(
        f"/v2/customers/{customer_id}/changeIdentifier",
        params={"source": "INSTORE"},
        json={"add": [{"type": "cardnumber", "value": number, "seriesId": 73, **card}]},
    )


def _delink(api: Api, customer_id: int, number: str, label: str) -> httpx.Response:
    return api.http.post(
        f"/v2/customers/{customer_id}/changeIdentifier",
        params={"source": "INSTORE"},
        json={"remove": [{"type": "cardnumber", "value": number, "statusLabel": label}]},
    )


def test_delinking_with_a_label_not_mapped_to_not_issued_is_3018(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    assert _link(api, customer_id, "CARD-0001").status_code == 200
    assert codes_of(_delink(api, customer_id, "CARD-0001", "LOST")) == [3018]
    assert _delink(api, customer_id, "CARD-0001", "NOT_ISSUED").status_code == 200


def test_card_audit_events_carry_the_label_ids(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    _link(api, customer_id, "CARD-0002")
    card_id = api.details(mobile(1)).json()["cardDetails"][0]["cardId"]
    _delink(api, customer_id, "CARD-0002", "NOT_ISSUED")
    rows = api.http.get(
        "/api_gateway/v2/audits", params={"entityType": "CARD", "entityId": card_id}
    ).json()["data"]
    delinked = rows[0]["events"][0]["additionalFields"]
    assert delinked == {
        "previousValue": "ACTIVE",
        "currentValue": "NOT_ISSUED",
        "previousLabelId": "24",
        "currentLabelId": "26",
    }


def test_a_card_reads_by_number_with_series_status_customer_and_dates(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    _link(api, customer_id, "CARD-0003")
    body = api.http.get("/v2/card", params={"format": "json", "number": "CARD-0003"}).json()
    assert body["cardNumber"] == "CARD-0003"
    assert (body["seriesId"], body["seriesCode"], body["seriesName"]) == (
        73,
        "MCPRM",
        "MemberCare Premier",
    )
    assert (body["statusInfo"]["label"], body["statusInfo"]["status"]) == ("ACTIVE", "ACTIVE")
    assert body["customerId"] == customer_id
    assert body["issuedDate"] == "2027-01-15T08:00:00Z"
    assert body["expiryDate"] == "2028-01-15T00:00:00Z"
    assert body["warnings"] == []


def test_an_unknown_card_number_is_3010(api: Api) -> None:
    assert codes_of(api.http.get("/v2/card", params={"number": "NOPE"})) == [3010]
    assert codes_of(api.http.get("/v2/card")) == [400]
