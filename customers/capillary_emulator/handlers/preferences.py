"""E8 subscriptions, E9 status label and status log, E9b customer labels (tags)."""

from typing import Any

from .. import codes, fields, lifecycle, lookups, records, rules
from ..context import ApiError, Ctx, Reply, day, iso, ok
from ..documents import sub_entry, subscription_matrix
from ..records import Customer

DEFAULT_SCOPE = {"scope": "USER", "subScope": "NONE"}


def _subscriptions_body(ctx: Ctx, customer: Customer) -> dict[str, Any]:
    return {
        "subscriptions": [sub_entry(s) for s in subscription_matrix(ctx.org, customer)],
        "campaignId": 0,
        "communicationId": 0,
        "warnings": [],
    }


def read_subscriptions(ctx: Ctx) -> Reply:
    with ctx.store.read() as db:
        return ok(
            _subscriptions_body(
                ctx, lookups.by_id(db, ctx.request.params["customerId"], not_found=1012)
            )
        )


def read_subscriptions_by_lookup(ctx: Ctx) -> Reply:
    with ctx.store.read() as db:
        customer, _, _ = lookups.by_identifier(
            ctx, db, ctx.request.query, names=lookups.CUSTOMER_DETAILS_NAMES
        )
        return ok(_subscriptions_body(ctx, customer))


def write_subscriptions(ctx: Ctx) -> Reply:
    return _write_subscriptions(
        ctx, lambda db: lookups.by_id(db, ctx.request.params["customerId"], not_found=1012)
    )


def write_subscriptions_by_lookup(ctx: Ctx) -> Reply:
    return _write_subscriptions(
        ctx,
        lambda db: lookups.by_identifier(
            ctx, db, ctx.request.query, names=lookups.CUSTOMER_DETAILS_NAMES
        )[0],
    )


def _write_subscriptions(ctx: Ctx, find: Any) -> Reply:
    body = ctx.request.json_object()
    items = body.get("subscriptions")
    if not isinstance(items, list) or not items:
        raise ApiError(1104)
    scope = body.get("scope", DEFAULT_SCOPE)
    if not isinstance(scope, dict):
        raise ApiError(1103, scope)
    wanted = fields.parse_subscriptions(items, ctx.now())
    reason = str(body.get("reason") or "")
    with ctx.store.write() as db:
        customer = find(db)
        lifecycle.ensure_writable(ctx, customer)
        lifecycle.apply_subscriptions(ctx, db, customer, wanted, reason=reason)
    echoed = [
        {
            "channel": item.get("channel"),
            "accountId": item.get("accountId", ""),
            "priority": item.get("priority"),
            "type": item.get("type"),
            "orgUnitId": item.get("orgUnitId", -1),
            **({"sourceName": item["sourceName"]} if item.get("sourceName") else {}),
        }
        for item in items
    ]
    return ok(
        {
            "scope": scope,
            "subscriptions": echoed,
            "campaignId": body.get("campaignId", -1),
            "communicationId": body.get("communicationId", -1),
            "reason": reason,
            "warnings": [],
        }
    )


def change_status(ctx: Ctx) -> Reply:
    body = ctx.request.json_object()
    for key in ("reason", "label"):
        if not body.get(key):
            raise ApiError(403, key, status=ctx.org.http_status["mandatory_field_missing"])
    if body.get("createdOn") and not rules.is_datetime(body["createdOn"]):
        raise ApiError(codes.INVALID_INPUT, text="createdOn must be YYYY-MM-DDTHH:MM:SSZ")
    with ctx.store.write() as db:
        customer, _, _ = lookups.by_identifier(
            ctx,
            db,
            ctx.request.query,
            names=lookups.UPDATE_NAMES,
            error_codes=lookups.LookupCodes(
                missing_source=8003,
                invalid_source=8003,
                missing_identifier=8013,
                missing_account=8045,
            ),
        )
        lifecycle.set_status_label(ctx, db, customer, body["label"], str(body["reason"]))
    return ok({"createdId": customer.id, "warnings": []})


def status_log(ctx: Ctx) -> Reply:
    with ctx.store.read() as db:
        customer = lookups.by_id(db, ctx.request.params["userId"])
        rows = db.execute(
            "SELECT * FROM status_log WHERE customer_id = ? ORDER BY id DESC", (customer.id,)
        ).fetchall()
    data = []
    for index, row in enumerate(rows):
        label = ctx.org.status_labels.get(row["label"] or "")
        data.append(
            {
                "createdByUser": None,
                "reason": row["reason"],
                "createdBy": row["created_by"],
                "actions": [],
                "autoUpdateTime": day(row["created_on"]),
                "createdOn": iso(row["created_on"]),
                "entityId": customer.id,
                "isActive": index == 0,
                "label": row["label"],
                "prevLabel": row["prev_label"],
                "status": label.status if label else None,
            }
        )
    return ok({"data": data, "warnings": []})


def change_labels(ctx: Ctx) -> Reply:
    body = ctx.request.json_object()
    names = {}
    for key in ("add", "remove"):
        items = body.get(key) or []
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ApiError(codes.INVALID_INPUT, text=f"{key} must be an array of {{labelName}}")
        names[key] = [str(i.get("labelName")) for i in items]
        unknown = [n for n in names[key] if n not in ctx.org.customer_labels]
        if unknown:
            raise ApiError(
                codes.INVALID_INPUT, text=f"Label {unknown[0]!r} is not defined for the org"
            )
    with ctx.store.write() as db:
        customer = lookups.by_id(db, ctx.request.params["userId"])
        lifecycle.ensure_writable(ctx, customer)
        customer.labels = [n for n in customer.labels if n not in names["remove"]]
        customer.labels += [n for n in names["add"] if n not in customer.labels]
        customer.updated_at = ctx.now()
        records.save_customer(db, customer)
    return ok({"entity": customer.id, "warnings": []})


def customer_labels(ctx: Ctx) -> Reply:
    with ctx.store.read() as db:
        customer = lookups.by_id(db, ctx.request.params["userId"])
    catalogue = list(ctx.org.customer_labels)
    data = [
        {
            "id": catalogue.index(name) + 1,
            "orgId": ctx.org.org_id,
            "addedBy": ctx.till.id,
            "labelId": catalogue.index(name) + 1,
            "userId": customer.id,
            "labelName": name,
            "deleted": False,
        }
        for name in customer.labels
        if name in catalogue
    ]
    return ok({"data": data, "warnings": []})


def org_labels(ctx: Ctx) -> Reply:
    return ok(
        {
            "orgLabels": [{"name": n, "description": ""} for n in ctx.org.customer_labels],
            "warnings": [],
        }
    )
