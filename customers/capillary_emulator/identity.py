"""Changing identifiers (E7, and the changeIdentifier step of E3): add, remove,
link and delink cards, and merge into a survivor (reference §1.9.4).

Adding an identifier another customer holds in a different source makes the
changed customer the victim and that customer the survivor: the victim's profiles,
cards, points and subscriptions move over, and reads of the victim answer 8069.
"""

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from . import auditing, codes, lifecycle, records, rules
from .context import ApiError, Ctx
from .records import Card, Customer, Identifier, Profile

ALREADY_ATTACHED = {"mobile": 8071, "email": 8072, "externalId": 8073}
CHANGE_TYPES = {"mobile": "MOBILE", "email": "EMAIL", "externalId": "EXTERNAL_ID"}


@dataclass
class Change:
    customer_id: int
    warnings: list[dict[str, Any]] = field(default_factory=list)


def change_identifiers(
    ctx: Ctx, db: sqlite3.Connection, c: Customer, profile: Profile, add: Any, remove: Any
) -> Change:
    lifecycle.ensure_writable(ctx, c)
    if not isinstance(add or [], list) or not isinstance(remove or [], list):
        raise ApiError(codes.INVALID_INPUT, detail="add and remove must be arrays")
    warnings: list[dict[str, Any]] = []
    adds = [
        i
        for raw in add or []
        if (i := rules.clean_identifier(ctx.org, raw, warnings, registering=False))
    ]
    removes = [
        i
        for raw in remove or []
        if (i := rules.clean_identifier(ctx.org, raw, warnings, registering=False))
    ]
    if sum(1 for i in adds + removes if i.type == "cardnumber") > 1:
        raise ApiError(3035)
    removed = _remove(ctx, db, c, profile, removes)
    added, survivor = _add(ctx, db, c, profile, adds, warnings)
    if not removed and not added:
        warnings.append(codes.entry(8070))
        return Change(c.id, warnings)
    c.updated_at = profile.updated_at = ctx.now()
    c.modified_till = profile.modified_till = ctx.till.code
    records.save_customer(db, c)
    events = [auditing.event("identifier", i.type, i.value, None) for i in removed]
    events += [auditing.event("identifier", i.type, None, i.value) for i in added]
    auditing.record(ctx, db, c.id, events, source=profile.source)
    for kind in sorted({i.type for i in added + removed} & set(CHANGE_TYPES)):
        auditing.record_change_request(
            ctx,
            db,
            c.id,
            CHANGE_TYPES[kind],
            [{"type": i.type, "value": i.value} for i in added if i.type == kind],
            [{"type": i.type, "value": i.value} for i in removed if i.type == kind],
        )
    if survivor is not None:
        merge(ctx, db, c, survivor)
        warnings.append(codes.entry(8051, survivor.id))
        return Change(survivor.id, warnings)
    return Change(c.id, warnings)


def _remove(
    ctx: Ctx,
    db: sqlite3.Connection,
    c: Customer,
    profile: Profile,
    removes: list[rules.NewIdentifier],
) -> list[Identifier]:
    removed = []
    for wanted in removes:
        held = next(
            (i for i in profile.identifiers if (i.type, i.value) == (wanted.type, wanted.value)),
            None,
        )
        if held is None:
            if wanted.type == "cardnumber":
                raise ApiError(3031)
            continue
        if wanted.type == "cardnumber":
            _delink_card(ctx, db, c, wanted)
        records.delete_identifier(db, profile, held)
        profile.identifiers.remove(held)
        removed.append(held)
    return removed


def _add(
    ctx: Ctx,
    db: sqlite3.Connection,
    c: Customer,
    profile: Profile,
    adds: list[rules.NewIdentifier],
    warnings: list[dict[str, Any]],
) -> tuple[list[Identifier], Customer | None]:
    added: list[Identifier] = []
    survivor: Customer | None = None
    for wanted in adds:
        if any((i.type, i.value) == (wanted.type, wanted.value) for i in profile.identifiers):
            warnings.append(codes.entry(ALREADY_ATTACHED.get(wanted.type, 8070)))
            continue
        shared = rules.shareable(ctx.org, wanted.type)
        holder = records.owner_in_account(
            db, profile.source, profile.account_id, wanted.type, wanted.value
        )
        if holder is not None and wanted.card is None and not shared:
            raise ApiError(8008)
        # Cards never merge customers: a card held elsewhere is refused by attach_card.
        others = (
            set()
            if wanted.card or shared
            else {
                cid
                for cid, _, _ in records.owners_anywhere(db, wanted.type, wanted.value)
                if cid != c.id
            }
        )
        if len(others) > 1 or (others and survivor is not None and survivor.id not in others):
            warnings.append(codes.entry(8074))
            continue
        if others:
            survivor = records.load_customer(db, others.pop())
        if wanted.type in records.SINGLE_VALUED:
            # A profile holds one mobile/email/externalId: a new one replaces the old.
            for old in [i for i in profile.identifiers if i.type == wanted.type]:
                records.delete_identifier(db, profile, old)
                profile.identifiers.remove(old)
        if wanted.card is not None:
            attach_card(ctx, db, c, wanted.value, wanted.card)
        ident = Identifier(wanted.type, wanted.value, shared)
        records.insert_identifier(db, profile, ident)
        profile.identifiers.append(ident)
        added.append(ident)
    return added, survivor


