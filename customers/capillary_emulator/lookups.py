"""Finding the customer a request is about: by id (path) or by identifier (query).

The error codes differ per endpoint (reference §2 E5/E5b/E6/E9), so callers pass
the ones they document; the search itself is the same.
"""

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

from . import records, rules
from .context import ApiError, Ctx
from .records import Customer

CUSTOMER_DETAILS_NAMES = frozenset(
    {"mobile", "email", "externalId", "cardnumber", "cardExternalId", "wechat"}
)
ID_LOOKUP_NAMES = CUSTOMER_DETAILS_NAMES | {"martjackId", "fbId"}
UPDATE_NAMES = frozenset({"mobile", "email", "externalId"})


@dataclass(frozen=True)
class LookupCodes:
    missing_source: int = 8001
    invalid_source: int = 8011
    missing_identifier: int = 8002
    bad_identifier_name: int = 8013
    missing_account: int = 8015  # S16: a missing accountId reads as "not found"


def by_identifier(
    ctx: Ctx,
    db: sqlite3.Connection,
    query: Mapping[str, str],
    *,
    names: frozenset[str],
    error_codes: LookupCodes = LookupCodes(),
) -> tuple[Customer, str, str]:
    """The customer plus the (source, account) the lookup addressed ("ALL": any)."""
    source = query.get("source")
    if not source:
        raise ApiError(error_codes.missing_source)
    account = ""
    if source != "ALL":
        source, account = rules.source_account(
            ctx.org,
            source,
            query.get("accountId"),
            invalid=error_codes.invalid_source,
            missing_account=error_codes.missing_account,
        )
    name, value = _identifier(ctx, query, error_codes)
    if name not in names:
        raise ApiError(error_codes.bad_identifier_name)
    if name == "mobile":
        value = rules.normalise_mobile(ctx.org, value) or value
    if source == "ALL":
        holders = records.owners_anywhere(db, name, value)
        customer_id = holders[0][0] if holders else None
    else:
        customer_id = records.owner_in_account(db, source, account, name, value)
    if customer_id is None:
        raise ApiError(8065 if records.owners_anywhere(db, name, value) else 8015)
    customer = records.load_customer(db, customer_id)
    assert customer is not None
    return customer, source, account


def _identifier(ctx: Ctx, query: Mapping[str, str], error_codes: LookupCodes) -> tuple[str, str]:
    """One identifier; under dual eligibility a comma list resolved by the primary
    identifier type (a list without it is not found — reference §1.9.6)."""
    names = query.get("identifierName") or ""
    values = query.get("identifierValue") or ""
    if not names or not values:
        raise ApiError(error_codes.missing_identifier)
    if ctx.org.flags["dual_eligibility"] and "," in names:
        pairs = dict(zip(names.split(","), values.split(","), strict=False))
        if ctx.org.primary_key not in pairs:
            raise ApiError(8015, detail="the primary identifier is missing")
        names, values = ctx.org.primary_key, pairs[ctx.org.primary_key]
    elif rules.shareable(ctx.org, names):
        # S16: under dual eligibility one identifier that is not the primary is 8015.
        raise ApiError(8015, detail=f"{names} is not the primary identifier")
    return ("cardnumber" if names == "cardNumber" else names), values.strip()


def by_id(db: sqlite3.Connection, raw_id: str, *, not_found: int = 8015) -> Customer:
    customer = records.load_customer(db, int(raw_id)) if raw_id.isdigit() else None
    if customer is None:
        raise ApiError(not_found)
    return customer
