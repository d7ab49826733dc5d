"""Realistic members for demos and benchmarks, written straight into the store.

Every value obeys the org's own rules (mobiles per its country rules, enum
extended fields from its lists, labels and programs it defines), so a seeded
member behaves like one registered through E1. Identifiers derive from the
customer id, which keeps them unique without lookups; all rows go in with
``executemany`` inside one transaction (100,000 members take seconds).
"""

import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

from . import rules
from .app import Emulator
from .org import OrgConfig

FIRST_NAMES = (
    "Asha",
    "Rahul",
    "Priya",
    "Arjun",
    "Meera",
    "Vikram",
    "Ananya",
    "Karan",
    "Divya",
    "Rohan",
    "Olivia",
    "James",
    "Amelia",
    "Harry",
    "Isla",
    "George",
    "Emily",
    "Oscar",
    "Sophie",
    "Jack",
    "Emma",
    "Liam",
    "Ava",
    "Noah",
    "Mia",
    "Ethan",
    "Chloe",
    "Lucas",
    "Grace",
    "Mason",
    "Fatima",
    "Omar",
    "Layla",
    "Yousef",
    "Mariam",
    "Khalid",
    "Noor",
    "Hamza",
    "Aisha",
    "Zayed",
    "Sakura",
    "Haruto",
    "Mei",
    "Wei",
    "Lin",
    "Kenji",
    "Yuki",
    "Chen",
    "Hana",
    "Ren",
)
LAST_NAMES = (
    "Rao",
    "Sharma",
    "Iyer",
    "Patel",
    "Menon",
    "Gupta",
    "Reddy",
    "Nair",
    "Kapoor",
    "Das",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Evans",
    "Thomas",
    "Roberts",
    "Walker",
    "Johnson",
    "Miller",
    "Davis",
    "Garcia",
    "Martinez",
    "Lee",
    "Clark",
    "Lewis",
    "Young",
    "Hall",
    "Al Mansouri",
    "Haddad",
    "Khan",
    "Saleh",
    "Nasser",
    "Farouk",
    "Aziz",
    "Rahman",
    "Karim",
    "Hassan",
    "Tanaka",
    "Sato",
    "Suzuki",
    "Wang",
    "Li",
    "Zhang",
    "Kim",
    "Park",
    "O'Brien",
    "Smith-Jones",
)
DOMAINS = ("example.com", "mail.example.org", "inbox.example.net", "example.co.uk")
CITIES = (
    "Bangalore",
    "Mumbai",
    "Delhi",
    "London",
    "Manchester",
    "New York",
    "Chicago",
    "Dubai",
    "Tokyo",
)
# Leading digits that satisfy the shipped org's mobile rules; other orgs are checked below.
FIRST_DIGITS = {"91": "6789", "44": "7", "1": "23456789", "971": "5"}
THREE_YEARS = 3 * 365 * 86_400
# The columns each _Rows list fills, in tuple order.
COLUMNS = {
    "customers": (
        "id",
        "loyalty_type",
        "status_label",
        "extended_fields",
        "fraud_status",
        "created_at",
        "updated_at",
        "created_till",
        "modified_till",
        "created_source",
    ),
    "profiles": (
        "id",
        "customer_id",
        "source",
        "account_id",
        "first_name",
        "last_name",
        "fields",
        "channels",
        "created_at",
        "updated_at",
        "created_till",
        "modified_till",
    ),
    "identifiers": ("profile_id", "customer_id", "source", "account_id", "type", "value"),
    "cards": (
        "number",
        "series_id",
        "customer_id",
        "status_label",
        "created_at",
        "status_changed_at",
    ),
    "enrollments": (
        "customer_id",
        "program_id",
        "tier_number",
        "points",
        "lifetime_points",
        "tier_expiry",
        "points_expiry",
        "enrolled_at",
    ),
    "subscriptions": ("customer_id", "channel", "priority", "type", "updated_at"),
    "status_log": ("customer_id", "label", "prev_label", "reason", "created_on", "created_by"),
}


@dataclass
class _Rows:
    customers: list[tuple[Any, ...]] = field(default_factory=list)
    profiles: list[tuple[Any, ...]] = field(default_factory=list)
    identifiers: list[tuple[Any, ...]] = field(default_factory=list)
    cards: list[tuple[Any, ...]] = field(default_factory=list)
    enrollments: list[tuple[Any, ...]] = field(default_factory=list)
    subscriptions: list[tuple[Any, ...]] = field(default_factory=list)
    status_log: list[tuple[Any, ...]] = field(default_factory=list)


def seed_members(emulator: Emulator, n: int, *, rng_seed: int | None = 42) -> list[int]:
    """Create ``n`` members; returns their customer ids."""
    rng = random.Random(rng_seed)
    org = emulator.org
    now = emulator.clock()
    till = next(iter(org.tills))
    db = emulator.store.db
    with emulator.store.write():
        next_customer = (
            int(
                db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'customers'").fetchone()[0]
            )
            + 1
        )
        next_profile = (
            int(db.execute("SELECT coalesce(max(id), 0) FROM profiles").fetchone()[0]) + 1
        )
        rows = _Rows()
        ids = []
        for customer_id in range(next_customer, next_customer + n):
            next_profile = _member(org, rng, rows, customer_id, next_profile, now, till)
            ids.append(customer_id)
        for table, columns in COLUMNS.items():
            marks = ",".join("?" * len(columns))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
            db.executemany(sql, getattr(rows, table))
    emulator.store.checkpoint()
    return ids


