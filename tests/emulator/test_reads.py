"""E5 customerDetails, E5b id lookup, E6 customer by id."""

from collections.abc import Callable
from typing import Any

import pytest

from .conftest import Api, codes_of, member, mobile

DETAILS = "/v2/customers/lookup/customerDetails"


def test_it_finds_a_customer_by_each_identifier_type(api: Api) -> None:
    card = {"type": "cardnumber", "value": "CARD-1"}
    identifiers = [
        {"type": "mobile", "value": mobile(1)},
        {"type": "email", "value": "one@example.com"},
        {"type": "externalId", "value": "EXT-1"},
        card,
    ]
    customer_id = api.add_ok(member(1, identifiers=identifiers))
    for name, value in (
        ("mobile", mobile(1)),
        ("email", "one@example.com"),
        ("externalId", "EXT-1"),
        ("cardnumber", "CARD-1"),
        ("cardNumber", "CARD-1"),
    ):
        response = api.details(value, name=name)
        assert response.status_code == 200, name
        assert response.json()["id"] == customer_id


LOOKUP_REFUSALS: list[tuple[str, dict[str, str], int]] = [
    ("no source", {"identifierName": "mobile", "identifierValue": "1"}, 8001),
    (
        "an unknown source",
        {"source": "MYSPACE", "identifierName": "mobile", "identifierValue": "1"},
        8011,
    ),
    ("no identifier", {"source": "INSTORE"}, 8002),
    (
        "an unsupported identifier name",
        {"source": "INSTORE", "identifierName": "fbId", "identifierValue": "1"},
        8013,
    ),
    (
        "a multi-account source without account",
        {"source": "WECHAT", "identifierName": "mobile", "identifierValue": "1"},
        8015,
    ),
    (
        "an unknown identifier",
        {"source": "INSTORE", "identifierName": "mobile", "identifierValue": mobile(9)},
        8015,
    ),
]


@pytest.mark.parametrize(
    ("case", "query", "code"), LOOKUP_REFUSALS, ids=[r[0] for r in LOOKUP_REFUSALS]
)
def test_it_refuses_a_lookup_with(api: Api, case: str, query: dict[str, str], code: int) -> None:
    response = api.http.get(DETAILS, params=query)
    assert response.status_code == 400
    assert codes_of(response) == [code]


def test_it_answers_8065_when_the_identifier_lives_in_another_source(api: Api) -> None:
    api.add_ok(member(1))
    assert codes_of(api.details(mobile(1), source="WEBSITE")) == [8065]


def test_it_searches_every_source_with_all(api: Api) -> None:
    customer_id = api.add_ok(member(1, source="WECHAT", account="wx-main"))
    assert api.details(mobile(1), source="ALL").json()["id"] == customer_id


def test_it_embeds_what_is_asked_for(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    doc = api.details(
        mobile(1), embed="points,subscriptions,mlp,customerStatus", includedFraudDetails="true"
    ).json()
    assert doc["id"] == customer_id
    assert doc["pointsSummary"]["loyaltyPoints"] == 100
    assert len(doc["subscriptionInfo"]["subscriptions"]) == 4
    assert doc["loyaltyProgramDetails"][0]["programId"] == 469
    assert doc["customerStatus"] == {"label": "Active", "labelId": 54, "status": "ACTIVE"}
    assert doc["fraudDetails"]["status"] == "NOT_FRAUD"


def test_it_returns_only_the_current_profile_when_asked(api: Api) -> None:
    api.add_ok(member(1))
    api.add_ok(member(1, source="WEBSITE"))
    assert len(api.details(mobile(1)).json()["profiles"]) == 2
    only = api.details(mobile(1), source="WEBSITE", includedOnlyCurrentProfile="true").json()[
        "profiles"
    ]
    assert [p["source"] for p in only] == ["WEBSITE"]


def test_it_resolves_comma_lists_by_the_primary_identifier_under_dual_eligibility(
    make_api: Callable[..., Api],
) -> None:
    api = make_api({"registration": {"dual_eligibility": True}})
    customer_id = api.add_ok(member(1))
    found = api.details(f"member1@example.com,{mobile(1)}", name="email,mobile")
    assert found.json()["id"] == customer_id
    assert codes_of(api.details("member1@example.com,x", name="email,externalId")) == [8015]


def test_it_answers_the_id_only_lookup(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    query = {
        "source": "INSTORE",
        "identifierName": "email",
        "identifierValue": "member1@example.com",
    }
    assert api.http.get("/v2/customers/lookup", params=query).json() == {
        "entity": customer_id,
        "warnings": [],
    }


GET_REFUSALS: list[tuple[str, dict[str, Any], int]] = [
    ("no source", {}, 8016),
    ("an unknown source", {"source": "MYSPACE"}, 8012),
    ("a multi-account source without account", {"source": "WECHAT"}, 8045),
    ("a source the customer is not in", {"source": "WEBSITE"}, 8065),
]


@pytest.mark.parametrize(("case", "query", "code"), GET_REFUSALS, ids=[r[0] for r in GET_REFUSALS])
def test_it_refuses_a_get_by_id_with(api: Api, case: str, query: dict[str, Any], code: int) -> None:
    customer_id = api.add_ok(member(1))
    response = api.http.get(f"/v2/customers/{customer_id}", params=query)
    assert codes_of(response) == [code]


def test_it_answers_8015_for_an_unknown_id_and_a_blank_400_for_a_malformed_one(api: Api) -> None:
    assert codes_of(api.get(424242)) == [8015]
    malformed = api.http.get("/v2/customers/12x", params={"source": "INSTORE"})
    assert (malformed.status_code, malformed.content) == (400, b"")


def test_it_puts_the_request_id_on_every_response(api: Api) -> None:
    responses = [
        api.get(1),
        api.http.get("/nowhere"),
        api.http.delete("/v2/customers"),
        api.add(member(1)),
    ]
    ids = [r.headers["X-Cap-Requestid"] for r in responses]
    assert all(len(i) == 32 for i in ids)
    assert len(set(ids)) == 4
    assert [r.status_code for r in responses[1:3]] == [404, 405]
