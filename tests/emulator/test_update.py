"""E2 PUT /v2/customers/{userId} and E2b PUT /v2/customers/lookup (seed S2)."""

from typing import Any

import pytest

from .conftest import Api, codes_of, member, mobile


def update(api: Api, customer_id: Any, body: dict[str, Any], **params: Any) -> Any:
    return api.http.put(
        f"/v2/customers/{customer_id}", params={"source": "INSTORE", **params}, json=body
    )


REFUSALS: list[tuple[str, str, dict[str, Any], dict[str, Any], int]] = [
    ("an unknown customer", "999", {}, {}, 8015),
    ("a non-numeric customer id", "abc", {}, {}, 8015),
    ("an unknown source", "{id}", {"source": "MYSPACE"}, {}, 3217),
    ("an unknown account", "{id}", {"source": "MOBILE_APP", "accountId": "nope"}, {}, 3217),
    ("a missing account", "{id}", {"source": "MOBILE_APP"}, {}, 8045),
    ("a source the customer has no profile in", "{id}", {"source": "WEBSITE"}, {}, 8015),
    ("loyalty to non_loyalty", "{id}", {}, {"loyaltyInfo": {"loyaltyType": "non_loyalty"}}, 8018),
    (
        "an enrolment already held",
        "{id}",
        {},
        {"loyaltyProgramEnrollments": [{"programId": 469}]},
        10002,
    ),
    (
        "an unknown comm channel",
        "{id}",
        {},
        {"profiles": [{"commChannels": [{"type": "pager"}]}]},
        8010,
    ),
]


@pytest.mark.parametrize(
    ("case", "path_id", "params", "body", "code"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_it_refuses_an_update_of(
    api: Api, case: str, path_id: str, params: dict[str, Any], body: dict[str, Any], code: int
) -> None:
    customer_id = api.add_ok(member(1))
    before = api.get(customer_id).json()
    response = update(api, path_id.format(id=customer_id), body, **params)
    assert response.status_code == 400
    assert codes_of(response) == [code]
    assert api.get(customer_id).json() == before


def test_it_updates_names_fields_channels_and_extended_fields(api: Api) -> None:
    customer_id = api.add_ok(member(1, extendedFields={"city": "Pune"}))
    body = {
        "profiles": [
            {
                "firstName": "Tom",
                "lastName": "Sawyer",
                "fields": {"gender": "Male", "city": "Bangalore"},
                "commChannels": [
                    {
                        "type": "email",
                        "value": "tom@example.com",
                        "primary": "true",
                        "verified": "true",
                    }
                ],
            }
        ],
        "extendedFields": {"gender": "MALE"},
    }
    response = update(api, customer_id, body)
    assert response.status_code == 200
    assert response.json() == {"createdId": customer_id, "warnings": [], "sideEffects": []}
    doc = api.get(customer_id).json()
    profile = doc["profiles"][0]
    assert (profile["firstName"], profile["lastName"]) == ("Tom", "Sawyer")
    assert profile["fields"] == {"gender": "Male", "city": "Bangalore"}
    assert profile["commChannels"] == [
        {
            "type": "email",
            "value": "tom@example.com",
            "primary": True,
            "verified": True,
            "meta": {},
            "attributes": {},
        }
    ]
    assert doc["extendedFields"] == {"city": "Pune", "gender": "Male"}


def test_it_ignores_identifiers_and_source_in_the_body(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    body = {
        "profiles": [
            {"source": "WEBSITE", "identifiers": [{"type": "mobile", "value": mobile(99)}]}
        ]
    }
    assert update(api, customer_id, body).status_code == 200
    profile = api.get(customer_id).json()["profiles"][0]
    assert profile["source"] == "INSTORE"
    assert {"type": "mobile", "value": mobile(1)} in profile["identifiers"]
    assert api.details(mobile(99)).json()["errors"][0]["code"] == 8015


def test_it_upgrades_non_loyalty_to_loyalty_with_points_side_effects(api: Api) -> None:
    customer_id = api.add_ok(member(1, loyaltyInfo={"loyaltyType": "non_loyalty"}))
    body = {
        "loyaltyInfo": {"loyaltyType": "loyalty"},
        "loyaltyProgramEnrollments": [{"programId": 699, "loyaltyPoints": 50}],
    }
    response = update(api, customer_id, body, use_async="false")
    effects = response.json()["sideEffects"]
    assert effects[0] == {
        "entityType": "USER",
        "rawAwardedPoints": 50.0,
        "awardedPoints": 50,
        "type": "points",
    }
    assert api.get(customer_id).json()["loyaltyInfo"]["loyaltyType"] == "loyalty"


def test_it_returns_no_side_effects_with_use_async(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    body = {"loyaltyProgramEnrollments": [{"programId": 699, "loyaltyPoints": 50}]}
    response = update(api, customer_id, body, use_async="true")
    assert response.json()["sideEffects"] == []
    details = api.get(customer_id, embed="mlp").json()["loyaltyProgramDetails"]
    assert {d["programId"]: d["loyaltyPoints"] for d in details}[699] == 50


def test_it_updates_the_profile_of_the_given_account(api: Api) -> None:
    ids = [{"type": "cuid", "value": "c-1"}]
    customer_id = api.add_ok(member(1, source="MOBILE_APP", account="app-2", identifiers=ids))
    response = update(
        api,
        customer_id,
        {"profiles": [{"firstName": "App"}]},
        source="MOBILE_APP",
        accountId="app-2",
    )
    assert response.status_code == 200
    assert api.get(customer_id).json()["profiles"][0]["firstName"] == "App"


def test_it_updates_a_customer_found_by_identifier(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    query = {
        "source": "INSTORE",
        "identifierName": "email",
        "identifierValue": "member1@example.com",
    }
    response = api.http.put(
        "/v2/customers/lookup", params=query, json={"profiles": [{"lastName": "Found"}]}
    )
    assert response.json()["createdId"] == customer_id
    assert api.get(customer_id).json()["profiles"][0]["lastName"] == "Found"


def test_it_answers_8015_for_an_update_by_an_unknown_identifier(api: Api) -> None:
    query = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": mobile(5)}
    response = api.http.put("/v2/customers/lookup", params=query, json={})
    assert codes_of(response) == [8015]
