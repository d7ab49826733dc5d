"""Basic and OAuth auth (401 / 498 / 403, E12) and the per-endpoint RPM limit (429)."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .conftest import Api, basic, member

TOKEN = "/v3/oauth/token/generate"


def token(
    api: Api, key: str = "membercare-key", secret: str = "membercare-secret"
) -> httpx.Response:
    return api.http.post(TOKEN, json={"key": key, "secret": secret}, headers={"Authorization": ""})


def as_token(
    api: Api, access_token: str, path: str = "/v2/customers/1", **params: Any
) -> httpx.Response:
    return api.http.get(
        path,
        params={"source": "INSTORE", **params},
        headers={"Authorization": "", "X-CAP-API-OAUTH-TOKEN": access_token},
    )


def status_of(response: httpx.Response) -> dict[str, Any]:
    status: dict[str, Any] = response.json()["response"]["status"]
    return status


def test_it_issues_a_different_token_on_every_call(api: Api) -> None:
    first, second = token(api).json(), token(api).json()
    assert first["errors"] is None
    assert first["data"]["ttlSeconds"] == 3600
    assert first["data"]["accessToken"] != second["data"]["accessToken"]


def test_it_answers_bad_client_credentials_with_320001_inside_a_200(api: Api) -> None:
    response = token(api, secret="wrong")
    assert response.status_code == 200
    assert response.json() == {
        "data": None,
        "errors": [{"code": 320001, "message": "Invalid client key and secret"}],
    }


def test_it_accepts_a_token_until_its_ttl_then_answers_498(api: Api) -> None:
    access_token = token(api).json()["data"]["accessToken"]
    assert (
        as_token(api, access_token).status_code == 400
    )  # authenticated: customer 1 is simply unknown
    api.clock.advance(3600)
    expired = as_token(api, access_token)
    assert expired.status_code == 498
    assert status_of(expired)["message"].startswith("Token expired at ")


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Authorization": ""}, "Unauthorized"),
        ({"Authorization": basic(password="wrong")}, "Authentication failed"),
        ({"Authorization": basic(till="nobody")}, "Authentication failed"),
        ({"Authorization": "Basic !!!"}, "Authentication failed"),
        ({"Authorization": "Bearer abc"}, "Unauthorized"),
        ({"Authorization": "", "X-CAP-API-OAUTH-TOKEN": "not.a.token"}, "Unauthorized"),
    ],
    ids=[
        "no credentials",
        "wrong password",
        "unknown till",
        "garbled basic",
        "bearer",
        "forged token",
    ],
)
def test_it_answers_401_for(api: Api, headers: dict[str, str], message: str) -> None:
    response = api.http.get("/v2/customers/1", params={"source": "INSTORE"}, headers=headers)
    assert response.status_code == 401
    assert status_of(response) == {"success": "false", "code": "401", "message": message}


def test_it_refuses_a_token_signed_with_another_secret(api: Api) -> None:
    header, payload, _ = token(api).json()["data"]["accessToken"].split(".")
    assert as_token(api, f"{header}.{payload}.AAAA").status_code == 401


def test_it_answers_403_for_an_api_client_outside_its_access_group(api: Api) -> None:
    access_token = token(api, "readonly-key", "readonly-secret").json()["data"]["accessToken"]
    response = api.http.post(
        "/v2/customers",
        json=member(1),
        headers={"Authorization": "", "X-CAP-API-OAUTH-TOKEN": access_token},
    )
    assert response.status_code == 403
    assert status_of(response)["message"] == "Client doesn't have access to the requested resource"


def test_it_answers_403_4000_for_a_till_outside_its_access_group(api: Api) -> None:
    response = api.add(member(1), headers={"Authorization": basic("readonly.till", "readonly123")})
    assert response.status_code == 403
    assert status_of(response)["code"] == "4000"


def test_it_attributes_changes_to_the_till_named_in_the_attribution_headers(api: Api) -> None:
    access_token = token(api).json()["data"]["accessToken"]
    headers = {
        "Authorization": "",
        "X-CAP-API-OAUTH-TOKEN": access_token,
        "X-CAP-API-ATTRIBUTION-ENTITY-TYPE": "TILL",
        "X-CAP-API-ATTRIBUTION-ENTITY-CODE": "store.server",
    }
    customer_id = api.add_ok(member(1), headers=headers)
    assert (
        api.get(customer_id).json()["profiles"][0]["attribution"]["createdBy"]["code"]
        == "store.server"
    )


def limited(make_api: Callable[..., Api], limit: int) -> Api:
    return make_api({"rate_limits": {"endpoints": {"E5b": {"limit": limit, "per_seconds": 60}}}})


def lookup_id(api: Api, **headers: str) -> httpx.Response:
    query = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": "919900000001"}
    return api.http.get("/v2/customers/lookup", params=query, headers=headers)


def test_it_answers_429_with_retry_after_once_the_rpm_is_spent(
    make_api: Callable[..., Api],
) -> None:
    api = limited(make_api, 2)
    assert [lookup_id(api).status_code for _ in range(2)] == [400, 400]
    refused = lookup_id(api)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "30"
    assert refused.json() == {
        "warnings": [],
        "errors": [{"status": False, "code": 429, "message": "Rate limit exceeded"}],
    }
    api.clock.advance(30)
    assert lookup_id(api).status_code == 400


def test_it_counts_each_endpoint_and_each_caller_separately(make_api: Callable[..., Api]) -> None:
    api = limited(make_api, 1)
    assert lookup_id(api).status_code == 400
    assert lookup_id(api).status_code == 429
    assert lookup_id(api, Authorization=basic("store.server", "server123")).status_code == 400
    assert api.add(member(1)).status_code == 200


def test_it_ships_the_emea_defaults() -> None:
    from customers.capillary_emulator import load_org_config

    org = load_org_config()
    assert (org.rate_limit("E1").limit, org.rate_limit("E2").limit, org.rate_limit("E4").limit) == (
        100,
        50,
        300,
    )
    assert org.rate_limit("E5").limit == 1000


def test_it_does_not_limit_when_rate_limits_are_off(make_api: Callable[..., Api]) -> None:
    api = make_api({"rate_limits": {"enabled": False, "endpoints": {"E5b": 1}}})
    assert {lookup_id(api).status_code for _ in range(3)} == {400}
