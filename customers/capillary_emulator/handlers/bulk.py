"""E3 bulk upsert: per element, look up in the element's source → update (and
change identifiers unless ``skipChangeIdentifier=true``) or register (seed S1).

Each element succeeds or fails on its own (a savepoint in the request's one
transaction), answered in input order. A bad status label
fails the element with 3017 after its other changes were kept, and the element
still carries its ``result`` (as the seed's sample shows).
"""

from typing import Any

from .. import codes, lifecycle, records, rules
from ..context import ApiError, Ctx, Reply
from ..documents import customer_document
from ..identity import change_identifiers
from ..profile_update import update_profile
from ..registration import Downstream, register


def upsert_bulk(ctx: Ctx) -> Reply:
    body = ctx.request.json()
    if not isinstance(body, list) or not body:
        raise ApiError(codes.INVALID_INPUT, detail="Request body must be a non-empty JSON array")
    if len(body) > ctx.org.max_batch_size:
        raise ApiError(1060, detail=f"at most {ctx.org.max_batch_size} per request")
    skip_change = ctx.request.flag("skipChangeIdentifier")
    response = []
    unexpected: Exception | None = None
    # One commit for the request (a commit per element rewrites the same index
    # pages a hundred times); each element still succeeds or fails on its own, in
    # a savepoint. An unexpected error keeps the elements before it, as it would
    # have with a transaction per element, then answers 500.
    with ctx.store.write():
        for element in body:
            try:
                response.append(_one(ctx, element, skip_change))
            except Exception as error:
                unexpected = error
                break
    if unexpected is not None:
        raise unexpected
    failures = sum(1 for item in response if item["errors"])
    http = ctx.org.http_status
    if failures == 0:
        status = http["batch_all_succeeded"]
    elif failures < len(response):
        status = http["batch_some_failed"]
    else:
        status = http["batch_all_failed"]
    return Reply(status, {"response": response, "totalCount": len(body), "failureCount": failures})


def _one(ctx: Ctx, element: Any, skip_change: bool) -> dict[str, Any]:
    try:
        with ctx.store.savepoint() as db:
            return _upsert(ctx, db, element, skip_change)
    except ApiError as error:
        return {"errors": [error.entry], "warnings": error.warnings}


def _upsert(ctx: Ctx, db: Any, element: Any, skip_change: bool) -> dict[str, Any]:
    if not isinstance(element, dict):
        raise ApiError(codes.INVALID_INPUT, detail="Each element must be a customer object")
    element = dict(element)
    label = element.pop("statusLabel", None)
    raw_profiles = element.get("profiles")
    if (
        not isinstance(raw_profiles, list)
        or not raw_profiles
        or not isinstance(raw_profiles[0], dict)
    ):
        raise ApiError(8084)
    raw = raw_profiles[0]
    # The seed's subscription example has no source: the org's default source (inferred).
    source, account = rules.source_account(
        ctx.org, raw.get("source") or ctx.org.default_source, raw.get("accountId")
    )
    warnings: list[dict[str, Any]] = []
    pairs = [
        (ident, item)
        for item in raw.get("identifiers") or []
        if (ident := rules.clean_identifier(ctx.org, item, warnings, registering=True))
    ]
    if not pairs:
        raise ApiError(8005)
    # Under dual eligibility shared identifiers do not say who the customer is (S16).
    found = {
        records.owner_in_account(db, source, account, i.type, i.value)
        for i, _ in pairs
        if not rules.shareable(ctx.org, i.type)
    } - {None}
    if len(found) > 1:
        raise ApiError(codes.UPSERT_CONFLICT)
    if found:
        customer_id = found.pop()
        assert customer_id is not None
        customer = records.load_customer(db, customer_id)
        assert customer is not None
        lifecycle.ensure_writable(ctx, customer)
        profile = customer.profile(source, account)
        assert profile is not None
        warnings += update_profile(
            ctx, db, customer, profile, element, downstream=Downstream()
        ).warnings
        lifecycle.apply_subscriptions(
            ctx,
            db,
            customer,
            lifecycle.subscriptions_in(element, ctx.now()),
            reason="Upsert",
            source=source,
            account_id=account,
        )
        held = {(i.type, i.value) for i in profile.identifiers}
        new = [item for ident, item in pairs if (ident.type, ident.value) not in held]
        if new and not skip_change:
            change = change_identifiers(ctx, db, customer, profile, new, [])
            warnings += change.warnings
            customer_id = change.customer_id
    else:
        element["profiles"] = [{**raw, "source": source, "accountId": account}, *raw_profiles[1:]]
        outcome = register(ctx, db, element, downstream=Downstream())
        warnings += outcome.warnings
        customer_id = outcome.customer_id
    errors = []
    if label is not None:
        customer = records.load_customer(db, customer_id)
        assert customer is not None
        try:
            lifecycle.set_status_label(ctx, db, customer, label, "Upsert", invalid_code=3017)
        except ApiError as error:
            errors.append(error.entry)
    customer = records.load_customer(db, customer_id)
    assert customer is not None
    result = customer_document(ctx.org, customer)
    del result["warnings"]
    return {"entityId": customer_id, "result": result, "errors": errors, "warnings": warnings}
