"""E4 POST /v1.1/customer/update (seed S4): the v1.1 envelope and its rules."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .conftest import Api, member, mobile

PATH = "/v1.1/customer/update"


def v11(api: Api, *customers: dict[str, Any]) -> httpx.Response:
    return api.http.post(
        PATH, params={"format": "json"}, json={"root": {"customer": list(customers)}}
    )


def item(response: httpx.Response, index: int = 0) -> dict[str, Any]:
    customers: list[dict[str, Any]] = response.json()["response"]["customers"]["customer"]
    return customers[index]


def seeded(api: Api, **extra: Any) -> int:
    identifiers = [
        {"type": "mobile", "value": mobile(1)},
        {"type": "email", "value": "one@example.com"},
    ]
    return api.add_ok(member(1, identifiers=identifiers, **extra))


@pytest.mark.parametrize(
    "finder",
    [{"mobile": mobile(1)}, {"email": "one@example.com"}, {"external_id": "EXT-1"}, {"id": "{id}"}],
    ids=["mobile", "email", "external_id", "id"],
)
def test_it_finds_the_customer_by(api: Api, finder: dict[str, str]) -> None:
    customer_id = seeded(api)
    change = {"add": [{"type": "externalId", "value": "EXT-1"}]}
    api.http.post(
        f"/v2/customers/{customer_id}/changeIdentifier", params={"source": "INSTORE"}, json=change
    )
    finder = {k: v.format(id=customer_id) for k, v in finder.items()}
    response = v11(api, {**finder, "firstname": "Renamed"})
    assert response.status_code == 200
    status = response.json()["response"]["status"]
    assert status == {
        "success": "true",
        "code": 200,
        "message": "Success",
        "total": "1",
        "success_count": "1",
    }
    assert item(response)["user_id"] == customer_id
    assert item(response)["firstname"] == "Renamed"
    assert item(response)["item_status"] == {
        "success": "true",
        "code": "1000",
        "message": "Customer successfully updated",
        "warnings": {"warning": []},
    }


def test_it_answers_500_and_1012_for_an_unknown_customer(api: Api) -> None:
    response = v11(api, {"mobile": mobile(7)})
    assert response.status_code == 500
    assert response.json()["response"]["status"]["success"] == "false"
    assert item(response)["item_status"]["code"] == "1012"


def test_it_answers_201_when_some_customers_fail(api: Api) -> None:
    seeded(api)
    response = v11(api, {"mobile": mobile(1)}, {"mobile": mobile(8)})
    assert response.status_code == 201
    assert response.json()["response"]["status"]["success_count"] == "1"


def test_it_fills_an_empty_secondary_identifier_when_the_org_flag_allows(
    make_api: Callable[..., Api],
) -> None:
    api = make_api({"registration": {"CONF_ALLOW_EMAIL_UPDATE": True}})
    customer_id = api.add_ok(member(1, identifiers=[{"type": "mobile", "value": mobile(1)}]))
    response = v11(api, {"mobile": mobile(1), "email": "filled@example.com"})
    assert item(response)["email"] == "filled@example.com"
    assert api.details("filled@example.com", name="email").json()["id"] == customer_id


def test_it_fails_an_item_that_would_change_a_secondary_identifier(api: Api) -> None:
    seeded(api)
    response = v11(api, {"mobile": mobile(1), "email": "changed@example.com"})
    assert response.status_code == 500
    assert item(response)["item_status"]["code"] == "1024"
    assert api.details(mobile(1)).json()["profiles"][0]["identifiers"][1]["value"] == (
        "one@example.com"
    )


def test_it_never_changes_the_primary_identifier(make_api: Callable[..., Api]) -> None:
    api = make_api({"registration": {"CONF_ALLOW_MOBILE_UPDATE": True}})
    seeded(api)
    response = v11(api, {"email": "one@example.com", "mobile": mobile(2)})
    assert item(response)["item_status"]["warnings"] == {"warning": ["91005"]}
    assert item(response)["mobile"] == mobile(1)


def test_it_ignores_an_identifier_another_customer_holds(api: Api) -> None:
    api.add_ok(member(1, identifiers=[{"type": "mobile", "value": mobile(1)}]))
    api.add_ok(member(2))
    response = v11(api, {"mobile": mobile(1), "email": "member2@example.com"})
    assert item(response)["item_status"]["warnings"] == {"warning": ["91007"]}


def test_it_updates_subscriptions_and_fraud_status(api: Api) -> None:
    seeded(api)
    subscription = {"priority": "BULK", "scope": "all", "is_subscribed": "0", "channel": "sms"}
    response = v11(
        api,
        {
            "mobile": mobile(1),
            "subscriptions": {"subscription": [subscription]},
            "fraud_status": {"status": "CONFIRMED"},
        },
    )
    customer = item(response)
    assert {"channel": "SMS", "priority": "BULK", "scope": "ALL", "status": "0"} in customer[
        "subscriptions"
    ]["subscription"]
    assert customer["fraud_status"] == "CONFIRMED"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"type": "NON_LOYALTY"}, "1046"),
        ({"fraud_status": {"status": "MAYBE"}}, "1024"),
        (
            {
                "subscriptions": {
                    "subscription": [{"channel": "fax", "priority": "BULK", "is_subscribed": "1"}]
                }
            },
            "1101",
        ),
        (
            {
                "subscriptions": {
                    "subscription": [{"channel": "sms", "priority": "LOUD", "is_subscribed": "1"}]
                }
            },
            "1102",
        ),
        (
            {
                "subscriptions": {
                    "subscription": [{"channel": "sms", "priority": "BULK", "is_subscribed": "2"}]
                }
            },
            "1106",
        ),
    ],
)
def test_it_fails_an_item_with(api: Api, change: dict[str, Any], code: str) -> None:
    seeded(api)
    response = v11(api, {"mobile": mobile(1), **change})
    assert item(response)["item_status"]["code"] == code


def test_it_converts_non_loyalty_to_loyalty(api: Api) -> None:
    seeded(api, loyaltyInfo={"loyaltyType": "non_loyalty"})
    response = v11(api, {"mobile": mobile(1), "type": "LOYALTY"})
    assert item(response)["type"] == "LOYALTY"
    assert item(response)["loyalty_points"] == 100


def test_it_warns_about_unknown_custom_and_extended_fields(api: Api) -> None:
    seeded(api)
    fields = {"field": [{"name": "shoe_size", "value": "9"}]}
    response = v11(
        api,
        {
            "mobile": mobile(1),
            "custom_fields": fields,
            "extended_fields": {
                "field": [{"name": "city", "value": "Paris"}, {"name": "nope", "value": "x"}]
            },
        },
    )
    assert item(response)["item_status"]["warnings"] == {"warning": ["1017", "91015"]}
    assert {"name": "city", "value": "Paris"} in item(response)["extended_fields"]["field"]


def test_it_answers_400_for_a_body_without_root_customer(api: Api) -> None:
    response = api.http.post(PATH, json={"customer": []})
    assert response.status_code == 400
    assert response.json()["response"]["status"]["success"] == "false"
