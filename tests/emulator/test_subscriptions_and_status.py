"""E8 subscriptions, E9 status label and status log, E9b customer labels."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .conftest import Api, codes_of, member, mobile

STATUS = "/v2/customers/lookup/status"


def subscribe(api: Api, customer_id: int, *items: dict[str, Any], **extra: Any) -> httpx.Response:
    return api.http.post(
        f"/v2/customers/{customer_id}/subscriptions", json={"subscriptions": list(items), **extra}
    )


def read(api: Api, customer_id: int) -> list[dict[str, Any]]:
    subscriptions: list[dict[str, Any]] = api.http.get(
        f"/v2/customers/{customer_id}/subscriptions"
    ).json()["subscriptions"]
    return subscriptions


def test_it_reports_the_default_for_each_reachable_channel_and_priority(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    response = api.http.get(f"/v2/customers/{customer_id}/subscriptions").json()
    assert response["subscriptions"] == [
        {"channel": "EMAIL", "priority": "BULK", "type": "OPTIN"},
        {"channel": "EMAIL", "priority": "TRANS", "type": "OPTIN"},
        {"channel": "SMS", "priority": "BULK", "type": "OPTIN"},
        {"channel": "SMS", "priority": "TRANS", "type": "OPTIN"},
    ]
    assert (response["campaignId"], response["communicationId"], response["warnings"]) == (0, 0, [])


def test_it_opts_out_per_channel_and_priority_and_answers_mobile_as_sms(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    item = {
        "channel": "MOBILE",
        "accountId": "",
        "priority": "BULK",
        "type": "OPTOUT",
        "orgUnitId": -1,
    }
    response = subscribe(
        api, customer_id, item, reason="asked at the till", campaignId=-1, communicationId=-1
    )
    assert response.status_code == 200
    assert response.json() == {
        "scope": {"scope": "USER", "subScope": "NONE"},
        "subscriptions": [item],
        "campaignId": -1,
        "communicationId": -1,
        "reason": "asked at the till",
        "warnings": [],
    }
    states = {(s["channel"], s["priority"]): s["type"] for s in read(api, customer_id)}
    assert states[("SMS", "BULK")] == "OPTOUT"
    assert states[("SMS", "TRANS")] == "OPTIN"
    log = api.http.get(f"/v2/customers/{customer_id}/subscriptionStatusChangeLog").json()["data"]
    assert [
        (row["commChannelType"], row["priority"], row["status"], row["reason"]) for row in log
    ] == [("SMS", "BULK", False, "asked at the till")]


def test_it_changes_subscriptions_of_a_customer_found_by_identifier(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    query = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": mobile(1)}
    item = {"channel": "whatsapp", "priority": "TRANS", "type": "OPTIN"}
    assert (
        api.http.post(
            "/v2/customers/lookup/subscriptions", params=query, json={"subscriptions": [item]}
        ).status_code
        == 200
    )
    found = api.http.get("/v2/customers/lookup/subscriptions", params=query).json()["subscriptions"]
    assert {"channel": "WHATSAPP", "priority": "TRANS", "type": "OPTIN"} in found
    assert customer_id


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ({"channel": "PIGEON", "priority": "BULK", "type": "OPTIN"}, 1101),
        ({"channel": "EMAIL", "priority": "LOUD", "type": "OPTIN"}, 1102),
        ({"channel": "EMAIL", "priority": "BULK", "type": "MAYBE"}, 1106),
    ],
)
def test_it_applies_the_good_subscriptions_and_warns_about_one_with(
    api: Api, item: dict[str, Any], code: int
) -> None:
    customer_id = api.add_ok(member(1))
    good = {"channel": "EMAIL", "priority": "TRANS", "type": "OPTOUT"}
    response = subscribe(api, customer_id, item, good)
    assert response.status_code == 200
    assert codes_of(response, "warnings") == [code]
    assert [s["channel"] for s in response.json()["subscriptions"]] == ["EMAIL"]


def test_it_answers_1012_for_subscriptions_of_an_unknown_customer(api: Api) -> None:
    assert codes_of(
        subscribe(api, 4242, {"channel": "EMAIL", "priority": "BULK", "type": "OPTIN"})
    ) == [1012]


def status(api: Api, body: dict[str, Any], **query: Any) -> httpx.Response:
    params = {
        "source": "INSTORE",
        "identifierName": "mobile",
        "identifierValue": mobile(1),
        **query,
    }
    return api.http.put(STATUS, params=params, json=body)


def test_it_moves_the_customer_to_a_label_and_logs_it(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    response = status(
        api, {"reason": "chargebacks", "label": "Suspicious", "createdOn": "2027-01-01T10:00:00Z"}
    )
    assert response.json() == {"createdId": customer_id, "warnings": []}
    log = api.http.get(f"/v2/customers/{customer_id}/statusLog").json()["data"]
    assert [(r["label"], r["prevLabel"], r["status"], r["isActive"]) for r in log] == [
        ("Suspicious", "Active", "SUSPENDED", True),
        ("Active", None, "ACTIVE", False),
    ]


STATUS_REFUSALS: list[tuple[str, dict[str, Any], dict[str, Any], int, int]] = [
    ("an unknown label", {"reason": "r", "label": "Nope"}, {}, 400, 8086),
    ("no reason", {"label": "Suspicious"}, {}, 403, 403),
    ("no source", {"reason": "r", "label": "Suspicious"}, {"source": ""}, 400, 8003),
    (
        "an unknown identifier name",
        {"reason": "r", "label": "Suspicious"},
        {"identifierName": "cardnumber"},
        400,
        8013,
    ),
    (
        "an unknown customer",
        {"reason": "r", "label": "Suspicious"},
        {"identifierValue": mobile(5)},
        400,
        8015,
    ),
]


@pytest.mark.parametrize(
    ("case", "body", "query", "http", "code"), STATUS_REFUSALS, ids=[r[0] for r in STATUS_REFUSALS]
)
def test_it_refuses_a_status_change_with(
    api: Api, case: str, body: dict[str, Any], query: dict[str, Any], http: int, code: int
) -> None:
    api.add_ok(member(1))
    response = status(api, body, **query)
    assert (response.status_code, codes_of(response)) == (http, [code])


def test_it_refuses_changes_to_a_deleted_customer(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    assert status(api, {"reason": "gdpr", "label": "Deleted"}).status_code == 200
    assert codes_of(status(api, {"reason": "oops", "label": "Active"})) == [3042]
    response = api.http.put(f"/v2/customers/{customer_id}", params={"source": "INSTORE"}, json={})
    assert codes_of(response) == [3042]


def test_it_answers_3044_when_the_org_disables_customer_status(
    make_api: Callable[..., Api],
) -> None:
    api = make_api({"customer_status": {"enabled": False}})
    api.add_ok(member(1))
    assert codes_of(status(api, {"reason": "r", "label": "Suspicious"})) == [3044]


def test_it_adds_and_removes_customer_labels(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    path = f"/v2/customers/{customer_id}/changeLabels"
    added = api.http.post(
        path, json={"add": [{"labelName": "Premium"}, {"labelName": "Newsletter"}]}
    )
    assert added.json() == {"entity": customer_id, "warnings": []}
    api.http.post(path, json={"remove": [{"labelName": "Newsletter"}]})
    labels = api.http.get(f"/v2/customers/{customer_id}/labels").json()["data"]
    assert [(label["labelName"], label["deleted"]) for label in labels] == [("Premium", False)]
