"""E13 GET /v2/customers/search over HTTP: prefixes of names and identifiers, any case, paged."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from customers.capillary_emulator.handlers import search as search_handler

from .conftest import Api, codes_of, member, mobile

SEARCH = "/v2/customers/search"


def search(api: Api, q: str, **params: Any) -> httpx.Response:
    return api.http.get(SEARCH, params={"q": q, **params})


def hits(api: Api, q: str, **params: Any) -> list[int]:
    response = search(api, q, **params)
    assert response.status_code == 200, response.text
    return [hit["userId"] for hit in response.json()["data"]]


def priya(api: Api, n: int = 1, **profile: Any) -> int:
    identifiers = [
        {"type": "mobile", "value": mobile(n)},
        {"type": "email", "value": f"pj{n}@example.com"},
        {"type": "externalId", "value": f"EXT-{n}"},
        {"type": "cardnumber", "value": f"MC{n:08d}"},
    ]
    body = member(
        n,
        identifiers=identifiers,
        profile={"firstName": "Priya", "lastName": "Johnson", **profile},
    )
    return api.add_ok(body)


def test_it_answers_in_the_documented_shape(api: Api) -> None:
    customer_id = priya(api)
    response = search(api, "pri", limit=10, offset=0)
    assert response.status_code == 200
    assert response.json() == {
        "pagination": {"limit": 10, "offset": 0, "total": 1},
        "data": [
            {
                "userId": customer_id,
                "matchedIdentifiers": [
                    {
                        "idType": "firstName",
                        "idValue": "Priya",
                        "source": "INSTORE",
                        "accountId": "",
                    }
                ],
                "profiles": [{"source": "INSTORE", "firstName": "Priya", "lastName": "Johnson"}],
            }
        ],
        "warnings": [],
        "errors": [],
    }


def test_it_matches_the_start_of_first_name_last_name_mobile_email_external_id_and_card(
    api: Api,
) -> None:
    customer_id = priya(api)
    api.add_ok(member(50))
    for keyword, id_type, value in (
        ("Pri", "firstName", "Priya"),
        ("John", "lastName", "Johnson"),
        (mobile(1)[:11], "mobile", mobile(1)),
        ("pj1@ex", "email", "pj1@example.com"),
        ("EXT-", "externalId", "EXT-1"),
        ("MC0000", "cardnumber", "MC00000001"),
    ):
        answer = search(api, keyword).json()
        assert [hit["userId"] for hit in answer["data"]] == [customer_id], keyword
        matched = answer["data"][0]["matchedIdentifiers"]
        assert {"idType": id_type, "idValue": value, "source": "INSTORE", "accountId": ""} in (
            matched
        ), keyword


def test_it_matches_only_prefixes(api: Api) -> None:
    priya(api)
    assert hits(api, "riya") == []
    assert hits(api, "ohnson") == []
    assert hits(api, "example.com") == []


def test_it_ignores_case_in_names_and_identifiers(api: Api) -> None:
    customer_id = priya(api)
    api.add_ok(member(3, profile={"firstName": "Émile", "lastName": "Zola"}))
    assert hits(api, "PRIYA") == [customer_id]
    assert hits(api, "PJ1@EXAMPLE") == [customer_id]
    assert hits(api, "mc000") == [customer_id]
    assert len(hits(api, "émi")) == 1
    assert len(hits(api, "ÉMILE")) == 1


def test_a_keyword_with_a_space_matches_first_and_last_name_together(api: Api) -> None:
    customer_id = priya(api)
    api.add_ok(member(2, profile={"firstName": "Priya", "lastName": "Shah"}))
    answer = search(api, "priya  jo").json()
    assert [hit["userId"] for hit in answer["data"]] == [customer_id]
    assert [m["idType"] for m in answer["data"][0]["matchedIdentifiers"]] == [
        "firstName",
        "lastName",
    ]


def test_it_searches_every_source_and_lists_each_profile(api: Api) -> None:
    in_store = priya(api)
    in_app = api.add_ok(
        member(2, source="MOBILE_APP", account="app-1", profile={"firstName": "Prisha"})
    )
    answer = search(api, "pris").json()
    assert [hit["userId"] for hit in answer["data"]] == [in_app]
    assert answer["data"][0]["matchedIdentifiers"][0]["source"] == "MOBILE_APP"
    assert answer["data"][0]["matchedIdentifiers"][0]["accountId"] == "app-1"
    # Ordered by what matched ("prisha" before "priya"), then by userId.
    assert hits(api, "pri") == [in_app, in_store]


def test_it_pages_by_limit_and_offset_with_the_total_equal_matches_in_user_id_order(
    api: Api,
) -> None:
    ids = [priya(api, n) for n in range(1, 6)]
    first = search(api, "priya", limit=2).json()
    assert first["pagination"] == {"limit": 2, "offset": 0, "total": 5}
    assert [hit["userId"] for hit in first["data"]] == ids[:2]
    assert hits(api, "priya", limit=2, offset=2) == ids[2:4]
    assert hits(api, "priya", limit=2, offset=4) == ids[4:]
    assert hits(api, "priya", limit=2, offset=6) == []


def test_the_total_is_counted_to_a_bound_and_paging_goes_on_past_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_handler, "TOTAL_LIMIT", 3)
    ids = [priya(api, n) for n in range(1, 6)]
    answer = search(api, "priya", limit=2, offset=4).json()
    assert answer["pagination"]["total"] == 3
    assert [hit["userId"] for hit in answer["data"]] == ids[4:]


def test_a_member_matching_twice_is_one_hit_with_both_matches(api: Api) -> None:
    customer_id = priya(api, lastName="Prince")
    answer = search(api, "pri").json()
    assert answer["pagination"]["total"] == 1
    matched = {m["idType"] for m in answer["data"][0]["matchedIdentifiers"]}
    assert matched == {"firstName", "lastName"}
    assert answer["data"][0]["userId"] == customer_id


def test_a_merged_away_member_is_left_out(api: Api) -> None:
    survivor = api.add_ok(member(1))
    victim = api.add_ok(member(2, source="WEBSITE", profile={"firstName": "Merged"}))
    before = hits(api, "merged")
    assert before == [victim]
    merge = api.http.post(
        f"/v2/customers/{victim}/changeIdentifier",
        params={"source": "WEBSITE"},
        json={"add": [{"type": "email", "value": "member1@example.com"}]},
    )
    assert merge.json()["createdId"] == survivor
    # The victim's profile now belongs to the survivor, who is found; the victim is not.
    assert hits(api, "merged") == [survivor]
    assert victim not in hits(api, "first")


def test_a_missing_keyword_or_bad_paging_is_refused_with_400(api: Api) -> None:
    for params in (
        {},
        {"q": "  "},
        {"q": "a", "limit": "0"},
        {"q": "a", "limit": "101"},
        {"q": "a", "limit": "ten"},
        {"q": "a", "offset": "-1"},
        {"q": "x" * 256},
    ):
        response = api.http.get(SEARCH, params=params)
        assert response.status_code == 400, params
        assert codes_of(response) == [400], params


def test_it_needs_authentication(api: Api) -> None:
    response = httpx.get(api.http.base_url.join(SEARCH), params={"q": "pri"})
    assert response.status_code == 401


def test_it_is_rate_limited_by_the_default_row(make_api: Callable[..., Api]) -> None:
    api = make_api({"rate_limits": {"default": {"limit": 3, "per_seconds": 60}}})
    assert [search(api, "pri").status_code for _ in range(3)] == [200, 200, 200]
    refused = search(api, "pri")
    assert refused.status_code == 429
    assert codes_of(refused) == [429]