def attach_card(
    ctx: Ctx, db: sqlite3.Connection, c: Customer, number: str, request: rules.CardRequest
) -> None:
    """Link a card number to the customer, creating it in its series if new (the
    emulator stands in for ``POST /v2/card`` here)."""
    now = ctx.now()
    card = records.card_by_number(db, number)
    if card is not None and card.customer_id not in (None, c.id):
        raise ApiError(3009)
    if request.label.status == "ACTIVE":
        active = [
            k
            for k in c.cards
            if k.series_id == request.series.id
            and k.number != number
            and (lb := ctx.org.card_labels.get(k.status_label))
            and lb.status == "ACTIVE"
        ]
        if len(active) >= request.series.max_active_cards:
            raise ApiError(3036)
    previous = card.status_label if card is not None else None
    if card is None:
        card = Card(
            0,
            number,
            request.series.id,
            c.id,
            request.label.label,
            request.extended_fields,
            now,
            now,
        )
        records.insert_card(db, card)
        previous = _card_created(ctx, db, card)
    else:
        card.customer_id, card.status_label, card.status_changed_at = c.id, request.label.label, now
        records.save_card(db, card)
    c.cards = [k for k in c.cards if k.number != number] + [card]
    _card_event(ctx, db, c, card, previous)


def _card_created(ctx: Ctx, db: sqlite3.Connection, card: Card) -> str | None:
    """A new card starts NOT_ISSUED, as the audit page's CARD sample shows (a creation
    row ``{labelId, value}``, then the status change); None when the org has no such
    label."""
    label = next((lb for lb in ctx.org.card_labels.values() if lb.status == "NOT_ISSUED"), None)
    if label is None:
        return None
    event = auditing.event("card", "CardStatus", None, None)
    event["additionalFields"] = {"labelId": str(label.id), "value": label.label}
    event["associateEntities"] = [{"entityType": None, "entityId": None}]
    auditing.record(ctx, db, card.id, [event], entity_type="CARD")
    return label.label


def _delink_card(
    ctx: Ctx, db: sqlite3.Connection, c: Customer, wanted: rules.NewIdentifier
) -> None:
    card = next((k for k in c.cards if k.number == wanted.value), None)
    if card is None:
        raise ApiError(3031)
    if wanted.card is not None and wanted.card.label_given:
        label = wanted.card.label
        if label.status != "NOT_ISSUED":
            # S9: a delink must name a label mapped to NOT_ISSUED.
            raise ApiError(3018, detail=repr(label.label))
    else:
        found = next((lb for lb in ctx.org.card_labels.values() if lb.status == "NOT_ISSUED"), None)
        if found is None:
            raise ApiError(3031, detail="the org has no label mapped to NOT_ISSUED")
        label = found
    previous = card.status_label
    card.customer_id, card.status_label, card.status_changed_at = None, label.label, ctx.now()
    records.save_card(db, card)
    c.cards.remove(card)
    _card_event(ctx, db, c, card, previous)


def _card_event(
    ctx: Ctx, db: sqlite3.Connection, c: Customer, card: Card, previous: str | None
) -> None:
    """A card's status change, in the audit page's CARD sample shape: label names
    with their ids, and the customer as the associated entity."""
    labels = ctx.org.card_labels
    before, after = labels.get(previous or ""), labels.get(card.status_label)
    event = auditing.event(
        "card",
        "CardStatus",
        previous,
        card.status_label,
        previousLabelId=str(before.id) if before else None,
        currentLabelId=str(after.id) if after else None,
    )
    event["associateEntities"] = [{"entityType": "CUSTOMER", "entityId": c.id}]
    auditing.record(ctx, db, card.id, [event], entity_type="CARD")


def merge(ctx: Ctx, db: sqlite3.Connection, victim: Customer, survivor: Customer) -> None:
    for p in victim.profiles:
        if survivor.profile(p.source, p.account_id) is not None:
            raise ApiError(8066)
    victim_details, survivor_details = person(victim), person(survivor)
    records.move_to_survivor(db, victim.id, survivor.id)
    for e in victim.enrollments:
        kept = survivor.enrollment(e.program_id)
        if kept is None:
            records.save_enrollment(db, survivor.id, e)
            continue
        kept.points += e.points
        kept.lifetime_points += e.lifetime_points
        kept.tier_number = max(kept.tier_number, e.tier_number)
        records.save_enrollment(db, survivor.id, kept)
    kept_subscriptions = {(s.channel, s.priority) for s in survivor.subscriptions}
    for s in victim.subscriptions:
        if (s.channel, s.priority) not in kept_subscriptions:
            records.save_subscription(db, survivor.id, s)
    db.execute("DELETE FROM enrollments WHERE customer_id = ?", (victim.id,))
    db.execute("DELETE FROM subscriptions WHERE customer_id = ?", (victim.id,))
    survivor.extended_fields = {**victim.extended_fields, **survivor.extended_fields}
    for key, value in victim.alt_currencies.items():
        survivor.alt_currencies[key] = survivor.alt_currencies.get(key, 0) + value
    now = ctx.now()
    victim.profiles, victim.merged_into, victim.updated_at = [], survivor.id, now
    survivor.updated_at = now
    records.save_customer(db, victim)
    records.save_customer(db, survivor)
    for entity in (victim.id, survivor.id):
        auditing.record(
            ctx,
            db,
            entity,
            [auditing.event("merge", "CustomerMerge", victim.id, survivor.id)],
            victim=victim_details,
            survivor=survivor_details,
        )
    auditing.record_change_request(
        ctx, db, survivor.id, "MERGE", [{"type": "userId", "value": str(victim.id)}], []
    )


def person(c: Customer) -> dict[str, Any]:
    first = c.profiles[0] if c.profiles else None
    return {
        "firstName": first.first_name if first else None,
        "lastName": first.last_name if first else None,
        "email": c.any_identifier("email"),
        "mobile": c.any_identifier("mobile"),
        "externalId": c.any_identifier("externalId"),
    }
