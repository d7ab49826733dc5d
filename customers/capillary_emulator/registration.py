"""Registering a customer (E1, and the add step of E3), by the seed S5 rules.

An identifier already held in the same source account → 8006. Held by one
customer in other sources → the new profile joins that customer (warning 8050).
Held by several customers → 8052 (the code list calls it a warning; the add cannot
pick one of them, so the emulator refuses it — reference §2 E1).
"""

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from . import auditing, codes, fields, identity, lifecycle, promotions, records, rules
from .context import ApiError, Ctx
from .records import Customer, Enrollment, Profile


@dataclass
class Outcome:
    customer_id: int
    warnings: list[dict[str, Any]] = field(default_factory=list)
    side_effects: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class NewProfile:
    source: str
    account_id: str
    first_name: str
    last_name: str
    fields: dict[str, Any]
    channels: list[dict[str, Any]]
    identifiers: list[rules.NewIdentifier]


@dataclass(frozen=True)
class Downstream:
    """How much loyalty work a write waits for (reference §1.3 and E2 ``use_async``)."""

    run: bool = True  # False: SKIP-DOWNSTREAM, saved like an import
    report: bool = True  # False: async, the work happens but no sideEffects come back


def register(
    ctx: Ctx,
    db: sqlite3.Connection,
    body: dict[str, Any],
    *,
    downstream: Downstream,
    source_hint: str | None = None,
    account_hint: str | None = None,
    enroll_all: bool = False,
) -> Outcome:
    warnings: list[dict[str, Any]] = []
    raw_profiles = body.get("profiles")
    if (
        not isinstance(raw_profiles, list)
        or not raw_profiles
        or not all(isinstance(p, dict) for p in raw_profiles)
    ):
        raise ApiError(8084)
    profiles = [_new_profile(ctx, raw, warnings, source_hint, account_hint) for raw in raw_profiles]
    if len({(p.source, p.account_id) for p in profiles}) < len(profiles):
        raise ApiError(codes.INVALID_INPUT, detail="Two profiles for the same source account")
    loyalty = loyalty_type(body.get("loyaltyInfo"), ctx.org.default_loyalty_type)
    extended = fields.clean_extended_fields(ctx.org, body.get("extendedFields"), warnings)
    label = lifecycle.initial_label(ctx, body.get("statusLabel"), warnings)
    enrollments = fields.parse_enrollments(
        ctx.org, body.get("loyaltyProgramEnrollments"), ctx.now()
    )
    if enrollments and loyalty != "loyalty":
        raise ApiError(8089)
    subscriptions = lifecycle.subscriptions_in(body, ctx.now())
    associated = body.get("associatedWith") or None
    if associated is not None and associated not in ctx.org.tills:
        warnings.append(codes.entry(8077, detail=repr(associated)))
        associated = None

    owner = _existing_owner(ctx, db, profiles)
    if owner is not None:
        return _join_existing(ctx, db, owner, profiles, warnings)

    now = ctx.now()
    c = Customer(
        id=0,
        loyalty_type=loyalty,
        status_label=label,
        extended_fields=extended,
        associated_with=associated,
        fraud_status="NONE",
        fraud_changed_at=None,
        merged_into=None,
        created_at=now,
        updated_at=now,
        created_till=ctx.till.code,
        modified_till=ctx.till.code,
        created_source=profiles[0].source,
        registered_on=None,
        alt_currencies={},
        labels=[],
    )
    records.insert_customer(db, c)
    for new in profiles:
        _add_profile(ctx, db, c, new)
    effects: list[dict[str, Any]] = []
    if loyalty == "loyalty":
        chosen = [e for _, e in enrollments] or _default_enrollments(ctx, enroll_all, now)
        for e in chosen:
            c.enrollments.append(e)
            records.save_enrollment(db, c.id, e)
            if e.points > 0:
                effects.append(promotions.points_effect(e.points))
        if downstream.run:
            effects += promotions.on_loyalty_registration(
                db, ctx, c, str(body.get("referralCode") or "")
            )
    if label is not None:
        lifecycle.log_status(ctx, db, c.id, label, None, "Registration")
    lifecycle.apply_subscriptions(ctx, db, c, subscriptions, reason="Registration")
    records.save_customer(db, c)
    auditing.record(ctx, db, c.id, _registration_events(c), source=c.created_source)
    return Outcome(c.id, warnings, effects if downstream.run and downstream.report else [])


def loyalty_type(raw: Any, default: str) -> str:
    value = raw.get("loyaltyType") if isinstance(raw, dict) else None
    if value in (None, ""):
        return default
    if value not in ("loyalty", "non_loyalty"):
        raise ApiError(codes.INVALID_INPUT, detail=f"Invalid loyaltyType {value!r}")
    return str(value)


