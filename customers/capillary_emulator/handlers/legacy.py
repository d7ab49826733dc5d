"""E4 ``POST /v1.1/customer/update``: the legacy envelope, by seed S4.

The customer is found by ``id``, else by its InStore mobile / email / external_id
(the primary identifier type first). Other identifiers in the item are secondary
updates: an empty one is filled only when the org's CONF_ALLOW_* flag for it is on
(else warning 91006); an existing one is never overwritten, whatever the flag
(S34: 500 "Tried to update secondary identifier"); the primary identifier is never
changed (91005); one another customer holds is ignored (91007). Item warnings are
code strings, as the v1.1 sample prints them.
"""

import sqlite3
from typing import Any

from .. import auditing, codes, fields, lifecycle, promotions, records, rules
from ..context import ApiError, Ctx, Reply
from ..documents import v11_customer
from ..records import Customer, Enrollment, Identifier, Subscription

V11_NAMES = {"mobile": "mobile", "email": "email", "external_id": "externalId"}
UPDATE_FLAGS = {
    "mobile": "CONF_ALLOW_MOBILE_UPDATE",
    "email": "CONF_ALLOW_EMAIL_UPDATE",
    "externalId": "CONF_LOYALTY_ALLOW_EXTERNAL_ID_UPDATE",
}
STATUS_MESSAGES = {
    "all": "Success",
    "some": "Some requests have failed due to errors",
    "none": "All requests have failed due to errors",
}


def update_v11(ctx: Ctx) -> Reply:
    try:
        body = ctx.request.json_object()
        root = body.get("root")
        items = root.get("customer") if isinstance(root, dict) else None
    except ApiError as error:
        return _envelope(400, "false", error.entry["message"], [], 0)
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items:
        return _envelope(400, "false", "Invalid input: root.customer is required", [], 0)
    results = [_one(ctx, raw) for raw in items]
    succeeded = sum(1 for r in results if r["item_status"]["success"] == "true")
    http = ctx.org.http_status
    if succeeded == len(results):
        return _envelope(
            http["batch_all_succeeded"], "true", STATUS_MESSAGES["all"], results, succeeded
        )
    if succeeded:
        return _envelope(
            http["batch_some_failed"], "false", STATUS_MESSAGES["some"], results, succeeded
        )
    return _envelope(http["batch_all_failed"], "false", STATUS_MESSAGES["none"], results, succeeded)


def _envelope(
    status: int, success: str, message: str, items: list[dict[str, Any]], succeeded: int
) -> Reply:
    head = {
        "success": success,
        "code": status,
        "message": message,
        "total": str(len(items)),
        "success_count": str(succeeded),
    }
    return Reply(status, {"response": {"status": head, "customers": {"customer": items}}})


def _one(ctx: Ctx, raw: Any) -> dict[str, Any]:
    try:
        with ctx.store.write() as db:
            return _update(ctx, db, raw)
    except ApiError as error:
        given = raw if isinstance(raw, dict) else {}
        return {
            "user_id": "",
            "mobile": given.get("mobile", ""),
            "email": given.get("email", ""),
            "external_id": given.get("external_id", ""),
            "item_status": {
                "success": "false",
                "code": str(error.code),
                "message": error.entry["message"],
                "warnings": {"warning": []},
            },
        }


