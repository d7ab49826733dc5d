"""The customer aggregate and every query that reads or writes it.

A customer holds one profile per (source, account); identifiers live in their own
table so that uniqueness per (source, account, type, value) is an index, and a
lookup by identifier is one index probe. Single-account sources use account ``""``.
"""

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

# A profile holds at most one of each of these; others (cards, wechat…) may repeat.
SINGLE_VALUED = frozenset({"mobile", "email", "externalId"})


@dataclass
class Identifier:
    type: str
    value: str
    # Held under dual eligibility: other customers may hold it too (no unique index).
    shared: bool = False


@dataclass
class Profile:
    id: int
    customer_id: int
    source: str
    account_id: str
    first_name: str = ""
    last_name: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    channels: list[dict[str, Any]] = field(default_factory=list)
    identifiers: list[Identifier] = field(default_factory=list)
    created_at: float = 0.0
    updated_at: float = 0.0
    created_till: str = ""
    modified_till: str = ""

    def identifier(self, type_: str) -> str | None:
        return next((i.value for i in self.identifiers if i.type == type_), None)


@dataclass
class Enrollment:
    program_id: int
    tier_number: int
    points: float
    lifetime_points: float
    tier_expiry: str | None
    points_expiry: str | None
    enrolled_at: float


@dataclass
class Card:
    id: int
    number: str
    series_id: int
    customer_id: int | None
    status_label: str
    extended_fields: dict[str, Any]
    created_at: float
    status_changed_at: float


@dataclass
class Subscription:
    channel: str
    priority: str
    type: str
    account_id: str = ""
    source_name: str = ""
    updated_at: float = 0.0


@dataclass
class Customer:
    id: int
    loyalty_type: str
    status_label: str | None
    extended_fields: dict[str, Any]
    associated_with: str | None
    fraud_status: str
    fraud_changed_at: float | None
    merged_into: int | None
    created_at: float
    updated_at: float
    created_till: str
    modified_till: str
    created_source: str
    registered_on: str | None
    alt_currencies: dict[str, float]
    labels: list[str]
    profiles: list[Profile] = field(default_factory=list)
    enrollments: list[Enrollment] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)

    def profile(self, source: str, account_id: str) -> Profile | None:
        return next(
            (p for p in self.profiles if p.source == source and p.account_id == account_id), None
        )

    def any_identifier(self, type_: str) -> str | None:
        return next((v for p in self.profiles if (v := p.identifier(type_))), None)

    def enrollment(self, program_id: int) -> Enrollment | None:
        return next((e for e in self.enrollments if e.program_id == program_id), None)


