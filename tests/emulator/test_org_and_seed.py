"""The org configuration file and the member seeder."""

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from customers.capillary_emulator import Emulator, load_org_config, seed_members
from customers.capillary_emulator.org import OrgConfigError
from customers.capillary_emulator.org_file import DEFAULT_ORG_PATH, default_org_data
from customers.capillary_emulator.rules import normalise_mobile

from .conftest import deep_merge


def test_it_ships_the_documented_defaults() -> None:
    org = load_org_config()
    assert org.tills["membercare.till"].password == "membercare123"
    client = org.oauth_clients["membercare-key"]
    assert (client.secret, client.ttl_seconds) == ("membercare-secret", 3600)
    assert org.sources["MOBILE_APP"] == ("app-1", "app-2")
    assert org.sources["WECHAT"] == ("wx-main",)
    assert org.max_batch_size == 100
    assert org.default_status_label == "Active"
    assert org.flags["dual_eligibility"] is False
    assert all(
        block.get("rate", 0) == 0 and block.get("next", 0) == 0 for block in org.faults.values()
    )


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"tills": [{"code": "t"}]}, "tills[0].password"),
        ({"tills": [{"code": "t", "password": 5, "id": 1}]}, "tills[0].password"),
        ({"sources": {"MYSPACE": []}}, "sources.MYSPACE"),
        (
            {"registration": {"CONF_ALLOW_MOBILE_UPDATE": "yes"}},
            "registration.CONF_ALLOW_MOBILE_UPDATE",
        ),
        ({"registration": {"CONF_TYPO": True}}, "registration.CONF_TYPO"),
        ({"customer_status": {"default_label": "Gone"}}, "customer_status.default_label"),
        (
            {"mobile": {"rules": [{"country_code": "+1", "length": 10}]}},
            "mobile.rules[0].country_code",
        ),
        ({"rate_limits": {"endpoints": {"E1": {"limit": 0}}}}, "rate_limits.endpoints.E1.limit"),
        ({"faults": {"timeout": {"rate": 2}}}, "faults.timeout.rate"),
        (
            {"oauth_clients": [{"key": "k", "secret": "s", "till": "nowhere"}]},
            "oauth_clients[0].till",
        ),
    ],
)
def test_it_names_the_key_of_a_bad_org_config(
    tmp_path: Path, change: dict[str, Any], named: str
) -> None:
    path = tmp_path / "org.json"
    path.write_text(json.dumps(deep_merge(default_org_data(), change)))
    with pytest.raises(OrgConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        load_org_config(path)


def test_it_refuses_an_org_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "org.json"
    path.write_text("{")
    with pytest.raises(OrgConfigError, match="not JSON"):
        load_org_config(path)


def test_it_picks_the_org_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "org.json"
    path.write_text(json.dumps(deep_merge(default_org_data(), {"org_id": 7})))
    monkeypatch.setenv("CAPILLARY_EMULATOR_ORG", str(path))
    assert Emulator().org.org_id == 7
    monkeypatch.delenv("CAPILLARY_EMULATOR_ORG")
    assert load_org_config().org_id == json.loads(DEFAULT_ORG_PATH.read_text())["org_id"]


def test_it_seeds_realistic_members_by_the_org_rules() -> None:
    emulator = Emulator()
    ids = seed_members(emulator, 300, rng_seed=1)
    assert len(ids) == 300
    db = emulator.store.db
    mobiles = [r[0] for r in db.execute("SELECT value FROM identifiers WHERE type = 'mobile'")]
    assert len(mobiles) == len(set(mobiles)) > 250
    assert all(normalise_mobile(emulator.org, m) == m for m in mobiles)
    assert {m[:2] for m in mobiles} >= {"91", "44"}
    labels = Counter(r[0] for r in db.execute("SELECT status_label FROM customers"))
    assert labels["Active"] > 200
    assert len(labels) > 3
    assert db.execute("SELECT count(*) FROM cards").fetchone()[0] > 50
    assert db.execute("SELECT count(DISTINCT tier_number) FROM enrollments").fetchone()[0] == 3
    assert db.execute("SELECT count(*) FROM subscriptions WHERE type = 'OPTOUT'").fetchone()[0] > 0
    assert db.execute("SELECT count(*) FROM profiles WHERE source != 'INSTORE'").fetchone()[0] > 0
    emulator.close()


def test_it_seeds_the_same_members_for_the_same_seed_and_more_on_top() -> None:
    first, second = Emulator(), Emulator()
    seed_members(first, 20, rng_seed=3)
    seed_members(second, 20, rng_seed=3)
    query = "SELECT first_name, last_name FROM profiles ORDER BY id"
    assert first.store.db.execute(query).fetchall() == second.store.db.execute(query).fetchall()
    more = seed_members(first, 5, rng_seed=3)
    assert more[0] == 100_000_021
    first.close()
    second.close()
