"""Customer status labels (E9, and the statusLabel of E1/E3) and subscriptions (E8,
and the subscription parts of E1/E3/E4), with their logs and audit events."""

import sqlite3
from typing import Any

from . import auditing, codes, fields, records
from .context import ApiError, Ctx
from .documents import status_of
from .records import Customer, Subscription


def initial_label(ctx: Ctx, raw: Any, warnings: list[dict[str, Any]]) -> str | None:
    """The label a new customer gets: the one asked for, else the org default; no
    default set → the customer is saved without one and warning 8107 (S5)."""
    if raw not in (None, ""):
        if raw not in ctx.org.status_labels:
            raise ApiError(8086)
        return str(raw)
    if ctx.org.default_status_label is None:
        warnings.append(codes.entry(8107))
    return ctx.org.default_status_label


def ensure_writable(ctx: Ctx, c: Customer) -> None:
    if c.merged_into is not None:
        raise ApiError(codes.UPDATE_OF_MERGED, c.merged_into)
    if status_of(ctx.org, c) == "DELETED":
        raise ApiError(3042)


def set_status_label(
    ctx: Ctx,
    db: sqlite3.Connection,
    c: Customer,
    label: Any,
    reason: str,
    *,
    invalid_code: int = 8086,
) -> None:
    if not ctx.org.status_enabled:
        raise ApiError(3044)
    ensure_writable(ctx, c)
    new = ctx.org.status_labels.get(str(label)) if isinstance(label, str) else None
    if new is None:
        raise ApiError(invalid_code)
    old = ctx.org.status_labels.get(c.status_label or "")
    c.status_label = new.label
    c.updated_at = ctx.now()
    c.modified_till = ctx.till.code
    records.save_customer(db, c)
    log_status(ctx, db, c.id, new.label, old.label if old else None, reason)
    auditing.record(
        ctx,
        db,
        c.id,
        [
            auditing.event(
                "status",
                "CustomerStatus",
                old.status if old else None,
                new.status,
                previousLabelId=str(old.id) if old else None,
                currentLabelId=str(new.id),
            )
        ],
    )


def log_status(
    ctx: Ctx,
    db: sqlite3.Connection,
    customer_id: int,
    label: str,
    previous: str | None,
    reason: str,
) -> None:
    db.execute(
        "INSERT INTO status_log (customer_id, label, prev_label, reason, created_on, created_by)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (customer_id, label, previous, reason, ctx.now(), ctx.till.id),
    )


def subscriptions_in(body: dict[str, Any], now: float) -> list[Subscription]:
    info = body.get("subscriptionInfo")
    if info is None:
        return []
    if not isinstance(info, dict):
        raise ApiError(codes.INVALID_INPUT, detail="subscriptionInfo must be an object")
    return fields.parse_subscriptions(info.get("subscriptions", []), now)


def apply_subscriptions(
    ctx: Ctx,
    db: sqlite3.Connection,
    c: Customer,
    wanted: list[Subscription],
    *,
    reason: str,
    source: str = "INSTORE",
    account_id: str = "",
) -> None:
    before = {(s.channel, s.priority): s.type for s in c.subscriptions}
    events = []
    for sub in wanted:
        records.save_subscription(db, c.id, sub)
        previous = before.get((sub.channel, sub.priority))
        if previous == sub.type:
            continue
        auditing.record_subscription_change(
            ctx,
            db,
            c.id,
            channel=sub.channel,
            priority=sub.priority,
            subscribed=sub.type == "OPTIN",
            source=sub.source_name or source,
            account_id=sub.account_id or account_id,
            reason=reason,
        )
        events.append(
            auditing.event(
                "subscription",
                "SubscriptionStatus",
                previous,
                sub.type,
                org_source=sub.source_name or source,
                # The audit page prints these ids as strings.
                org_source_id="-1",
                communication_channel_type=sub.channel,
                communication_channel_id="-1",
                priority=sub.priority,
                ou_id="-1",
            )
        )
    c.subscriptions = [
        s
        for s in c.subscriptions
        if (s.channel, s.priority) not in {(w.channel, w.priority) for w in wanted}
    ] + wanted
    auditing.record(ctx, db, c.id, events, source=source)