def _member(
    org: OrgConfig,
    rng: random.Random,
    rows: _Rows,
    cid: int,
    profile_id: int,
    now: float,
    till: str,
) -> int:
    """Append one member's rows; returns the next free profile id."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    created = now - rng.uniform(0, THREE_YEARS)
    loyalty = "loyalty" if rng.random() < 0.9 else "non_loyalty"
    label = _status_label(org, rng)
    extended = _extended_fields(org, rng)
    rows.customers.append(
        (cid, loyalty, label, json.dumps(extended), "NONE", created, created, till, till, "INSTORE")
    )
    if label:
        rows.status_log.append((cid, label, None, "Registration", created, org.tills[till].id))
    mobile = _mobile(org, rng, cid)
    email = f"{first}.{last}{cid}@{rng.choice(DOMAINS)}".lower().replace(" ", "").replace("'", "")
    identifiers = [("email", email)] + ([("mobile", mobile)] if mobile else [])
    if rng.random() < 0.3:
        identifiers.append(("externalId", f"EXT{cid}"))
    series = org.default_series()
    if series is not None and rng.random() < 0.4:
        number = f"{series.code}{cid:010d}"
        identifiers.append(("cardnumber", number))
        rows.cards.append((number, series.id, cid, _card_label(org), created, created))
    channels = [
        {
            "type": t,
            "value": v,
            "primary": True,
            "verified": rng.random() < 0.5,
            "meta": {},
            "attributes": {},
        }
        for t, v in identifiers
        if t in ("mobile", "email")
    ]
    rows.profiles.append(
        (
            profile_id,
            cid,
            "INSTORE",
            "",
            first,
            last,
            "{}",
            json.dumps(channels),
            created,
            created,
            till,
            till,
        )
    )
    rows.identifiers.extend((profile_id, cid, "INSTORE", "", t, v) for t, v in identifiers)
    profile_id += 1
    second = next((s for s, accounts in org.sources.items() if accounts), None)
    if second and rng.random() < 0.1:
        account = org.sources[second][0]
        rows.profiles.append(
            (
                profile_id,
                cid,
                second,
                account,
                first,
                last,
                "{}",
                "[]",
                created,
                created,
                till,
                till,
            )
        )
        rows.identifiers.append((profile_id, cid, second, account, "email", email))
        rows.identifiers.append((profile_id, cid, second, account, "cuid", f"cuid_{cid}"))
        profile_id += 1
    program = org.default_program()
    if loyalty == "loyalty" and program is not None:
        tier = rng.choices(
            range(1, len(program.tiers) + 1),
            weights=[0.7, 0.22, 0.08][: len(program.tiers)] or None,
        )[0]
        points = float(rng.randrange(0, 20_000))
        rows.enrollments.append(
            (cid, program.id, tier, points, points + rng.randrange(0, 5_000), None, None, created)
        )
    for channel, priority in (("SMS", "BULK"), ("EMAIL", "BULK"), ("SMS", "TRANS")):
        if rng.random() < 0.15:
            rows.subscriptions.append((cid, channel, priority, "OPTOUT", created))
    return profile_id


def _mobile(org: OrgConfig, rng: random.Random, cid: int) -> str | None:
    rule = rng.choices(org.mobile_rules, weights=[6, 1.5, 1.5, 1][: len(org.mobile_rules)] or None)[
        0
    ]
    lead = rng.choice(FIRST_DIGITS.get(rule.country_code, "123456789"))
    national = lead + str(cid % 10 ** (rule.length - 1)).zfill(rule.length - 1)
    return rules.normalise_mobile(org, rule.country_code + national)


def _status_label(org: OrgConfig, rng: random.Random) -> str | None:
    labels = list(org.status_labels.values())
    if not labels or rng.random() < 0.85:
        return org.default_status_label
    return rng.choice([lb for lb in labels if lb.status != "DELETED"] or labels).label


def _card_label(org: OrgConfig) -> str:
    return next((lb.label for lb in org.card_labels.values() if lb.status == "ACTIVE"), "ACTIVE")


def _extended_fields(org: OrgConfig, rng: random.Random) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for spec in org.extended_fields.values():
        if not spec.enabled or rng.random() < 0.3:
            continue
        if spec.values:
            values[spec.name] = rng.choice(spec.values)
        elif spec.name == "dob":
            values[spec.name] = time.strftime(
                "%Y-%m-%d", time.gmtime(rng.uniform(0, 30 * 365 * 86_400))
            )
        elif spec.name == "city":
            values[spec.name] = rng.choice(CITIES)
    return values
