"""Create realistic change history quickly, for benchmarks and demos.

Entries are built in Python, signed into the chain in order and inserted in
batches, one locked transaction per batch, so live writers can interleave
between batches and `verify_history` passes afterwards. Timestamps spread
evenly over the last --days, ending now; a fixed --seed gives the same data.
"""

import random
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandParser
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone

from customers.console.roles import AUDITOR, STORE_MANAGER, SUPPORT
from customers.history.chain import (
    GENESIS,
    PENDING_STATE,
    SignedJSONField,
    is_completed_write,
    json_text,
    lock_chain,
    sign_completion,
    sign_entry,
)
from customers.models import READ_ACTIONS, AuditCode, AuditCompletion, AuditEntry

Action = AuditEntry.Action
Outcome = AuditEntry.Outcome

STAFF = {SUPPORT: 24, STORE_MANAGER: 12, AUDITOR: 3}
ACTION_WEIGHTS = {
    Action.SEARCH: 28,
    Action.VIEW_PROFILE: 30,
    Action.UPDATE_PROFILE: 12,
    Action.CHANGE_IDENTIFIER: 3,
    Action.UPDATE_SUBSCRIPTIONS: 6,
    Action.CHANGE_STATUS: 3,
    Action.ENROLL: 3,
    Action.REGISTER: 6,
    Action.BULK_UPSERT: 8,
    Action.V11_UPDATE: 1,
}
OUTCOME_WEIGHTS = {
    Outcome.OK: 780,
    Outcome.OK_WITH_WARNINGS: 120,
    Outcome.REJECTED: 65,
    Outcome.FAILED: 15,
    Outcome.UNKNOWN: 15,
    Outcome.PENDING: 5,
}
# Warning codes weighted as seen in practice: the missing default status label dominates.
WARNING_CODES = ["8107"] * 6 + ["8055", "8056", "8057", "8058", "8059", "8064", "8050", "8051"]
ERROR_CODES = ["8015"] * 4 + ["8014", "8007", "8008", "8009", "8006", "8010", "8086", "8045"]
FIRST_NAMES = ["Asha", "Ravi", "Meera", "Karan", "Leila", "Tom", "Ines", "Yusuf", "Nora", "Arjun"]
LAST_NAMES = ["Rao", "Iyer", "Shah", "Khan", "Silva", "Berg", "Okafor", "Novak", "Menon", "Das"]
STATUS_LABELS = ["Active", "Inactive", "Suspended", "Blocked"]
REASONS = [
    "Member called to correct the spelling of their name",
    "Member asked at the till to stop promotional SMS",
    "New phone number, confirmed with the member in store",
    "Duplicate account reported by the member",
    "Store manager request after a complaint",
    "Fraud team asked for a suspension pending review",
    "Member moved city",
    "Welcome desk registration",
]


