"""E3 POST /v2/integrations/customer/upsert/bulk (seed S1)."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .conftest import Api, codes_of, member, mobile

PATH = "/v2/integrations/customer/upsert/bulk"


def upsert(api: Api, elements: list[dict[str, Any]], **params: Any) -> httpx.Response:
    return api.http.post(PATH, json=elements, params=params)


def test_it_registers_an_unknown_customer_and_returns_the_full_document(api: Api) -> None:
    response = upsert(api, [member(1)])
    assert response.status_code == 200
    body = response.json()
    assert (body["totalCount"], body["failureCount"]) == (1, 0)
    item = body["response"][0]
    assert item["errors"] == []
    assert item["warnings"] == []
    assert item["result"]["id"] == item["entityId"]
    assert item["result"]["loyaltyInfo"]["attributionV2"]["createdFromSource"] == "INSTORE"


def test_it_updates_a_known_customer_and_changes_its_identifiers(api: Api) -> None:
    customer_id = api.add_ok(
        member(
            1,
            identifiers=[
                {"type": "externalId", "value": "EXT-1"},
                {"type": "mobile", "value": mobile(1)},
            ],
        )
    )
    element = member(
        1,
        identifiers=[
            {"type": "externalId", "value": "EXT-1"},
            {"type": "mobile", "value": mobile(2)},
        ],
    )
    element["profiles"][0]["lastName"] = "Moved"
    item = upsert(api, [element], skipChangeIdentifier="false").json()["response"][0]
    assert item["entityId"] == customer_id
    identifiers = item["result"]["profiles"][0]["identifiers"]
    assert {"type": "mobile", "value": mobile(2)} in identifiers
    assert {"type": "mobile", "value": mobile(1)} not in identifiers
    assert item["result"]["profiles"][0]["lastName"] == "Moved"


def test_it_leaves_identifiers_alone_with_skip_change_identifier(api: Api) -> None:
    api.add_ok(member(1, identifiers=[{"type": "externalId", "value": "EXT-1"}]))
    element = member(
        1,
        identifiers=[
            {"type": "externalId", "value": "EXT-1"},
            {"type": "email", "value": "new@example.com"},
        ],
    )
    item = upsert(api, [element], skipChangeIdentifier="true").json()["response"][0]
    assert item["result"]["profiles"][0]["identifiers"] == [
        {"type": "externalId", "value": "EXT-1"}
    ]


def test_it_reports_each_element_and_counts_failures(api: Api) -> None:
    api.add_ok(member(1))
    elements = [
        member(2),
        member(3, source="MYSPACE"),
        member(4, identifiers=[{"type": "mobile", "value": "123"}]),
    ]
    response = upsert(api, elements)
    assert response.status_code == 201
    body = response.json()
    assert (body["totalCount"], body["failureCount"]) == (3, 2)
    assert [codes_of_item(i) for i in body["response"]] == [[], [3217], [8014]]
    assert "result" not in body["response"][1]


def codes_of_item(item: dict[str, Any]) -> list[int]:
    return [e["code"] for e in item["errors"]]


def test_it_answers_500_when_every_element_fails(api: Api) -> None:
    response = upsert(api, [member(1, source="MYSPACE")])
    assert response.status_code == 500
    assert response.json()["failureCount"] == 1


def test_it_fails_an_invalid_status_label_with_3017_but_keeps_the_other_changes(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    element = member(1, statusLabel="Nope", extendedFields={"city": "Leeds"})
    item = upsert(api, [element]).json()["response"][0]
    assert item["errors"] == [{"status": False, "code": 3017, "message": "status label invalid"}]
    assert item["result"]["extendedFields"]["city"] == "Leeds"
    assert api.get(customer_id).json()["extendedFields"]["city"] == "Leeds"


def test_it_applies_the_status_label_and_subscriptions_of_an_element(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    element = {
        "profiles": [{"identifiers": [{"type": "mobile", "value": mobile(1)}]}],
        "statusLabel": "Suspicious",
        "subscriptionInfo": {
            "subscriptions": [{"channel": "MOBILE", "priority": "BULK", "type": "OPTOUT"}]
        },
    }
    assert upsert(api, [element]).json()["failureCount"] == 0
    status = api.get(customer_id, embed="customerStatus,subscriptions").json()
    assert status["customerStatus"]["label"] == "Suspicious"
    assert {"channel": "SMS", "priority": "BULK", "type": "OPTOUT"} in status["subscriptionInfo"][
        "subscriptions"
    ]


def test_it_fails_an_element_whose_identifiers_belong_to_two_customers(api: Api) -> None:
    api.add_ok(member(1))
    api.add_ok(member(2))
    both = [
        {"type": "mobile", "value": mobile(1)},
        {"type": "email", "value": "member2@example.com"},
    ]
    item = upsert(api, [member(3, identifiers=both)]).json()["response"][0]
    assert codes_of_item(item) == [8053]


def test_it_refuses_a_batch_over_the_maximum_size(make_api: Callable[..., Api]) -> None:
    api = make_api({"max_batch_size": 2})
    response = upsert(api, [member(1), member(2), member(3)])
    assert response.status_code == 400
    assert codes_of(response) == [1060]


def test_it_refuses_a_body_that_is_not_an_array(api: Api) -> None:
    response = api.http.post(PATH, json=member(1))
    assert codes_of(response) == [400]


def test_a_failed_element_keeps_none_of_its_changes_and_the_others_all_of_theirs(
    api: Api,
) -> None:
    moving = api.add_ok(member(1, identifiers=[{"type": "externalId", "value": "EXT-1"}]))
    # The middle element renames member 1, then links two cards at once: refused (3035)
    # after the rename was written, which is undone with the rest of the element.
    refused = member(
        1,
        identifiers=[
            {"type": "externalId", "value": "EXT-1"},
            {"type": "cardnumber", "value": "CARD-1"},
            {"type": "cardnumber", "value": "CARD-2"},
        ],
    )
    refused["profiles"][0]["lastName"] = "Renamed"
    body = upsert(api, [member(3), refused, member(4)], skipChangeIdentifier="false").json()
    assert [codes_of_item(item) for item in body["response"]] == [[], [3035], []]
    assert api.get(moving).json()["profiles"][0]["lastName"] != "Renamed"
    for n, item in ((3, body["response"][0]), (4, body["response"][2])):
        assert api.details(mobile(n)).json()["id"] == item["entityId"]


def test_an_internal_error_mid_batch_answers_500_and_keeps_the_elements_before_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from customers.capillary_emulator.handlers import bulk

    real = bulk._upsert

    def breaks_on_member_2(ctx: Any, db: Any, element: Any, skip: bool) -> dict[str, Any]:
        if element["profiles"][0]["firstName"] == "First2":
            raise RuntimeError("emulator bug")
        return real(ctx, db, element, skip)

    monkeypatch.setattr(bulk, "_upsert", breaks_on_member_2)
    response = upsert(api, [member(1), member(2), member(3)])
    assert response.status_code == 500
    assert api.details(mobile(1)).status_code == 200
    assert codes_of(api.details(mobile(2))) == [8015]
    assert codes_of(api.details(mobile(3))) == [8015]