def load_customer(db: sqlite3.Connection, customer_id: int) -> Customer | None:
    row = db.execute("SELECT * FROM customers WHERE id = ?", (customer_id,)).fetchone()
    if row is None:
        return None
    customer = Customer(
        id=row["id"],
        loyalty_type=row["loyalty_type"],
        status_label=row["status_label"],
        extended_fields=json.loads(row["extended_fields"]),
        associated_with=row["associated_with"],
        fraud_status=row["fraud_status"],
        fraud_changed_at=row["fraud_changed_at"],
        merged_into=row["merged_into"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        created_till=row["created_till"],
        modified_till=row["modified_till"],
        created_source=row["created_source"],
        registered_on=row["registered_on"],
        alt_currencies=json.loads(row["alt_currencies"]),
        labels=json.loads(row["labels"]),
    )
    by_profile: dict[int, list[Identifier]] = {}
    for ident in db.execute(
        "SELECT profile_id, type, value, shared FROM identifiers WHERE customer_id = ?"
        " ORDER BY rowid",
        (customer_id,),
    ):
        by_profile.setdefault(ident["profile_id"], []).append(
            Identifier(ident["type"], ident["value"], bool(ident["shared"]))
        )
    for p in db.execute(
        "SELECT * FROM profiles WHERE customer_id = ? ORDER BY id", (customer_id,)
    ).fetchall():
        customer.profiles.append(
            Profile(
                id=p["id"],
                customer_id=customer_id,
                source=p["source"],
                account_id=p["account_id"],
                first_name=p["first_name"],
                last_name=p["last_name"],
                fields=json.loads(p["fields"]),
                channels=json.loads(p["channels"]),
                identifiers=by_profile.get(p["id"], []),
                created_at=p["created_at"],
                updated_at=p["updated_at"],
                created_till=p["created_till"],
                modified_till=p["modified_till"],
            )
        )
    customer.enrollments = [
        Enrollment(
            e["program_id"],
            e["tier_number"],
            e["points"],
            e["lifetime_points"],
            e["tier_expiry"],
            e["points_expiry"],
            e["enrolled_at"],
        )
        for e in db.execute(
            "SELECT * FROM enrollments WHERE customer_id = ? ORDER BY enrolled_at, program_id",
            (customer_id,),
        )
    ]
    customer.cards = [
        _card(c)
        for c in db.execute("SELECT * FROM cards WHERE customer_id = ? ORDER BY id", (customer_id,))
    ]
    customer.subscriptions = [
        Subscription(
            s["channel"],
            s["priority"],
            s["type"],
            s["account_id"],
            s["source_name"],
            s["updated_at"],
        )
        for s in db.execute(
            "SELECT * FROM subscriptions WHERE customer_id = ? ORDER BY channel, priority",
            (customer_id,),
        )
    ]
    return customer


def _card(row: sqlite3.Row) -> Card:
    return Card(
        id=row["id"],
        number=row["number"],
        series_id=row["series_id"],
        customer_id=row["customer_id"],
        status_label=row["status_label"],
        extended_fields=json.loads(row["extended_fields"]),
        created_at=row["created_at"],
        status_changed_at=row["status_changed_at"],
    )


def owner_in_account(
    db: sqlite3.Connection, source: str, account_id: str, type_: str, value: str
) -> int | None:
    row = db.execute(
        "SELECT customer_id FROM identifiers"
        " WHERE source = ? AND account_id = ? AND type = ? AND value = ?",
        (source, account_id, type_, value),
    ).fetchone()
    return None if row is None else int(row["customer_id"])


def owners_anywhere(db: sqlite3.Connection, type_: str, value: str) -> list[tuple[int, str, str]]:
    """Every (customer, source, account) holding this identifier, in any source."""
    return [
        (int(r["customer_id"]), r["source"], r["account_id"])
        for r in db.execute(
            "SELECT customer_id, source, account_id FROM identifiers WHERE type = ? AND value = ?",
            (type_, value),
        )
    ]


def card_by_number(db: sqlite3.Connection, number: str) -> Card | None:
    row = db.execute("SELECT * FROM cards WHERE number = ?", (number,)).fetchone()
    return None if row is None else _card(row)


def insert_customer(db: sqlite3.Connection, c: Customer) -> int:
    cursor = db.execute(
        "INSERT INTO customers (loyalty_type, status_label, extended_fields, associated_with,"
        " fraud_status, created_at, updated_at, created_till, modified_till, created_source,"
        " registered_on, alt_currencies, labels) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            c.loyalty_type,
            c.status_label,
            json.dumps(c.extended_fields),
            c.associated_with,
            c.fraud_status,
            c.created_at,
            c.updated_at,
            c.created_till,
            c.modified_till,
            c.created_source,
            c.registered_on,
            json.dumps(c.alt_currencies),
            json.dumps(c.labels),
        ),
    )
    c.id = int(cursor.lastrowid or 0)
    return c.id


def save_customer(db: sqlite3.Connection, c: Customer) -> None:
    """Write the customer row and its profiles' own columns (not identifiers)."""
    db.execute(
        "UPDATE customers SET loyalty_type=?, status_label=?, extended_fields=?, associated_with=?,"
        " fraud_status=?, fraud_changed_at=?, merged_into=?, updated_at=?, modified_till=?,"
        " registered_on=?, alt_currencies=?, labels=? WHERE id=?",
        (
            c.loyalty_type,
            c.status_label,
            json.dumps(c.extended_fields),
            c.associated_with,
            c.fraud_status,
            c.fraud_changed_at,
            c.merged_into,
            c.updated_at,
            c.modified_till,
            c.registered_on,
            json.dumps(c.alt_currencies),
            json.dumps(c.labels),
            c.id,
        ),
    )
    for p in c.profiles:
        db.execute(
            "UPDATE profiles SET customer_id=?, first_name=?, last_name=?, fields=?, channels=?,"
            " updated_at=?, modified_till=? WHERE id=?",
            (
                c.id,
                p.first_name,
                p.last_name,
                json.dumps(p.fields),
                json.dumps(p.channels),
                p.updated_at,
                p.modified_till,
                p.id,
            ),
        )


