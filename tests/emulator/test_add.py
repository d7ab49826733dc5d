"""E1 POST /v2/customers: the add rules of seed S5, over real HTTP."""

from collections.abc import Callable
from typing import Any

import pytest

from .conftest import Api, codes_of, member, mobile

REFUSALS: list[tuple[str, dict[str, Any], int]] = [
    ("no profiles", {"profiles": []}, 8084),
    ("a profile without source", member(profile={"source": None}), 8004),
    ("an unknown source", member(source="MYSPACE"), 3217),
    ("a source the org does not run", member(source="TMALL"), 3217),
    ("a multi-account source without account", member(source="MOBILE_APP"), 8045),
    ("an unknown account", member(source="MOBILE_APP", account="app-9"), 3217),
    ("no identifiers", member(identifiers=[]), 8005),
    ("only unknown identifier types", member(identifiers=[{"type": "fax", "value": "1"}]), 8005),
    (
        "an invalid primary mobile",
        member(identifiers=[{"type": "mobile", "value": "4567890"}]),
        8014,
    ),
    (
        "a mobile with an unknown country code",
        member(identifiers=[{"type": "mobile", "value": "861234567890"}]),
        8014,
    ),
    ("an unknown status label", member(statusLabel="Nope"), 8086),
    (
        "an unknown comm channel type",
        member(profile={"commChannels": [{"type": "fax", "value": "1"}]}),
        8010,
    ),
    ("an unknown program", member(loyaltyProgramEnrollments=[{"programId": 1}]), 400),
    (
        "a tier the program lacks",
        member(loyaltyProgramEnrollments=[{"programId": 469, "tierNumber": 9}]),
        400,
    ),
    (
        "a badly formatted tier expiry",
        member(loyaltyProgramEnrollments=[{"programId": 469, "tierExpiryDate": "2025-01-01"}]),
        400,
    ),
    (
        "an enrolment for a non-loyalty customer",
        member(
            loyaltyInfo={"loyaltyType": "non_loyalty"},
            loyaltyProgramEnrollments=[{"programId": 469}],
        ),
        8089,
    ),
    ("an unknown loyalty type", member(loyaltyInfo={"loyaltyType": "gold"}), 400),
    (
        "a card of an unknown series",
        member(identifiers=[{"type": "cardnumber", "value": "C1", "seriesId": 5}]),
        3004,
    ),
    (
        "a card with an unknown status label",
        member(identifiers=[{"type": "cardnumber", "value": "C1", "statusLabel": "SHINY"}]),
        3017,
    ),
]


