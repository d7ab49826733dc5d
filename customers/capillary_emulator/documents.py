"""How a stored customer is written out: the v2 customer document (E3, E5, E6) and
the v1.1 customer item (E4), field names as the seeds print them."""

from typing import Any

from .context import day, iso, v11_time
from .org import OrgConfig
from .records import Card, Customer, Enrollment, Profile, Subscription

DAY_SECONDS = 86_400


def till_ref(org: OrgConfig, code: str, *, short: bool = False) -> dict[str, Any]:
    till = org.tills.get(code)
    ref: dict[str, Any] = {"id": till.id if till else -1, "code": code}
    if not short:
        ref["description"] = till.description if till else ""
    ref["name"] = till.name if till else code
    ref["type"] = "TILL"
    return ref


def customer_document(
    org: OrgConfig,
    c: Customer,
    *,
    profiles: list[Profile] | None = None,
    embed: frozenset[str] = frozenset(),
    fraud: bool = False,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": c.id,
        "profiles": [
            profile_document(org, c, p) for p in (c.profiles if profiles is None else profiles)
        ],
        "loyaltyInfo": {
            "loyaltyType": c.loyalty_type,
            "attributionV2": {
                "createDate": iso(c.created_at),
                "createdBy": till_ref(org, c.created_till, short=True),
                "modifiedBy": till_ref(org, c.modified_till, short=True),
                "modifiedDate": iso(c.updated_at),
                "createdFromSource": c.created_source,
            },
            "lifetimePurchases": 0.0,
        },
        "segments": {},
        "associatedWith": c.associated_with or c.created_till,
        "extendedFields": dict(c.extended_fields),
        "cardDetails": [card_detail(org, c, card) for card in c.cards],
    }
    if fraud:
        doc["fraudDetails"] = {
            "markedBy": c.modified_till if c.fraud_changed_at else None,
            "modifiedOn": iso(c.fraud_changed_at) if c.fraud_changed_at else None,
            "status": "NOT_FRAUD" if c.fraud_status == "NONE" else c.fraud_status,
        }
    if "mlp" in embed:
        doc["loyaltyProgramDetails"] = [program_details(org, c, e) for e in c.enrollments]
    if "points" in embed:
        doc["pointsSummary"] = points_summary(c)
    if "subscriptions" in embed:
        doc["subscriptionInfo"] = {
            "subscriptions": [sub_entry(s) for s in subscription_matrix(org, c)]
        }
    if "customerStatus" in embed:
        doc["customerStatus"] = customer_status(org, c)
    if "alternateCurrencies" in embed:
        doc["alternateCurrencies"] = [
            {"alternateCurrencyIdentifier": key, "value": value}
            for key, value in c.alt_currencies.items()
        ]
    doc["warnings"] = []
    return doc


def profile_document(org: OrgConfig, c: Customer, p: Profile) -> dict[str, Any]:
    identifiers = [identifier_entry(org, c, i.type, i.value) for i in p.identifiers]
    return {
        "firstName": p.first_name,
        "lastName": p.last_name,
        "attribution": {
            "createDate": iso(p.created_at),
            "createdBy": till_ref(org, p.created_till),
            "modifiedBy": till_ref(org, p.modified_till),
            "modifiedDate": iso(p.updated_at),
        },
        "fields": dict(p.fields),
        "allFields": dict(p.fields),
        "identifiers": identifiers,
        "commChannels": [dict(ch) for ch in p.channels],
        "source": p.source,
        "userId": c.id,
        "accountId": p.account_id,
        "conflictingProfileList": [],
        "autoUpdateTime": iso(p.updated_at),
        "identifiersAll": [dict(i) for i in identifiers],
    }