class Command(BaseCommand):
    help = "Append N realistic, correctly chained entries to the change history."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--entries", type=int, required=True)
        parser.add_argument("--batch", type=int, default=5000)
        parser.add_argument("--days", type=int, default=365, help="spread over this many days")
        parser.add_argument("--seed", type=int, default=7)

    def handle(
        self, *args: Any, entries: int, batch: int, days: int, seed: int, **opts: Any
    ) -> None:
        maker = EntryMaker(random.Random(seed), _seed_staff(), members=max(1000, entries // 10))
        end = timezone.now()
        step = timedelta(days=days) / max(entries, 1)
        start = end - step * entries
        if connection.vendor == "sqlite":
            # Index pages for a million random member ids outgrow the default 2 MB cache.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size = -262144")
        for first in range(0, entries, batch):
            count = min(batch, entries - first)
            with transaction.atomic():
                lock_chain()
                head = AuditEntry.objects.order_by("-id").values_list("id", "entry_hash").first()
                last_id, previous_hash = head or (0, GENESIS)
                completed = (
                    AuditCompletion.objects.order_by("-id").values_list("id", "record_hash").first()
                )
                moments = [start + step * (first + i) for i in range(count)]
                rows = maker.chain(moments, previous_hash, first_id=last_id + 1)
                _insert(AuditEntry, rows)
                _insert(AuditCompletion, completions(rows, *(completed or (0, GENESIS))))
                _insert(
                    AuditCode,
                    [
                        {"entry_id": row["id"], "code": code, "created_at": row["created_at"]}
                        for row in rows
                        for code in dict.fromkeys(
                            c
                            for c in f"{row['error_codes']},{row['warning_codes']}".split(",")
                            if c
                        )
                    ],
                )
                _reset_id_sequence()
            if opts["verbosity"] >= 2:
                self.stdout.write(f"{first + count:,} / {entries:,}")
        self.stdout.write(f"Seeded {entries:,} history entries.")


def _insert(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """One prepared INSERT run by executemany.

    bulk_create compiles every value through the ORM and, on SQLite, splits each
    batch into statements of 999 parameters (35 entries); that was two thirds of
    the seeding time. Values are adapted the way the ORM would adapt them.
    """
    if not rows:
        return
    ops = connection.ops
    fields = [f for f in model._meta.concrete_fields if f.attname in rows[0]]
    adapters = [_adapter(field, ops) for field in fields]
    table = ops.quote_name(model._meta.db_table)
    columns = ", ".join(ops.quote_name(str(field.column)) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # Names come from the model, values go through placeholders.
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
    values = [
        [adapt(row[field.attname]) for field, adapt in zip(fields, adapters, strict=True)]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def completions(
    rows: list[dict[str, Any]], last_id: int, previous_hash: str
) -> list[dict[str, Any]]:
    """A signed completion record for each completed write, in entry order."""
    records = []
    for row in rows:
        if not is_completed_write(row):
            continue
        last_id += 1
        record = {"id": last_id, "entry_id": row["id"], "created_at": row["created_at"]}
        record["previous_hash"] = previous_hash
        record["record_hash"] = previous_hash = sign_completion(record, row, previous_hash)
        records.append(record)
    return records


def _adapter(field: models.Field[Any, Any], ops: Any) -> Any:
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, SignedJSONField):
        return json_text
    return lambda value: value


def _reset_id_sequence() -> None:
    """Entries were written with explicit ids; move PostgreSQL's sequence past them."""
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [AuditEntry, AuditCompletion]):
            cursor.execute(sql)


class EntryMaker:
    def __init__(self, rng: random.Random, staff: list[tuple[User, str]], members: int) -> None:
        self.rng = rng
        self.staff = staff
        self.readers = [s for s in staff if s[1] != STORE_MANAGER]
        self.writers = [s for s in staff if s[1] != AUDITOR]
        self.members = members
        self.actions = list(ACTION_WEIGHTS)
        self.action_weights = list(ACTION_WEIGHTS.values())
        self.outcomes = list(OUTCOME_WEIGHTS)
        self.outcome_weights = list(OUTCOME_WEIGHTS.values())
        self.import_job = 0
        self.import_row = 0

    def chain(self, moments: list[Any], previous_hash: str, first_id: int) -> list[dict[str, Any]]:
        rows = []
        for entry_id, moment in enumerate(moments, start=first_id):
            row = self.fields(moment)
            creation = row
            if row["outcome"] != Outcome.PENDING and row["action"] not in READ_ACTIONS:
                # Signed as it was before Capillary answered; a registration had no id yet.
                creation = {**row, **PENDING_STATE}
                if row["action"] == Action.REGISTER:
                    creation["customer_id"] = ""
            row["id"] = creation["id"] = entry_id
            row["previous_hash"] = previous_hash
            row["entry_hash"] = previous_hash = sign_entry(creation, previous_hash)
            rows.append(row)
        return rows

    def fields(self, moment: Any) -> dict[str, Any]:
        rng = self.rng
        action = rng.choices(self.actions, self.action_weights)[0]
        actor, role = rng.choice(self.readers if action in READ_ACTIONS else self.writers)
        member = 10_000_000 + rng.randrange(self.members)
        mobile = f"91{9_000_000_000 + member}"
        kind, value = rng.choice(
            [("mobile", mobile), ("email", f"member{member}@example.com"), ("id", str(member))]
        )
        fields: dict[str, Any] = {
            "created_at": moment,
            "actor_id": actor.pk,
            "actor_username": actor.username,
            "actor_role": role,
            "actor_till": f"store{member % 40:02d}.till1",
            "action": action,
            "customer_id": str(member),
            "identifier_type": kind,
            "identifier_value": value,
            "source": "INSTORE",
            "account_id": "",
            "reason": "",
            "request": {},
            "before": None,
            "import_job_id": None,
            "import_row": None,
            **PENDING_STATE,
        }
        if action in READ_ACTIONS:
            if action == Action.SEARCH:
                fields["request"] = {"identifierName": kind, "identifierValue": value}
            fields["outcome"] = Outcome.OK
            return fields
        fields["reason"] = rng.choice(REASONS)
        if action == Action.BULK_UPSERT:
            if self.import_row == 0 or self.import_row >= rng.randint(200, 5000):
                self.import_job += 1
                self.import_row = 0
            self.import_row += 1
            fields["import_job_id"] = self.import_job
            fields["import_row"] = self.import_row
        before = None if action == Action.REGISTER else self.snapshot(member, mobile)
        after = self.changed(before or self.snapshot(member, mobile), action)
        fields["before"] = before
        fields["request"] = {"profiles": after["profiles"], "statusLabel": after["statusLabel"]}
        outcome = rng.choices(self.outcomes, self.outcome_weights)[0]
        fields["outcome"] = outcome
        succeeded = outcome in (Outcome.OK, Outcome.OK_WITH_WARNINGS)
        if action == Action.REGISTER:
            fields.update(identifier_type="mobile", identifier_value=mobile)
            if not succeeded:
                fields["customer_id"] = ""
        if outcome == Outcome.PENDING:
            return fields
        fields["duration_ms"] = rng.randint(80, 2500)
        fields["request_id"] = f"{rng.getrandbits(128):032x}"
        if succeeded:
            warnings = (
                sorted(set(rng.choices(WARNING_CODES, k=rng.randint(1, 2))))
                if outcome == Outcome.OK_WITH_WARNINGS
                else []
            )
            effects = (
                [{"type": "points", "awardedPoints": 100, "entityType": "USER"}]
                if action in (Action.REGISTER, Action.ENROLL)
                else []
            )
            fields.update(
                http_status=200,
                warning_codes=",".join(warnings),
                side_effects=effects,
                after=after,
                response={
                    "createdId": member,
                    "warnings": [{"code": int(c)} for c in warnings],
                    "sideEffects": effects,
                },
            )
        elif outcome == Outcome.REJECTED:
            code = rng.choice(ERROR_CODES)
            fields.update(
                http_status=400,
                error_codes=code,
                side_effects=[],
                response={"errors": [{"code": int(code), "status": False}]},
            )
        else:
            fields.update(http_status=503 if outcome == Outcome.FAILED else None, side_effects=[])
        return fields

    def snapshot(self, member: int, mobile: str) -> dict[str, Any]:
        rng = self.rng
        return {
            "id": member,
            "profiles": [
                {
                    "firstName": rng.choice(FIRST_NAMES),
                    "lastName": rng.choice(LAST_NAMES),
                    "identifiers": [
                        {"type": "mobile", "value": mobile},
                        {"type": "email", "value": f"member{member}@example.com"},
                    ],
                    "commChannels": [{"type": "mobile", "value": mobile, "primary": True}],
                    "fields": {"city": rng.choice(["Pune", "Lisbon", "Oslo", "Lagos"])},
                }
            ],
            "statusLabel": "Active",
            "subscriptions": {"SMS": "OPTIN", "EMAIL": "OPTIN"},
            "loyaltyInfo": {"loyaltyType": "loyalty"},
        }

    def changed(self, snapshot: dict[str, Any], action: str) -> dict[str, Any]:
        rng = self.rng
        after = {**snapshot, "profiles": [dict(snapshot["profiles"][0])]}
        profile = after["profiles"][0]
        if action == Action.CHANGE_STATUS:
            after["statusLabel"] = rng.choice(STATUS_LABELS)
        elif action == Action.UPDATE_SUBSCRIPTIONS:
            after["subscriptions"] = {"SMS": "OPTOUT", "EMAIL": "OPTIN"}
        elif action == Action.CHANGE_IDENTIFIER:
            mobile = f"91{rng.randrange(9_000_000_000, 9_999_999_999)}"
            profile["identifiers"] = [
                {"type": "mobile", "value": mobile},
                *profile["identifiers"][1:],
            ]
        else:
            profile["firstName"] = rng.choice(FIRST_NAMES)
            profile["fields"] = {"city": rng.choice(["Pune", "Lisbon", "Oslo", "Lagos", "Quito"])}
        return after


def _seed_staff() -> list[tuple[User, str]]:
    staff = []
    for role, count in STAFF.items():
        group = Group.objects.get(name=role)
        prefix = role.split()[0].lower()
        for number in range(1, count + 1):
            user, created = User.objects.get_or_create(
                username=f"seed.{prefix}{number:02d}", defaults={"first_name": prefix.title()}
            )
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
                user.groups.add(group)
            staff.append((user, role))
    return staff