@pytest.mark.parametrize(("case", "body", "code"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_it_refuses_an_add_with(api: Api, case: str, body: dict[str, Any], code: int) -> None:
    response = api.add(body)
    assert response.status_code == 400
    assert codes_of(response) == [code]
    assert response.json()["errors"][0]["status"] is False


def test_it_registers_a_customer_with_its_welcome_side_effects(api: Api) -> None:
    response = api.add(member(1))
    body = response.json()
    assert response.status_code == 200
    assert body["createdId"] > 0
    assert body["warnings"] == []
    kinds = [effect["type"] for effect in body["sideEffects"]]
    assert kinds == ["points", "coupon", "alternate_currency"]
    assert body["sideEffects"][0]["awardedPoints"] == 100


def test_it_refuses_the_same_identifier_again_in_the_same_source(api: Api) -> None:
    api.add_ok(member(1))
    response = api.add(member(2, identifiers=[{"type": "mobile", "value": mobile(1)}]))
    assert codes_of(response) == [8006]


def test_it_adds_a_source_account_to_the_customer_known_in_another_source(api: Api) -> None:
    first = api.add_ok(member(1))
    body = member(
        1,
        source="MOBILE_APP",
        account="app-1",
        identifiers=[{"type": "email", "value": "member1@example.com"}],
    )
    response = api.add(body)
    assert response.json()["createdId"] == first
    assert codes_of(response, "warnings") == [8050]
    profiles = api.get(first).json()["profiles"]
    assert [(p["source"], p["accountId"]) for p in profiles] == [
        ("INSTORE", ""),
        ("MOBILE_APP", "app-1"),
    ]


def test_it_keeps_identifiers_unique_per_account_of_a_multi_account_source(api: Api) -> None:
    one = [{"type": "cuid", "value": "cuid-1"}]
    first = api.add_ok(member(1, source="MOBILE_APP", account="app-1", identifiers=one))
    second = api.add(member(1, source="MOBILE_APP", account="app-2", identifiers=one))
    assert second.json()["createdId"] == first
    assert codes_of(api.add(member(1, source="MOBILE_APP", account="app-1", identifiers=one))) == [
        8006
    ]


def test_it_refuses_identifiers_of_two_different_customers(api: Api) -> None:
    api.add_ok(member(1))
    api.add_ok(member(2))
    both = [
        {"type": "mobile", "value": mobile(1)},
        {"type": "email", "value": "member2@example.com"},
    ]
    response = api.add(member(3, source="WEBSITE", identifiers=both))
    assert codes_of(response) == [8052]


def test_it_truncates_names_at_100_and_emails_at_255_characters(api: Api) -> None:
    long_email = "a" * 238 + "@mail.example.comabc"  # 258 characters; the first 255 are kept
    body = member(
        1,
        identifiers=[
            {"type": "mobile", "value": mobile(1)},
            {"type": "email", "value": long_email},
        ],
    )
    body["profiles"][0].update(firstName="  " + "F" * 150 + "  ", lastName="L" * 101)
    customer_id = api.add_ok(body)
    profile = api.get(customer_id).json()["profiles"][0]
    assert profile["firstName"] == "F" * 100
    assert profile["lastName"] == "L" * 100
    email = next(i["value"] for i in profile["identifiers"] if i["type"] == "email")
    assert email == long_email[:255]


def test_it_normalises_a_national_mobile_with_the_base_country_code(api: Api) -> None:
    customer_id = api.add_ok(member(1, identifiers=[{"type": "mobile", "value": "9988221100"}]))
    assert api.details("919988221100").json()["id"] == customer_id


def test_it_drops_an_invalid_secondary_email_with_a_warning(api: Api) -> None:
    body = member(
        1,
        identifiers=[
            {"type": "mobile", "value": mobile(1)},
            {"type": "email", "value": "not-an-email"},
        ],
    )
    response = api.add(body)
    assert response.status_code == 200
    assert codes_of(response, "warnings") == [8055]


def test_it_keeps_only_configured_custom_and_extended_fields_of_the_right_type(api: Api) -> None:
    body = member(
        1,
        profile={"fields": {"employee": "true", "household_size": "three", "shoe_size": "9"}},
        extendedFields={
            "gender": "FEMALE",
            "kid_status": "two",
            "ssnNumber": "123",
            "city": "Pune",
            "zip": "",
        },
    )
    response = api.add(body)
    warned = codes_of(response, "warnings")
    assert sorted(warned) == [1017, 1017, 91015, 91015]
    doc = api.get(response.json()["createdId"]).json()
    assert doc["profiles"][0]["fields"] == {"employee": "true"}
    assert doc["extendedFields"] == {"gender": "Female", "city": "Pune"}


def test_it_stores_empty_extended_fields_when_the_org_allows_them(
    make_api: Callable[..., Api],
) -> None:
    api = make_api({"registration": {"CONF_REJECT_EMPTY_OR_NULL_EF_VALUES": False}})
    customer_id = api.add_ok(member(1, extendedFields={"city": ""}))
    assert api.get(customer_id).json()["extendedFields"] == {"city": ""}


def test_it_warns_8107_when_the_org_has_no_default_status_label(
    make_api: Callable[..., Api],
) -> None:
    api = make_api({"customer_status": {"default_label": None}})
    response = api.add(member(1))
    assert codes_of(response, "warnings") == [8107]
    assert response.json()["warnings"][0]["message"] == "Default customer status label not set"


def test_it_enrols_with_the_given_tier_points_and_expiries(api: Api) -> None:
    enrolment = {
        "programId": 699,
        "tierNumber": 2,
        "loyaltyPoints": 75,
        "tierExpiryDate": "2025-02-11T16:36:17+05:30",
        "pointsExpiryDate": "2025-02-11T16:36:17+05:30",
    }
    response = api.add(member(1, loyaltyProgramEnrollments=[enrolment]))
    effects = response.json()["sideEffects"]
    assert effects[0] == {
        "entityType": "USER",
        "rawAwardedPoints": 75.0,
        "awardedPoints": 75,
        "type": "points",
    }
    details = api.get(response.json()["createdId"], embed="mlp").json()["loyaltyProgramDetails"]
    assert [
        (d["programId"], d["slabSNo"], d["currentSlab"], d["slabExpiryDate"]) for d in details
    ] == [(699, 2, "Elite", "2025-02-11T16:36:17+05:30")]


def test_it_enrols_in_every_program_with_mlp_single_enroll(api: Api) -> None:
    customer_id = api.add_ok(member(1), params={"mlp_single_enroll": "true"})
    details = api.get(customer_id, embed="mlp").json()["loyaltyProgramDetails"]
    assert sorted(d["programId"] for d in details) == [469, 699]


def test_it_rewards_the_referrer_too(api: Api) -> None:
    referrer = api.add_ok(member(1))
    response = api.add(member(2, referralCode=f"REF{referrer}"))
    referral = [e for e in response.json()["sideEffects"] if "customerId" in e]
    assert referral == [
        {
            "entityType": "USER",
            "rawAwardedPoints": 100.0,
            "awardedPoints": 100,
            "type": "points",
            "customerId": response.json()["createdId"],
        },
        {
            "entityType": "USER",
            "rawAwardedPoints": 100.0,
            "awardedPoints": 100,
            "type": "points",
            "customerId": referrer,
            "isReferrer": True,
        },
    ]
    points = api.get(referrer, embed="points").json()["pointsSummary"]["loyaltyPoints"]
    assert points == 200


@pytest.mark.parametrize(
    ("how", "kwargs"),
    [
        ("WAIT_FOR_DOWNSTREAM false", {"headers": {"WAIT_FOR_DOWNSTREAM": "false"}}),
        ("use_async", {"params": {"use_async": "true"}}),
        ("SKIP-DOWNSTREAM", {"headers": {"SKIP-DOWNSTREAM": "true"}}),
    ],
)
def test_it_returns_no_side_effects_when_loyalty_work_is_not_awaited(
    api: Api, how: str, kwargs: dict[str, Any]
) -> None:
    response = api.add(member(1), **kwargs)
    assert response.status_code == 200
    assert response.json()["sideEffects"] == []


def test_it_awards_nothing_to_a_non_loyalty_registration(api: Api) -> None:
    response = api.add(member(1, loyaltyInfo={"loyaltyType": "non_loyalty"}))
    assert response.json()["sideEffects"] == []
    assert (
        api.get(response.json()["createdId"]).json()["loyaltyInfo"]["loyaltyType"] == "non_loyalty"
    )


def test_it_issues_a_card_and_refuses_it_to_a_second_customer(api: Api) -> None:
    card = {"type": "cardnumber", "value": "12345678", "seriesId": 73, "statusLabel": "ACTIVE"}
    first = api.add_ok(member(1, identifiers=[{"type": "mobile", "value": mobile(1)}, card]))
    cards = api.get(first).json()["cardDetails"]
    assert [(c["cardNumber"], c["seriesId"], c["statusInfo"]["status"]) for c in cards] == [
        ("12345678", 73, "ACTIVE")
    ]
    response = api.add(
        member(2, source="WEBSITE", identifiers=[{"type": "mobile", "value": mobile(2)}, card])
    )
    assert codes_of(response) == [3009]


def test_it_takes_the_source_from_the_query_when_the_profile_has_none(api: Api) -> None:
    body = member(1)
    del body["profiles"][0]["source"]
    customer_id = api.add_ok(body, params={"source": "WEBSITE"})
    assert api.get(customer_id).json()["profiles"][0]["source"] == "WEBSITE"