def _update(ctx: Ctx, db: sqlite3.Connection, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ApiError(1015)
    customer, found_by = _find(ctx, db, raw)
    lifecycle.ensure_writable(ctx, customer)
    profile = customer.profile("INSTORE", "") or customer.profiles[0]
    v2_warnings: list[dict[str, Any]] = []
    upgrade = _loyalty_change(customer, raw.get("type"))
    fraud = _fraud_status(raw.get("fraud_status"))
    subscriptions = _subscriptions(raw.get("subscriptions"), ctx.now())
    custom = fields.clean_custom_fields(ctx.org, _pairs(raw.get("custom_fields")), v2_warnings)
    extended = fields.clean_extended_fields(
        ctx.org, _pairs(raw.get("extended_fields")), v2_warnings
    )
    warnings = [str(w["code"]) for w in v2_warnings]

    before = {"FirstName": profile.first_name, "LastName": profile.last_name}
    before_extended = dict(customer.extended_fields)
    if "firstname" in raw:
        profile.first_name = rules.clean_name(raw["firstname"])
    if "lastname" in raw:
        profile.last_name = rules.clean_name(raw["lastname"])
    profile.fields.update(custom)
    customer.extended_fields.update(extended)
    for key in ("registered_on",):
        if raw.get(key):
            customer.registered_on = str(raw[key])
    if raw.get("associated_with") in ctx.org.tills:
        customer.associated_with = raw["associated_with"]
    events = _secondary_identifiers(ctx, db, customer, profile, raw, found_by, warnings)
    effects: list[dict[str, Any]] = []
    if upgrade:
        customer.loyalty_type = "loyalty"
        default = ctx.org.default_program()
        if default is not None and customer.enrollment(default.id) is None:
            enrollment = Enrollment(default.id, 1, 0.0, 0.0, None, None, ctx.now())
            customer.enrollments.append(enrollment)
            records.save_enrollment(db, customer.id, enrollment)
        effects = promotions.on_loyalty_registration(db, ctx, customer, "")
        events.append(auditing.event("standard", "LoyaltyType", "non_loyalty", "loyalty"))
    if fraud is not None and fraud != customer.fraud_status:
        customer.fraud_status, customer.fraud_changed_at = fraud, ctx.now()
    lifecycle.apply_subscriptions(ctx, db, customer, subscriptions, reason="v1.1 update")
    customer.updated_at = profile.updated_at = ctx.now()
    customer.modified_till = profile.modified_till = ctx.till.code
    records.save_customer(db, customer)
    # v1.1 updates leave no audit entries for custom fields (reference §2 E4).
    events += auditing.diff(
        "standard", before, {"FirstName": profile.first_name, "LastName": profile.last_name}
    )
    events += auditing.diff("extended", before_extended, customer.extended_fields)
    if events or custom:
        effects += promotions.on_profile_update(db, ctx, customer)
    auditing.record(ctx, db, customer.id, events, source=profile.source)
    status = {
        "success": "true",
        "code": "1000",
        "message": codes.message(1000),
        "warnings": {"warning": warnings},
    }
    return v11_customer(ctx.org, customer, status, effects)


def _find(ctx: Ctx, db: sqlite3.Connection, raw: dict[str, Any]) -> tuple[Customer, str | None]:
    if raw.get("id") not in (None, ""):
        customer = records.load_customer(db, int(raw["id"])) if str(raw["id"]).isdigit() else None
        if customer is None or customer.merged_into is not None:
            raise ApiError(codes.V11_NOT_FOUND)
        return customer, None
    order = sorted(V11_NAMES.items(), key=lambda item: item[1] != ctx.org.primary_key)
    given = [(kind, str(raw[name]).strip()) for name, kind in order if raw.get(name)]
    if not given:
        raise ApiError(1015)
    for kind, value in given:
        if kind == "mobile":
            value = rules.normalise_mobile(ctx.org, value) or value
        customer_id = records.owner_in_account(db, "INSTORE", "", kind, value)
        if customer_id is not None:
            customer = records.load_customer(db, customer_id)
            assert customer is not None
            return customer, kind
    raise ApiError(codes.V11_NOT_FOUND)


def _secondary_identifiers(
    ctx: Ctx,
    db: sqlite3.Connection,
    c: Customer,
    profile: records.Profile,
    raw: dict[str, Any],
    found_by: str | None,
    warnings: list[str],
) -> list[dict[str, Any]]:
    events = []
    for name, kind in V11_NAMES.items():
        if not raw.get(name) or kind == found_by:
            continue
        value = str(raw[name]).strip()
        value = (
            rules.normalise_mobile(ctx.org, value)
            if kind == "mobile"
            else rules.clean_email(value)
            if kind == "email"
            else value
        ) or ""
        current = profile.identifier(kind)
        if not value:
            warnings.append("1042")
            continue
        if current == value:
            continue
        if kind == ctx.org.primary_key and current is not None:
            warnings.append("91005")
            continue
        if current is not None:
            # S34: "Tried to update secondary identifier" fails the item, even where
            # CONF_ALLOW_EMAIL_UPDATE lets v2 change it.
            raise ApiError(
                codes.V11_SECONDARY_OVERWRITE,
                detail=f"Tried to update secondary identifier {name}",
            )
        holder = records.owner_in_account(db, profile.source, profile.account_id, kind, value)
        if holder is not None and holder != c.id and not rules.shareable(ctx.org, kind):
            warnings.append("91007")
            continue
        if not ctx.org.flags[UPDATE_FLAGS[kind]]:
            warnings.append("91006")
            continue
        ident = Identifier(kind, value, rules.shareable(ctx.org, kind))
        records.insert_identifier(db, profile, ident)
        profile.identifiers.append(ident)
        events.append(auditing.event("identifier", kind, current, value))
    return events


def _loyalty_change(c: Customer, raw: Any) -> bool:
    if raw in (None, ""):
        return False
    wanted = str(raw).upper()
    if wanted not in ("LOYALTY", "NON_LOYALTY"):
        raise ApiError(codes.V11_INVALID_VALUE, f"type {raw!r}")
    if wanted == "NON_LOYALTY" and c.loyalty_type == "loyalty":
        raise ApiError(1046)
    return wanted == "LOYALTY" and c.loyalty_type == "non_loyalty"


def _fraud_status(raw: Any) -> str | None:
    """``{"status": ""}`` (the official sample) leaves the fraud status as it is."""
    status = raw.get("status") if isinstance(raw, dict) else raw
    if status in (None, ""):
        return None
    if status not in ("CONFIRMED", "NONE"):
        raise ApiError(codes.V11_INVALID_VALUE, f"fraud_status {status!r}")
    return str(status)


def _subscriptions(raw: Any, now: float) -> list[Subscription]:
    if raw in (None, ""):
        return []
    items = raw.get("subscription") if isinstance(raw, dict) else None
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise ApiError(codes.V11_BAD_SUBSCRIPTIONS, detail="subscriptions.subscription is required")
    result = []
    for item in items:
        channel = {"SMS": "SMS", "EMAIL": "EMAIL"}.get(str(item.get("channel", "")).upper())
        if channel is None:
            raise ApiError(1101, detail=repr(item.get("channel")))
        priority = str(item.get("priority", "")).upper()
        if priority not in fields.PRIORITIES:
            raise ApiError(1102, detail=repr(item.get("priority")))
        if str(item.get("scope", "all")).lower() != "all":
            raise ApiError(1103, detail=repr(item.get("scope")))
        subscribed = str(item.get("is_subscribed", ""))
        if subscribed not in ("0", "1"):
            raise ApiError(1106, detail=repr(item.get("is_subscribed")))
        result.append(
            Subscription(channel, priority, "OPTIN" if subscribed == "1" else "OPTOUT", "", "", now)
        )
    return result


def _pairs(raw: Any) -> dict[str, Any] | None:
    """``{"field": [{"name", "value"}]}`` as a name → value map."""
    if raw in (None, ""):
        return None
    items = raw.get("field") if isinstance(raw, dict) else None
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise ApiError(codes.V11_INVALID_VALUE, "custom_fields / extended_fields")
    return {str(i.get("name")): i.get("value") for i in items if isinstance(i, dict)}