def insert_profile(db: sqlite3.Connection, p: Profile) -> None:
    cursor = db.execute(
        "INSERT INTO profiles (customer_id, source, account_id, first_name, last_name, fields,"
        " channels, created_at, updated_at, created_till, modified_till)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            p.customer_id,
            p.source,
            p.account_id,
            p.first_name,
            p.last_name,
            json.dumps(p.fields),
            json.dumps(p.channels),
            p.created_at,
            p.updated_at,
            p.created_till,
            p.modified_till,
        ),
    )
    p.id = int(cursor.lastrowid or 0)
    for ident in p.identifiers:
        insert_identifier(db, p, ident)


def insert_identifier(db: sqlite3.Connection, p: Profile, ident: Identifier) -> None:
    db.execute(
        "INSERT INTO identifiers (profile_id, customer_id, source, account_id, type, value,"
        " shared) VALUES (?,?,?,?,?,?,?)",
        (p.id, p.customer_id, p.source, p.account_id, ident.type, ident.value, int(ident.shared)),
    )


def delete_identifier(db: sqlite3.Connection, p: Profile, ident: Identifier) -> None:
    db.execute(
        "DELETE FROM identifiers WHERE profile_id = ? AND type = ? AND value = ?",
        (p.id, ident.type, ident.value),
    )


def move_to_survivor(db: sqlite3.Connection, victim_id: int, survivor_id: int) -> None:
    for table in ("profiles", "identifiers", "cards"):
        db.execute(
            f"UPDATE {table} SET customer_id = ? WHERE customer_id = ?",  # noqa: S608 - fixed names
            (survivor_id, victim_id),
        )


def save_enrollment(db: sqlite3.Connection, customer_id: int, e: Enrollment) -> None:
    db.execute(
        "INSERT INTO enrollments (customer_id, program_id, tier_number, points, lifetime_points,"
        " tier_expiry, points_expiry, enrolled_at) VALUES (?,?,?,?,?,?,?,?)"
        " ON CONFLICT (customer_id, program_id) DO UPDATE SET tier_number=excluded.tier_number,"
        " points=excluded.points, lifetime_points=excluded.lifetime_points,"
        " tier_expiry=excluded.tier_expiry, points_expiry=excluded.points_expiry",
        (
            customer_id,
            e.program_id,
            e.tier_number,
            e.points,
            e.lifetime_points,
            e.tier_expiry,
            e.points_expiry,
            e.enrolled_at,
        ),
    )


def save_subscription(db: sqlite3.Connection, customer_id: int, s: Subscription) -> None:
    db.execute(
        "INSERT INTO subscriptions (customer_id, channel, priority, type, account_id, source_name,"
        " updated_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT (customer_id, channel, priority)"
        " DO UPDATE SET type=excluded.type, account_id=excluded.account_id,"
        " source_name=excluded.source_name, updated_at=excluded.updated_at",
        (customer_id, s.channel, s.priority, s.type, s.account_id, s.source_name, s.updated_at),
    )


def insert_card(db: sqlite3.Connection, card: Card) -> None:
    cursor = db.execute(
        "INSERT INTO cards (number, series_id, customer_id, status_label, extended_fields,"
        " created_at, status_changed_at) VALUES (?,?,?,?,?,?,?)",
        (
            card.number,
            card.series_id,
            card.customer_id,
            card.status_label,
            json.dumps(card.extended_fields),
            card.created_at,
            card.status_changed_at,
        ),
    )
    card.id = int(cursor.lastrowid or 0)


def save_card(db: sqlite3.Connection, card: Card) -> None:
    db.execute(
        "UPDATE cards SET customer_id=?, status_label=?, status_changed_at=? WHERE id=?",
        (card.customer_id, card.status_label, card.status_changed_at, card.id),
    )


def append_json(
    db: sqlite3.Connection, table: str, customer_id: int, row: dict[str, Any], **columns: Any
) -> int:
    """Insert into one of the log tables that keep their rendered row as JSON."""
    names = ["customer_id", "row", *columns]
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"  # noqa: S608
    cursor = db.execute(sql, (customer_id, json.dumps(row), *columns.values()))
    return int(cursor.lastrowid or 0)


def json_rows(db: sqlite3.Connection, table: str, customer_id: int) -> list[dict[str, Any]]:
    return [
        json.loads(r["row"])
        for r in db.execute(
            f"SELECT row FROM {table} WHERE customer_id = ? ORDER BY id",  # noqa: S608 - fixed names
            (customer_id,),
        )
    ]
