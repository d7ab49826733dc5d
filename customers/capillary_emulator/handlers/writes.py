"""E1 add, E2 / E2b update, E7 change identifier: the single-customer v2 writes."""

from .. import codes, lookups, rules
from ..context import ApiError, Ctx, Reply, ok
from ..identity import change_identifiers
from ..lifecycle import ensure_writable
from ..profile_update import update_profile
from ..registration import Downstream, Outcome, register


def _written(outcome: Outcome) -> Reply:
    return ok(
        {
            "createdId": outcome.customer_id,
            "warnings": outcome.warnings,
            "sideEffects": outcome.side_effects,
        }
    )


def add_customer(ctx: Ctx) -> Reply:
    request = ctx.request
    body = request.json_object()
    # WAIT_FOR_DOWNSTREAM false, use_async or X-CAP-DIRECT-REPLAY: the loyalty work is
    # queued, so nothing comes back; SKIP-DOWNSTREAM: saved like an import (§1.3).
    downstream = Downstream(
        run=not request.flag("SKIP-DOWNSTREAM"),
        report=request.flag("WAIT_FOR_DOWNSTREAM", True)
        and not request.flag("use_async")
        and not request.flag("X-CAP-DIRECT-REPLAY"),
    )
    with ctx.store.write() as db:
        outcome = register(
            ctx,
            db,
            body,
            downstream=downstream,
            source_hint=request.query.get("source"),
            account_hint=request.query.get("accountId"),
            enroll_all=request.flag("mlp_single_enroll"),
        )
    return _written(outcome)


def update_customer(ctx: Ctx) -> Reply:
    query = ctx.request.query
    body = ctx.request.json_object()
    source, account = rules.source_account(ctx.org, query.get("source"), query.get("accountId"))
    with ctx.store.write() as db:
        customer = lookups.by_id(db, ctx.request.params["userId"])
        ensure_writable(ctx, customer)
        profile = customer.profile(source, account)
        if profile is None:
            raise ApiError(8015)
        outcome = update_profile(
            ctx, db, customer, profile, body, downstream=_update_downstream(ctx)
        )
    return _written(outcome)


def update_customer_by_lookup(ctx: Ctx) -> Reply:
    body = ctx.request.json_object()
    with ctx.store.write() as db:
        customer, source, account = lookups.by_identifier(
            ctx,
            db,
            ctx.request.query,
            names=lookups.UPDATE_NAMES,
            error_codes=lookups.LookupCodes(
                missing_source=3217, invalid_source=3217, missing_account=8045
            ),
        )
        ensure_writable(ctx, customer)
        profile = customer.profile(source, account)
        if profile is None:
            raise ApiError(8015)
        outcome = update_profile(
            ctx, db, customer, profile, body, downstream=_update_downstream(ctx)
        )
    return _written(outcome)


def _update_downstream(ctx: Ctx) -> Downstream:
    return Downstream(report=not ctx.request.flag("use_async"))


def change_identifier(ctx: Ctx) -> Reply:
    query = ctx.request.query
    body = ctx.request.json_object()
    if not body.get("add") and not body.get("remove"):
        raise ApiError(codes.INVALID_INPUT, detail="add or remove is required")
    source, account = rules.source_account(ctx.org, query.get("source"), query.get("accountId"))
    with ctx.store.write() as db:
        customer = lookups.by_id(db, ctx.request.params["userId"])
        ensure_writable(ctx, customer)
        profile = customer.profile(source, account)
        if profile is None:
            raise ApiError(8015)
        change = change_identifiers(ctx, db, customer, profile, body.get("add"), body.get("remove"))
    return ok({"createdId": change.customer_id, "warnings": change.warnings})
