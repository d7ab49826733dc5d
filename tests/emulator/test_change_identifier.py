"""E7 POST /v2/customers/{userId}/changeIdentifier: add, remove, merge, cards."""

from typing import Any

import httpx
import pytest

from .conftest import Api, codes_of, member, mobile


def change(
    api: Api, customer_id: int, body: dict[str, Any], source: str = "INSTORE", **params: Any
) -> httpx.Response:
    return api.http.post(
        f"/v2/customers/{customer_id}/changeIdentifier",
        params={"source": source, **params},
        json=body,
    )


def identifiers(api: Api, customer_id: int) -> list[dict[str, Any]]:
    doc = api.get(customer_id).json()
    return [
        {"type": i["type"], "value": i["value"]} for p in doc["profiles"] for i in p["identifiers"]
    ]


def test_it_replaces_an_email(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    body = {
        "add": [{"type": "email", "value": "new@example.com"}],
        "remove": [{"type": "email", "value": "member1@example.com"}],
    }
    response = change(api, customer_id, body)
    assert response.json() == {"createdId": customer_id, "warnings": []}
    assert identifiers(api, customer_id) == [
        {"type": "mobile", "value": mobile(1)},
        {"type": "email", "value": "new@example.com"},
    ]


def test_it_accepts_put_as_well(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    body = {"add": [{"type": "externalId", "value": "EXT-9"}]}
    response = api.http.put(
        f"/v2/customers/{customer_id}/changeIdentifier", params={"source": "INSTORE"}, json=body
    )
    assert response.status_code == 200


def test_it_refuses_an_identifier_held_by_another_customer_in_the_same_source(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    api.add_ok(member(2))
    response = change(
        api, customer_id, {"add": [{"type": "email", "value": "member2@example.com"}]}
    )
    assert codes_of(response) == [8008]


def test_it_warns_when_the_identifier_is_already_attached(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    response = change(api, customer_id, {"add": [{"type": "mobile", "value": mobile(1)}]})
    assert codes_of(response, "warnings") == [8071, 8070]


@pytest.mark.parametrize(
    ("body", "code"),
    [({}, 400), ({"add": [{"type": "email", "value": "x@example.com"}]}, 8015)],
    ids=["nothing to change", "no profile in the source"],
)
def test_it_refuses(api: Api, body: dict[str, Any], code: int) -> None:
    customer_id = api.add_ok(member(1))
    assert codes_of(change(api, customer_id, body, source="WEBSITE")) == [code]


def test_it_merges_the_changed_customer_into_the_one_holding_the_identifier(api: Api) -> None:
    survivor = api.add_ok(member(1))
    victim = api.add_ok(member(2, source="WEBSITE"))
    response = change(
        api, victim, {"add": [{"type": "email", "value": "member1@example.com"}]}, source="WEBSITE"
    )
    assert response.json()["createdId"] == survivor
    assert codes_of(response, "warnings") == [8051]
    merged = api.get(victim)
    assert merged.json()["id"] == survivor
    assert codes_of(merged, "warnings") == [8069]
    assert sorted(p["source"] for p in merged.json()["profiles"]) == ["INSTORE", "WEBSITE"]
    points = api.get(survivor, embed="points").json()["pointsSummary"]["loyaltyPoints"]
    assert points == 200
    assert api.details(mobile(2), source="WEBSITE").json()["id"] == survivor


def test_it_refuses_writes_to_a_merge_victim(api: Api) -> None:
    api.add_ok(member(1))
    victim = api.add_ok(member(2, source="WEBSITE"))
    change(
        api, victim, {"add": [{"type": "email", "value": "member1@example.com"}]}, source="WEBSITE"
    )
    response = api.http.put(f"/v2/customers/{victim}", params={"source": "WEBSITE"}, json={})
    assert codes_of(response) == [8067]


def test_it_refuses_a_merge_when_both_have_a_profile_in_one_source(api: Api) -> None:
    api.add_ok(member(1))
    api.add_ok(member(1, source="WEBSITE", identifiers=[{"type": "mobile", "value": mobile(1)}]))
    other = api.add_ok(member(2, source="WEBSITE"))
    response = change(
        api, other, {"add": [{"type": "email", "value": "member1@example.com"}]}, source="WEBSITE"
    )
    assert codes_of(response) == [8066]


def test_it_links_and_delinks_a_card(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    link = {
        "add": [{"type": "cardnumber", "value": "CARD-7", "seriesId": 74, "statusLabel": "ACTIVE"}]
    }
    assert change(api, customer_id, link).status_code == 200
    cards = api.get(customer_id).json()["cardDetails"]
    assert [(c["cardNumber"], c["seriesCode"], c["statusInfo"]["label"]) for c in cards] == [
        ("CARD-7", "MCPHY", "ACTIVE")
    ]
    delink = {"remove": [{"type": "cardnumber", "value": "CARD-7", "statusLabel": "NOT_ISSUED"}]}
    assert change(api, customer_id, delink).status_code == 200
    assert api.get(customer_id).json()["cardDetails"] == []
    other = api.add_ok(member(2))
    assert change(api, other, link).status_code == 200


CARD_REFUSALS: list[tuple[str, dict[str, Any], int]] = [
    (
        "two cards in one call",
        {"add": [{"type": "cardnumber", "value": "A"}, {"type": "cardnumber", "value": "B"}]},
        3035,
    ),
    (
        "delinking a card the customer lacks",
        {"remove": [{"type": "cardnumber", "value": "ZZZ"}]},
        3031,
    ),
    (
        "a second active card of a one-card series",
        {"add": [{"type": "cardnumber", "value": "NEW", "seriesId": 73}]},
        3036,
    ),
]


@pytest.mark.parametrize(("case", "body", "code"), CARD_REFUSALS, ids=[r[0] for r in CARD_REFUSALS])
def test_it_refuses_card_changes_with(api: Api, case: str, body: dict[str, Any], code: int) -> None:
    customer_id = api.add_ok(
        member(
            1,
            identifiers=[
                {"type": "mobile", "value": mobile(1)},
                {"type": "cardnumber", "value": "OLD", "seriesId": 73},
            ],
        )
    )
    assert codes_of(change(api, customer_id, body)) == [code]


def test_it_refuses_a_card_linked_to_someone_else(api: Api) -> None:
    api.add_ok(
        member(
            1,
            identifiers=[
                {"type": "mobile", "value": mobile(1)},
                {"type": "cardnumber", "value": "TAKEN", "seriesId": 74},
            ],
        )
    )
    other = api.add_ok(member(2))
    response = change(
        api, other, {"add": [{"type": "cardnumber", "value": "TAKEN", "seriesId": 74}]}
    )
    assert codes_of(response) == [3009]
