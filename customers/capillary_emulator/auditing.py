"""The change history E11 serves: one audit row per change, in Capillary's row shape.

Each row keeps the request id and the USER-CONTEXT-* headers of the request that
made the change. Events carry their ``referenceType`` so the audit endpoint can
filter on it; the field is stripped when the row is served.
"""

import json
import sqlite3
from typing import Any

from .context import Ctx, day, iso

EVENT_KINDS = {
    "identifier": ("Identifiers", "Identifier"),
    "standard": ("Standard Fields", "StandardField"),
    "extended": ("Extended Fields", "ExtendedField"),
    "custom": ("Custom Fields", "CustomField"),
    "status": ("Customer Status", "CustomerStatus"),
    "subscription": ("Subscription Status", "SubscriptionStatus"),
    "channel": ("Communication Channels", "CommChannel"),
    "card": ("Card Status", "CardStatus"),
    "merge": ("Customer Merge", "CustomerMerge"),
}


def event(
    kind: str, updated_field: str, previous: Any, current: Any, **extra: Any
) -> dict[str, Any]:
    event_type, reference = EVENT_KINDS[kind]
    return {
        "eventType": event_type,
        "updatedField": updated_field,
        "additionalFields": {
            "previousValue": "NA" if previous in (None, "") else str(previous),
            "currentValue": None if current is None else str(current),
            **extra,
        },
        "associateEntities": None,
        "referenceType": reference,
    }


def diff(kind: str, old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Events for the keys whose value changed between two field maps."""
    return [
        event(kind, key, old.get(key), new.get(key))
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def record(
    ctx: Ctx,
    db: sqlite3.Connection,
    entity_id: int,
    events: list[dict[str, Any]],
    *,
    entity_type: str = "CUSTOMER",
    source: str | None = None,
    victim: dict[str, Any] | None = None,
    survivor: dict[str, Any] | None = None,
) -> None:
    if not events:
        return
    now_ms = int(ctx.now() * 1000)
    context = ctx.user_context()
    row = {
        "updatedByUser": None,
        "updatedBy": ctx.till.id,
        "orgId": ctx.org.org_id,
        "entityType": entity_type,
        "entityId": entity_id,
        "createdOn": now_ms,
        "requestId": ctx.request.request_id,
        "till": None,
        "store": None,
        "userContextDetails": context,
        "victimUserDetails": victim,
        "survivorUserDetails": survivor,
        "source": source,
        "updatedByMode": context["entitySource"] or "API",
        "autoUpdateTime": now_ms,
        "events": events,
    }
    db.execute(
        "INSERT INTO audit (entity_type, entity_id, created_on, row) VALUES (?, ?, ?, ?)",
        (entity_type, entity_id, now_ms, json.dumps(row)),
    )


def record_change_request(
    ctx: Ctx,
    db: sqlite3.Connection,
    customer_id: int,
    change_type: str,
    add: list[dict[str, Any]],
    remove: list[dict[str, Any]],
) -> None:
    """A row for ``GET /v2/customers/{id}/changeRequest``: applied at once (``oneStep``)."""
    now = ctx.now()
    row = {
        "status": "APPROVED",
        "addedBy": ctx.till.id,
        "updatedBy": ctx.till.id,
        "addedOn": iso(now),
        "updatedOn": iso(now),
        "userId": customer_id,
        "changeType": change_type,
        "changeIdentifiers": {"add": add, "remove": remove},
        "comments": "",
        "secUserId": -1,
        "oneStep": True,
    }
    cursor = db.execute(
        "INSERT INTO change_requests (customer_id, change_type, created_on, row)"
        " VALUES (?, ?, ?, ?)",
        (customer_id, change_type, now, json.dumps(row)),
    )
    row["id"] = cursor.lastrowid
    db.execute(
        "UPDATE change_requests SET row = ? WHERE id = ?", (json.dumps(row), cursor.lastrowid)
    )


def record_subscription_change(
    ctx: Ctx,
    db: sqlite3.Connection,
    customer_id: int,
    *,
    channel: str,
    priority: str,
    subscribed: bool,
    source: str,
    account_id: str,
    reason: str,
) -> None:
    row = {
        "orgUnitId": -1,
        "source": source,
        "accountId": account_id,
        "orgSourceId": -1,
        "commChannelId": -1,
        "commChannelType": channel,
        "communicationCategoryId": -1,
        "priority": priority,
        "status": subscribed,
        "addedBy": ctx.till.id,
        "addedOn": day(ctx.now()),
        "reason": reason,
    }
    db.execute(
        "INSERT INTO subscription_log (customer_id, row) VALUES (?, ?)",
        (customer_id, json.dumps(row)),
    )
