"""E8 subscriptions, E9 status label and status log, E9b customer labels (tags)."""

from typing import Any

from .. import codes, fields, lifecycle, lookups, records, rules
from ..context import ApiError, Ctx, Reply, day, iso, ok
from ..documents import sub_entry, subscription_matrix
from ..records import Customer, Subscription

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
        raise ApiError(codes.INVALID_INPUT, detail="subscriptions must be a non-empty array")
    scope = body.get("scope", DEFAULT_SCOPE)
    if not isinstance(scope, dict):
        raise ApiError(1103, detail=repr(scope))
    wanted: list[Subscription] = []
    accepted: list[Any] = []
    failed: list[dict[str, Any]] = []
    for item in items:
        try:
            wanted.append(fields.parse_subscription(item, ctx.now()))
            accepted.append(item)
        except ApiError as error:
            failed.append(error.entry)
    if not wanted:
        # S19: a request whose every subscription fails is HTTP 500, body code 500.
        raise ApiError(500, status=500)
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
        for item in accepted
    ]
    return ok(
        {
            "scope": scope,
            "subscriptions": echoed,
            "campaignId": body.get("campaignId", -1),
            "communicationId": body.get("communicationId", -1),
            "reason": reason,
            # Some failed: the rest are applied and the failures come back as warnings
            # (inferred; the page documents only the all-failed answer).
            "warnings": failed,
        }
    )


def change_status(ctx: Ctx) -> Reply:
    body = ctx.request.json_object()
    for key in ("reason", "label"):
        if not body.get(key):
            raise ApiError(403, key, status=ctx.org.http_status["mandatory_field_missing"])
    if body.get("createdOn") and not rules.is_datetime(body["createdOn"]):
        raise ApiError(codes.INVALID_INPUT, detail="createdOn must be YYYY-MM-DDTHH:MM:SSZ")
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
    tills = {till.id: till.code for till in ctx.org.tills.values()}
    data = []
    for index, row in enumerate(rows):
        label = ctx.org.status_labels.get(row["label"] or "")
        data.append(
            {
                # The page types it as a string: the user (here the till) who made it.
                "createdByUser": tills.get(row["created_by"], str(row["created_by"])),
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
    return ok({"data": data, "warnings": [], "errors": []})


def change_labels(ctx: Ctx) -> Reply:
    """E9b: unknown labels are warning 33000 beside the entity, the rest applied; removing
    labels the customer does not hold is warning 33001 (the tag page's samples)."""
    body = ctx.request.json_object()
    names = {}
    for key in ("add", "remove"):
        items = body.get(key) or []
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ApiError(codes.INVALID_INPUT, detail=f"{key} must be an array of {{labelName}}")
        names[key] = [str(i.get("labelName") or "") for i in items]
    catalogue = {label.name for label in ctx.org.customer_labels}
    warnings = [codes.entry(33000, name) for name in names["add"] if name and name not in catalogue]
    with ctx.store.write() as db:
        customer = lookups.by_id(db, ctx.request.params["userId"])
        lifecycle.ensure_writable(ctx, customer)
        removing = [n for n in names["remove"] if n]
        if removing and not set(removing) & set(customer.labels):
            warnings.append(codes.entry(33001))
        customer.labels = [n for n in customer.labels if n not in removing]
        customer.labels += [n for n in names["add"] if n in catalogue and n not in customer.labels]
        customer.updated_at = ctx.now()
        records.save_customer(db, customer)
    return ok({"entity": customer.id, "warnings": warnings})


def customer_labels(ctx: Ctx) -> Reply:
    with ctx.store.read() as db:
        customer = lookups.by_id(db, ctx.request.params["userId"])
        added = {name: index for index, name in enumerate(customer.labels, start=1)}
    catalogue = {label.name: label for label in ctx.org.customer_labels}
    data = [
        {
            # One mapping row per (customer, label): the emulator keeps no row ids.
            "id": customer.id * 100 + position,
            "orgId": ctx.org.org_id,
            "addedBy": ctx.till.id,
            "labelId": catalogue[name].id,
            "userId": customer.id,
            "labelName": name,
            "deleted": False,
        }
        for name, position in added.items()
        if name in catalogue
    ]
    if not data:
        # The page's sample for a customer without labels: the warning and no data.
        return ok({"warnings": [codes.entry(33001)], "errors": []})
    return ok({"data": data, "warnings": [], "errors": []})


def org_labels(ctx: Ctx) -> Reply:
    return ok(
        {
            "data": [
                {
                    "id": label.id,
                    "orgId": ctx.org.org_id,
                    "description": label.description,
                    "lastUpdatedBy": ctx.org.default_till().id,
                    "name": label.name,
                    "active": True,
                }
                for label in ctx.org.customer_labels
            ],
            "warnings": [],
            "errors": [],
        }
    )