def _new_profile(
    ctx: Ctx,
    raw: dict[str, Any],
    warnings: list[dict[str, Any]],
    source_hint: str | None,
    account_hint: str | None,
) -> NewProfile:
    source = raw.get("source") or source_hint
    if not source:
        raise ApiError(8004)
    source, account = rules.source_account(ctx.org, source, raw.get("accountId") or account_hint)
    if not isinstance(raw.get("identifiers"), list):
        raise ApiError(8005)
    identifiers: list[rules.NewIdentifier] = []
    for item in raw["identifiers"]:
        ident = rules.clean_identifier(ctx.org, item, warnings, registering=True)
        if ident is None:
            continue
        if ident.type in records.SINGLE_VALUED and any(i.type == ident.type for i in identifiers):
            raise ApiError(
                codes.INVALID_INPUT, detail=f"Only one {ident.type} identifier per profile"
            )
        if all((i.type, i.value) != (ident.type, ident.value) for i in identifiers):
            identifiers.append(ident)
    if not identifiers:
        raise ApiError(8005)
    if sum(1 for i in identifiers if i.card) > 1:
        raise ApiError(3035)
    return NewProfile(
        source=source,
        account_id=account,
        first_name=rules.clean_name(raw.get("firstName")),
        last_name=rules.clean_name(raw.get("lastName")),
        fields=fields.clean_custom_fields(ctx.org, raw.get("fields"), warnings),
        channels=rules.clean_channels(ctx.org, raw.get("commChannels"), warnings),
        identifiers=identifiers,
    )


def _existing_owner(ctx: Ctx, db: sqlite3.Connection, profiles: list[NewProfile]) -> int | None:
    owners: set[int] = set()
    for p in profiles:
        # Cards are org-wide, not per source: one held elsewhere is refused by attach_card.
        # Identifiers shared under dual eligibility neither clash nor join (S16).
        for ident in (
            i for i in p.identifiers if i.card is None and not rules.shareable(ctx.org, i.type)
        ):
            for customer_id, source, account in records.owners_anywhere(
                db, ident.type, ident.value
            ):
                if (source, account) == (p.source, p.account_id):
                    raise ApiError(8006)
                owners.add(customer_id)
    if len(owners) > 1:
        raise ApiError(codes.ADD_CONFLICT)
    return owners.pop() if owners else None


def _join_existing(
    ctx: Ctx,
    db: sqlite3.Connection,
    owner: int,
    profiles: list[NewProfile],
    warnings: list[dict[str, Any]],
) -> Outcome:
    """A new source account on the customer who already holds these identifiers."""
    c = records.load_customer(db, owner)
    assert c is not None
    for new in profiles:
        if c.profile(new.source, new.account_id) is not None:
            raise ApiError(8006)
    for new in profiles:
        _add_profile(ctx, db, c, new)
    c.updated_at = ctx.now()
    records.save_customer(db, c)
    auditing.record(
        ctx, db, c.id, _registration_events(c, only=profiles), source=profiles[0].source
    )
    warnings.append(codes.entry(8050))
    return Outcome(c.id, warnings, [])


def _add_profile(ctx: Ctx, db: sqlite3.Connection, c: Customer, new: NewProfile) -> None:
    now = ctx.now()
    profile = Profile(
        id=0,
        customer_id=c.id,
        source=new.source,
        account_id=new.account_id,
        first_name=new.first_name,
        last_name=new.last_name,
        fields=new.fields,
        channels=new.channels,
        identifiers=[
            records.Identifier(i.type, i.value, rules.shareable(ctx.org, i.type))
            for i in new.identifiers
        ],
        created_at=now,
        updated_at=now,
        created_till=ctx.till.code,
        modified_till=ctx.till.code,
    )
    # Cards first: a card held by someone else is 3009, not a clash of identifiers.
    for ident in new.identifiers:
        if ident.card is not None:
            identity.attach_card(ctx, db, c, ident.value, ident.card)
    records.insert_profile(db, profile)
    c.profiles.append(profile)


def _default_enrollments(ctx: Ctx, enroll_all: bool, now: float) -> list[Enrollment]:
    """No enrolment in the body: the default program, or every program with
    ``mlp_single_enroll=true`` (reference §2 E1)."""
    default = ctx.org.default_program()
    programs = list(ctx.org.programs.values()) if enroll_all else ([default] if default else [])
    return [Enrollment(p.id, 1, 0.0, 0.0, None, None, now) for p in programs]


def _registration_events(c: Customer, only: list[NewProfile] | None = None) -> list[dict[str, Any]]:
    wanted = {(p.source, p.account_id) for p in only} if only else None
    events = []
    for p in c.profiles:
        if wanted is not None and (p.source, p.account_id) not in wanted:
            continue
        events += [auditing.event("identifier", i.type, None, i.value) for i in p.identifiers]
        events += auditing.diff(
            "standard", {}, {"FirstName": p.first_name, "LastName": p.last_name}
        )
    if wanted is None:
        events += auditing.diff("extended", {}, c.extended_fields)
    return events
