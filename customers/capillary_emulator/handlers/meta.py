"""E10 extended-field catalogue and config, E11 audit and change history, E12 OAuth."""

import json
import math
import operator
from datetime import UTC, datetime
from typing import Any

from .. import auth, codes, lookups
from ..context import ApiError, Ctx, Reply, int_param, ok
from ..records import json_rows

# The org's fields predate the emulator; one fixed date keeps responses stable.
FIELD_CREATED = "2020-01-01"
MAX_PAGE = 100


def extended_fields(ctx: Ctx) -> Reply:
    fields = []
    for f in ctx.org.extended_fields.values():
        if not f.enabled:
            continue
        entry: dict[str, Any] = {
            "id": f.id,
            "name": f.name,
            "label": f.label,
            "dataType": f.data_type,
            "parentId": -1,
            "createdBy": -1,
            "modifiedBy": -1,
            "createdOn": FIELD_CREATED,
            "modifiedOn": FIELD_CREATED,
            "createdOnISO": f"{FIELD_CREATED}T00:00:00Z",
            "modifiedOnISO": f"{FIELD_CREATED}T00:00:00Z",
            "baseEntityType": "customer",
            "entityType": "customer",
        }
        if f.values:
            entry["possibleValues"] = list(f.values)  # emulator extension, see the coverage table
        fields.append(entry)
    # The current docs key the catalogue by upper-case entity (reference §4.17).
    return ok({"entity": {"CUSTOMER": fields}, "warnings": [], "errors": [], "success": True})


def extended_field_config(ctx: Ctx) -> Reply:
    return ok(
        [
            {
                "extendedFieldId": f.id,
                "createdBy": -1,
                "modifiedBy": -1,
                "hideDisplay": False,
                "isPiiData": f.pii,
                "isPsiData": False,
                "position": position,
                "fieldUpdatable": True,
                "updatable": True,
                "mandatory": False,
                "computeEnabled": False,
                "rejectTxnOnInvalidValue": False,
                "auditTrailEnabled": True,
                "warnings": [],
            }
            for position, f in enumerate(ctx.org.extended_fields.values(), start=1)
            if f.enabled
        ]
    )


def custom_fields(ctx: Ctx) -> Reply:
    scope = ctx.request.query.get("scope", "loyalty_registration")
    data = [
        {"name": f.name, "label": f.label, "type": f.type, "scope": scope}
        for f in ctx.org.custom_fields.values()
    ]
    return ok({"data": data, "warnings": []})


def audits(ctx: Ctx) -> Reply:
    query = ctx.request.query
    entity_type = query.get("entityType", "")
    if entity_type not in ("CUSTOMER", "CARD"):
        raise ApiError(codes.INVALID_INPUT, detail="entityType must be CUSTOMER or CARD")
    entity_id = query.get("entityId", "")
    if not entity_id.isdigit():
        raise ApiError(codes.INVALID_INPUT, detail="entityId is mandatory")
    limit, page = int_param(query.get("limit"), 10), int_param(query.get("pageNo"), 0)
    _check_page(limit, page)
    with ctx.store.read() as db:
        rows = [
            json.loads(r["row"])
            for r in db.execute(
                "SELECT row FROM audit WHERE entity_type = ? AND entity_id = ? ORDER BY id",
                (entity_type, int(entity_id)),
            )
        ]
    rows = [row for row in (_filtered(row, query) for row in rows) if row is not None]
    if query.get("sortOrder", "DESC").upper() == "DESC":
        rows.reverse()
    page_rows = rows[page * limit : (page + 1) * limit]
    with_context = ctx.request.flag("includeUserContext")
    for row in page_rows:
        if not with_context:
            row["userContextDetails"] = None
        for event in row["events"]:
            event.pop("referenceType", None)
    return ok(
        {
            "data": page_rows,
            "pagination": {
                "totalElements": len(rows),
                "totalPages": math.ceil(len(rows) / limit),
                "numberOfElements": len(page_rows),
                "number": page,
            },
        }
    )


def _check_page(limit: int, offset: int) -> None:
    if offset < 0:
        raise ApiError(8100)
    if limit <= 0:
        raise ApiError(8101)
    if limit > MAX_PAGE:
        raise ApiError(8102)


def _filtered(row: dict[str, Any], query: dict[str, str]) -> dict[str, Any] | None:
    if query.get("source") and row.get("source") != query["source"]:
        return None
    for key, keep in (("startDate", operator.ge), ("endDate", operator.le)):
        if query.get(key):
            try:
                bound = datetime.strptime(query[key], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            except ValueError as exc:
                raise ApiError(
                    codes.INVALID_INPUT, detail=f"{key} must be YYYY-MM-DD HH:MM:SS"
                ) from exc
            if not keep(row["createdOn"], bound.timestamp() * 1000):
                return None
    events = row["events"]
    if query.get("referenceType"):
        events = [e for e in events if e.get("referenceType") == query["referenceType"]]
    if query.get("referenceValue"):
        events = [e for e in events if e.get("updatedField") == query["referenceValue"]]
    if not events:
        return None
    return {**row, "events": events}


def change_requests(ctx: Ctx) -> Reply:
    query = ctx.request.query
    limit, offset = int_param(query.get("limit"), 10), int_param(query.get("offset"), 0)
    _check_page(limit, offset)
    with ctx.store.read() as db:
        customer = lookups.by_id(db, ctx.request.params["customerId"])
        rows = json_rows(db, "change_requests", customer.id)
    if query.get("changeType"):
        rows = [r for r in rows if r["changeType"] == query["changeType"]]
    if query.get("sortOrder", "DESC").upper() == "DESC":
        rows.reverse()
    return ok(
        {
            "data": rows[offset : offset + limit],
            "pagination": {"limit": limit, "offset": offset, "total": len(rows)},
            "warnings": [],
        }
    )


def subscription_change_log(ctx: Ctx) -> Reply:
    with ctx.store.read() as db:
        customer = lookups.by_id(db, ctx.request.params["userId"])
        rows = json_rows(db, "subscription_log", customer.id)
    return ok({"data": rows, "warnings": [], "errors": []})


def generate_token(ctx: Ctx) -> Reply:
    """E12 answers bad credentials inside a 200 by default (reference §1.2, inferred)."""
    try:
        body = ctx.request.json_object()
    except ApiError:
        body = {}
    client = ctx.org.oauth_clients.get(str(body.get("key")))
    if client is None or client.secret != body.get("secret"):
        return Reply(
            ctx.org.http_status["oauth_bad_credentials"],
            {"data": None, "errors": [{"code": 320001, "message": codes.message(320001)}]},
        )
    token = auth.issue_token(client, ctx.now(), ctx.rng)
    return ok({"data": {"accessToken": token, "ttlSeconds": client.ttl_seconds}, "errors": None})
