"""The emulator's control hooks over HTTP: the clock, runtime org settings, rate
limits per API key, and a profile-update promotion (``/_emulator/...``)."""

from typing import Any

import httpx

from .conftest import Api, basic, codes_of, member, mobile

TOKEN = "/v3/oauth/token/generate"


def org(api: Api, changes: dict[str, Any]) -> httpx.Response:
    return api.http.post("/_emulator/org", json=changes)


def rename(api: Api, customer_id: int, name: str, **query: str) -> httpx.Response:
    return api.http.put(
        f"/v2/customers/{customer_id}",
        params={"source": "INSTORE", **query},
        json={"profiles": [{"firstName": name}]},
    )


def points(api: Api, customer_id: int) -> float:
    details = api.get(customer_id, embed="points").json()
    return float(details["pointsSummary"]["loyaltyPoints"])


def test_advancing_the_clock_expires_a_token_with_498_and_resetting_it_revives_it(
    api: Api,
) -> None:
    token = api.http.post(TOKEN, json={"key": "membercare-key", "secret": "membercare-secret"})
    headers = {"X-CAP-API-OAUTH-TOKEN": token.json()["data"]["accessToken"]}
    lookup = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": mobile(1)}
    api.add_ok(member(1))
    bare = httpx.Client(base_url=str(api.http.base_url), headers=headers)

    assert bare.get("/v2/customers/lookup", params=lookup).status_code == 200
    moved = api.http.post("/_emulator/clock", json={"advance": 3600})
    assert moved.json()["offsetSeconds"] == 3600
    expired = bare.get("/v2/customers/lookup", params=lookup)
    assert expired.status_code == 498
    assert expired.json()["response"]["status"]["message"].startswith("Token expired at")

    api.http.delete("/_emulator/clock")
    assert bare.get("/v2/customers/lookup", params=lookup).status_code == 200
    bare.close()


def test_setting_the_clock_dates_what_the_emulator_writes(api: Api) -> None:
    answer = api.http.post("/_emulator/clock", json={"set": "2030-02-03T04:05:06Z"})
    assert answer.json()["now"] == "2030-02-03T04:05:06Z"
    customer_id = api.add_ok(member(1))
    created = api.get(customer_id).json()["loyaltyInfo"]["attributionV2"]["createDate"]
    assert created == "2030-02-03T04:05:06Z"
    assert api.http.get("/_emulator/clock").json()["now"] == "2030-02-03T04:05:06Z"


def test_a_bad_clock_change_is_refused_and_changes_nothing(api: Api) -> None:
    for body in ({"advance": "soon"}, {"set": "yesterday"}, {}, {"set": 1, "advance": 1}):
        refused = api.http.post("/_emulator/clock", json=body)
        assert refused.status_code == 400, body
    assert api.http.get("/_emulator/clock").json()["offsetSeconds"] == 0


def test_an_org_setting_changes_at_runtime_and_is_restored(api: Api) -> None:
    changed = org(api, {"customer_status": {"default_label": "Gold Active"}})
    assert changed.json() == {"changes": {"customer_status": {"default_label": "Gold Active"}}}
    first = api.add_ok(member(1))
    assert api.get(first, embed="customerStatus").json()["customerStatus"]["label"] == (
        "Gold Active"
    )

    assert api.http.delete("/_emulator/org").json() == {"changes": {}}
    second = api.add_ok(member(2))
    assert api.get(second, embed="customerStatus").json()["customerStatus"]["label"] == "Active"


def test_one_registration_flag_switches_on_at_runtime(api: Api) -> None:
    api.add_ok(member(1, identifiers=[{"type": "mobile", "value": mobile(1)}]))
    update = {"root": {"customer": [{"mobile": mobile(1), "email": "new@example.com"}]}}
    before = api.http.post("/v1.1/customer/update", json=update).json()
    assert before["response"]["customers"]["customer"][0]["email"] == ""
    org(api, {"registration": {"CONF_ALLOW_EMAIL_UPDATE": True}})
    after = api.http.post("/v1.1/customer/update", json=update).json()
    assert after["response"]["customers"]["customer"][0]["email"] == "new@example.com"


def test_a_bad_org_change_is_refused_naming_the_key_and_changes_nothing(api: Api) -> None:
    refused = org(api, {"registration": {"CONF_ALLOW_EMAIL_UPDATE": "yes"}})
    assert refused.status_code == 400
    assert "registration.CONF_ALLOW_EMAIL_UPDATE" in refused.json()["errors"][0]["message"]
    assert api.http.get("/_emulator/org").json() == {"changes": {}}


def test_rate_limits_count_per_api_key_across_endpoints(api: Api) -> None:
    org(api, {"rate_limits": {"keys": {"membercare.till": {"limit": 2, "per_seconds": 60}}}})
    customer_id = api.add_ok(member(1))
    assert api.get(customer_id).status_code == 200
    limited = api.http.get("/v2/extendedFields")
    assert limited.status_code == 429
    assert codes_of(limited) == [429]
    assert int(limited.headers["Retry-After"]) == 30

    other = httpx.Client(base_url=str(api.http.base_url))
    other.headers["Authorization"] = basic("store.server", "server123")
    assert other.get("/v2/extendedFields").status_code == 200
    other.close()
    api.clock.advance(30)
    assert api.http.get("/v2/extendedFields").status_code == 200


def test_a_default_quota_per_api_key_applies_to_every_key(api: Api) -> None:
    org(api, {"rate_limits": {"per_key": 1}})
    assert api.http.get("/v2/extendedFields").status_code == 200
    assert api.http.get("/v2/extendedFields").status_code == 429


def test_a_profile_update_promotion_shows_points_unless_use_async_hides_them(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    before = points(api, customer_id)
    org(api, {"promotions": {"profile_update": {"points": 25}}})

    waited = rename(api, customer_id, "Asha")
    assert [(e["type"], e["awardedPoints"]) for e in waited.json()["sideEffects"]] == [
        ("points", 25)
    ]
    hidden = rename(api, customer_id, "Asha B", use_async="true")
    assert hidden.json()["sideEffects"] == []
    assert points(api, customer_id) == before + 50


def test_no_change_earns_no_profile_update_points(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    org(api, {"promotions": {"profile_update": {"points": 25}}})
    assert rename(api, customer_id, "First1").json()["sideEffects"] == []


def test_reset_clears_the_clock_and_the_org_changes(api: Api) -> None:
    api.http.post("/_emulator/clock", json={"advance": 60})
    org(api, {"registration": {"dual_eligibility": True}})
    api.http.post("/_emulator/reset")
    assert api.http.get("/_emulator/clock").json()["offsetSeconds"] == 0
    assert api.http.get("/_emulator/org").json() == {"changes": {}}
