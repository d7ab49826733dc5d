"""E5 customerDetails, E5b id lookup, E6 customer by id, and a card by number."""

from .. import codes, lookups, records
from ..codes import entry
from ..context import ApiError, Ctx, Reply, ok
from ..documents import card_detail, customer_document
from ..records import Customer


def _document(ctx: Ctx, c: Customer, source: str, account: str) -> dict[str, object]:
    request = ctx.request
    embed = frozenset(e.strip() for e in request.query.get("embed", "").split(",") if e.strip())
    profiles = None
    if request.flag("includedOnlyCurrentProfile") and source != "ALL":
        profiles = [p for p in c.profiles if (p.source, p.account_id) == (source, account)]
    return customer_document(
        ctx.org, c, profiles=profiles, embed=embed, fraud=request.flag("includedFraudDetails")
    )


def customer_details(ctx: Ctx) -> Reply:
    with ctx.store.read() as db:
        customer, source, account = lookups.by_identifier(
            ctx, db, ctx.request.query, names=lookups.CUSTOMER_DETAILS_NAMES
        )
        return ok(_document(ctx, customer, source, account))


def customer_id(ctx: Ctx) -> Reply:
    with ctx.store.read() as db:
        customer, _, _ = lookups.by_identifier(
            ctx, db, ctx.request.query, names=lookups.ID_LOOKUP_NAMES
        )
    return ok({"entity": customer.id, "warnings": []})


def customer_by_id(ctx: Ctx) -> Reply:
    raw_id = ctx.request.params["customerId"]
    if not raw_id.isdigit():
        return Reply(400, b"")  # S17: "400 Bad Request" with a blank body
    query = ctx.request.query
    source = query.get("source")
    if not source:
        raise ApiError(8016)
    account = ""
    if source != "ALL":
        if source not in ctx.org.sources:
            raise ApiError(8012)
        accounts = ctx.org.sources[source]
        account = query.get("accountId", "")
        if accounts and not account:
            raise ApiError(8045)
        if accounts and account not in accounts:
            raise ApiError(8012)
    with ctx.store.read() as db:
        customer = lookups.by_id(db, raw_id)
        warnings = []
        # A merge victim answers with its survivor and says so (8069, reference §1.9.4).
        while customer.merged_into is not None:
            warnings.append(entry(8069, customer.merged_into))
            survivor = records.load_customer(db, customer.merged_into)
            assert survivor is not None
            customer = survivor
        if source != "ALL" and customer.profile(source, account) is None:
            raise ApiError(8065)
        document = _document(ctx, customer, source, account)
    document["warnings"] = warnings
    return ok(document)


def card_by_number(ctx: Ctx) -> Reply:
    """``GET /v2/card?number=``: one card, linked or not (the cards page's sample)."""
    number = (ctx.request.query.get("number") or "").strip()
    if not number:
        raise ApiError(codes.INVALID_INPUT, detail="number is required")
    with ctx.store.read() as db:
        card = records.card_by_number(db, number)
        if card is None:
            raise ApiError(3010, detail=repr(number))
        holder = records.load_customer(db, card.customer_id) if card.customer_id else None
    return ok({**card_detail(ctx.org, holder, card), "warnings": []})