def identifier_entry(org: OrgConfig, c: Customer, kind: str, value: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": kind, "value": value}
    card = (
        next((card for card in c.cards if card.number == value), None)
        if kind == "cardnumber"
        else None
    )
    if card is not None:
        label = org.card_labels.get(card.status_label)
        entry["seriesId"] = card.series_id
        entry["statusLabel"] = card.status_label
        entry["statusLabelInfo"] = {
            "orgId": org.org_id,
            "type": "CARD",
            "internalStatus": label.status if label else card.status_label,
            "default": False,
        }
        entry["cardId"] = card.id
    return entry


def card_detail(org: OrgConfig, c: Customer | None, card: Card) -> dict[str, Any]:
    """A card as ``cardDetails[]`` and ``GET /v2/card`` print it. A card nobody holds
    (delinked) has ``customerId`` -1 (inferred: the page shows only a linked card)."""
    series = org.card_series.get(card.series_id)
    label = org.card_labels.get(card.status_label)
    status = label.status if label else card.status_label
    expiry_days = series.expiry_days if series else 365
    kind = series.type if series else "DIGITAL"
    till = org.tills.get(c.created_till) if c else org.default_till()
    expires = (int(card.created_at // DAY_SECONDS) + expiry_days) * DAY_SECONDS
    return {
        "cardId": card.id,
        "issuedDate": iso(card.created_at),
        "createdDate": day(card.created_at),
        "expiryDays": expiry_days,
        "seriesName": series.name if series else "",
        "customerId": c.id if c else -1,
        "maxActiveCards": series.max_active_cards if series else 1,
        "entityCode": till.code if till else "",
        "customFields": {},
        "extendedFields": dict(card.extended_fields),
        "type": kind,
        "cardNumber": card.number,
        "seriesId": card.series_id,
        "seriesCode": series.code if series else "",
        "orgId": org.org_id,
        "entityId": till.id if till else -1,
        "statusInfo": {
            "reason": "",
            "createdBy": till.id if till else -1,
            "actions": [],
            "autoUpdateTime": day(card.status_changed_at),
            "createdOn": iso(card.status_changed_at),
            "entityId": card.id,
            "id": card.id,
            "isActive": True,
            "labelId": label.id if label else -1,
            "label": card.status_label,
            "status": status,
        },
        "id": card.id,
        "activeAndDigital": status == "ACTIVE" and kind == "DIGITAL",
        "transactionNotAllowed": status != "ACTIVE",
        "expiryDate": iso(expires),
    }


def program_details(org: OrgConfig, c: Customer, e: Enrollment) -> dict[str, Any]:
    program = org.programs.get(e.program_id)
    tiers = program.tiers if program else ()
    current = tiers[e.tier_number - 1] if 0 < e.tier_number <= len(tiers) else None
    following = tiers[e.tier_number] if e.tier_number < len(tiers) else None
    return {
        "redeemed": 0.0,
        "expired": 0.0,
        "returned": 0.0,
        "adjusted": 0.0,
        "lifetimePoints": e.lifetime_points,
        "loyaltyPoints": e.points,
        "cumulativePurchases": 0.0,
        "loyaltyId": c.id,
        "currentSlab": current.name if current else "",
        "nextSlab": following.name if following else "",
        "nextSlabSerialNumber": following.number if following else -1,
        "nextSlabDescription": following.description if following else "",
        "slabSNo": e.tier_number,
        "slabExpiryDate": e.tier_expiry or "",
        "programId": e.program_id,
        "delayedPoints": 0.0,
        "delayedReturnedPoints": 0.0,
        "totalAvailablePoints": e.points,
        "totalReturnedPoints": 0.0,
        "linkedPartnerPrograms": [],
        "programTitle": program.name if program else "",
        "programDescription": program.description if program else "",
        "programPointsToCurrencyRatio": program.points_to_currency_ratio if program else 1.0,
    }


def points_summary(c: Customer) -> dict[str, Any]:
    return {
        "loyaltyPoints": sum(e.points for e in c.enrollments),
        "lifetimePoints": sum(e.lifetime_points for e in c.enrollments),
        "redeemed": 0.0,
        "expired": 0.0,
        "returned": 0.0,
        "adjusted": 0.0,
        "cumulativePurchases": 0.0,
    }


def customer_status(org: OrgConfig, c: Customer) -> dict[str, Any]:
    label = org.status_labels.get(c.status_label or "")
    return {
        "label": c.status_label,
        "labelId": label.id if label else None,
        "status": label.status if label else "ACTIVE",
    }


def status_of(org: OrgConfig, c: Customer) -> str:
    return str(customer_status(org, c)["status"])


def subscription_matrix(org: OrgConfig, c: Customer) -> list[Subscription]:
    """Stored choices, plus the org default for each channel the customer can be reached on."""
    stored = {(s.channel, s.priority): s for s in c.subscriptions}
    reachable = []
    if c.any_identifier("mobile") or any(
        ch["type"] == "mobile" for p in c.profiles for ch in p.channels
    ):
        reachable.append("SMS")
    if c.any_identifier("email") or any(
        ch["type"] == "email" for p in c.profiles for ch in p.channels
    ):
        reachable.append("EMAIL")
    for channel in reachable:
        for priority in ("TRANS", "BULK"):
            stored.setdefault(
                (channel, priority), Subscription(channel, priority, org.default_subscription)
            )
    return [stored[key] for key in sorted(stored)]


def sub_entry(s: Subscription) -> dict[str, Any]:
    return {"channel": s.channel, "priority": s.priority, "type": s.type}


def v11_customer(
    org: OrgConfig, c: Customer, item_status: dict[str, Any], effects: list[dict[str, Any]]
) -> dict[str, Any]:
    instore = c.profile("INSTORE", "") or (c.profiles[0] if c.profiles else None)
    default = org.default_program()
    main = c.enrollment(default.id) if default else None
    main = main or (c.enrollments[0] if c.enrollments else None)
    details = program_details(org, c, main) if main else None
    return {
        "user_id": c.id,
        "firstname": instore.first_name if instore else "",
        "lastname": instore.last_name if instore else "",
        "mobile": c.any_identifier("mobile") or "",
        "email": c.any_identifier("email") or "",
        "external_id": c.any_identifier("externalId") or "",
        "lifetime_points": int(sum(e.lifetime_points for e in c.enrollments)),
        "loyalty_points": int(sum(e.points for e in c.enrollments)),
        "current_slab": details["currentSlab"] if details else "",
        "tier_expiry_date": _v11_date(main.tier_expiry) if main else "",
        "points_summaries": {
            "points_summary": [
                {k: v for k, v in program_details(org, c, e).items() if k in _V11_SUMMARY_KEYS}
                for e in c.enrollments
            ]
        },
        "lifetime_purchases": 0,
        "registered_on": c.registered_on or v11_time(c.created_at),
        "updated_on": v11_time(c.updated_at),
        "type": c.loyalty_type.upper(),
        "source": instore.source if instore else c.created_source,
        "fraud_status": c.fraud_status,
        "custom_fields": {
            "field": [
                {"name": k, "value": v} for k, v in (instore.fields if instore else {}).items()
            ]
        },
        "extended_fields": {
            "field": [{"name": k, "value": v} for k, v in c.extended_fields.items()]
        },
        "subscriptions": {
            "subscription": [
                {
                    "channel": s.channel,
                    "priority": s.priority,
                    "scope": "ALL",
                    "status": "1" if s.type == "OPTIN" else "0",
                }
                for s in subscription_matrix(org, c)
                if s.channel in ("SMS", "EMAIL")
            ]
        },
        "side_effects": {"effect": effects},
        "item_status": item_status,
    }


_V11_SUMMARY_KEYS = frozenset(
    {
        "programId",
        "redeemed",
        "expired",
        "returned",
        "adjusted",
        "lifetimePoints",
        "loyaltyPoints",
        "cumulativePurchases",
        "currentSlab",
        "nextSlab",
        "nextSlabSerialNumber",
        "nextSlabDescription",
        "slabSNo",
        "slabExpiryDate",
    }
)


def _v11_date(value: str | None) -> str:
    """v2 stores ISO date-times with offsets; v1.1 prints ``YYYY-MM-DD HH:MM:SS``."""
    return value[:19].replace("T", " ") if value else ""
