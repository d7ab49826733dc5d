"""A member as staff read it: Capillary's codes and keys turned into words.

Pure functions from what Capillary answered (and the org catalogue) to what the
templates show, so every screen names a member, a status, a card or a tier the
same way. Nothing here calls Capillary.
"""

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from customers import gateway
from customers.capillary.schemas import Customer
from customers.gateway import Catalogue

LOYALTY_WORDS = {
    "loyalty": "Loyalty member",
    "non_loyalty": "Not in loyalty (contact only)",
}
STATUS_WORDS = {
    "ACTIVE": "active",
    "SUSPENDED": "suspended",
    "DELETED": "deleted",
    "FRAUD_SUSPECTED": "fraud suspected",
    "FRAUD_CONFIRMED": "fraud confirmed",
    "INTERNAL": "internal (staff)",
    "PENDING_DELETION": "pending deletion",
}
# Capillary's fraud statuses that say nothing is wrong.
NOT_FRAUD = {"", "NONE", "NOT_FRAUD"}
IDENTIFIER_WORDS = {
    "mobile": "Mobile",
    "email": "Email",
    "externalId": "External id",
    "cardnumber": "Card",
    "wechat": "WeChat",
}


def name_of(found: Customer | None, source: str = "", account_id: str = "") -> str:
    """The member's name in the profile the screen works in, else the first one with a name."""
    if found is None:
        return ""
    profiles = sorted(
        found.profiles,
        key=lambda p: ((p.source or "").upper() != source, (p.account_id or "") != account_id),
    )
    for profile in profiles:
        name = " ".join(filter(None, [profile.first_name, profile.last_name]))
        if name:
            return name
    return ""


def standing(found: Customer, org: Catalogue) -> dict[str, Any]:
    """The member's status label, its status in words, and the banner every screen carries."""
    extra = found.model_extra or {}
    raw = extra.get("customerStatus") or extra.get("status") or {}
    status_info: dict[str, Any] = raw if isinstance(raw, dict) else {}
    label = str(status_info.get("label") or "")
    status = str(status_info.get("status") or org.status_of(label) or "").upper()
    fraud_raw = extra.get("fraudDetails")
    fraud = fraud_raw if isinstance(fraud_raw, dict) else {}
    fraud_status = str(fraud.get("status") or "").upper()
    words = STATUS_WORDS.get(status, status.replace("_", " ").lower())
    banners = []
    if status and status != "ACTIVE":
        banners.append(
            f"This member's status is {label or status} ({words}). "
            "Check the status before changing anything else."
        )
    if fraud_status not in NOT_FRAUD:
        banners.append(
            f"This member is marked for fraud ({fraud_status.replace('_', ' ').lower()})."
        )
    return {
        "label": label,
        "status": status,
        "words": words,
        # "Active" beside "active" says nothing twice: the status only when it adds.
        "shown_words": "" if words.lower() == label.lower() else words,
        "fraud_status": "" if fraud_status in NOT_FRAUD else fraud_status,
        "banner": " ".join(banners),
    }


def registered_on(found: Customer) -> str:
    """The day the member was registered, from the oldest profile Capillary lists."""
    dumped = found.model_dump(mode="json", by_alias=True)
    days = []
    for profile in dumped.get("profiles") or []:
        attribution = (profile or {}).get("attribution") or {}
        if attribution.get("createDate"):
            days.append(str(attribution["createDate"])[:10])
    loyalty = (dumped.get("loyaltyInfo") or {}).get("attributionV2") or {}
    if loyalty.get("createDate"):
        days.append(str(loyalty["createDate"])[:10])
    return min(days) if days else ""


def extended_facts(values: dict[str, Any], specs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Extended fields by their configured names, in the configuration's order."""
    labels = {spec["name"]: spec.get("label") or spec["name"] for spec in specs}
    order = {name: index for index, name in enumerate(labels)}
    return [
        (labels.get(key) or key.replace("_", " ").capitalize(), str(value))
        for key, value in sorted(values.items(), key=lambda item: order.get(item[0], 999))
        if value not in (None, "")
    ]


def card(raw: dict[str, Any], today: date | None = None) -> dict[str, Any]:
    """One card: number, series, its status, and whether its expiry date has passed."""
    info = raw.get("statusInfo")
    status_info: dict[str, Any] = info if isinstance(info, dict) else {}
    expires = str(raw.get("expiryDate") or "")[:10]
    status = str(status_info.get("status") or raw.get("status") or "")
    expired = bool(expires) and expires < (today or date.today()).isoformat()
    return {
        "number": raw.get("cardNumber") or raw.get("cardnumber") or "?",
        "series": raw.get("seriesName") or raw.get("seriesCode") or "",
        "kind": str(raw.get("type") or "").lower(),
        "label": status_info.get("label") or raw.get("statusLabel") or "",
        "status": status,
        "expires": expires,
        "expired": expired,
        # A card past its date is not usable, whatever label it still carries.
        "pill": "pill-bad" if expired else ("pill-ok" if status == "ACTIVE" else "pill-warn"),
    }


def program_name(org: Catalogue, program_id: Any) -> str:
    for program in org.programs:
        if str(program.get("id")) == str(program_id):
            return str(program.get("name") or program_id)
    return f"program {program_id}"


def tier_name(org: Catalogue, program_id: Any, number: Any) -> str:
    for program in org.programs:
        if str(program.get("id")) == str(program_id):
            for tier in program.get("tiers", []):
                if str(tier.get("number")) == str(number):
                    return str(tier.get("name") or number)
    return f"tier {number}"


PROGRAM_NUMBER = re.compile(r"\bprogram(?:\s*id)?\s*:?\s*(\d+)", re.IGNORECASE)
TIER_NUMBER = re.compile(r"\b(?:tier|slab)(?:\s*number)?\s*:?\s*(\d+)", re.IGNORECASE)


def named(text: str, org: Catalogue, program_id: Any = None) -> str:
    """Capillary's "program 699" and "tier 2" said with the names staff know."""
    text = PROGRAM_NUMBER.sub(lambda m: program_name(org, m.group(1)), text)
    if program_id is not None:
        text = TIER_NUMBER.sub(lambda m: tier_name(org, program_id, m.group(1)), text)
    return text


def receipt(entry: Any, org: Catalogue, names: dict[str, str] | None = None) -> dict[str, Any]:
    """What the till's receipt shows of a registration, from its audit entry.

    The record Capillary held after the write (the entry's `after`) wins over
    what was sent; `names` are other members' names by id (the referrer).
    """
    sent = entry.request or {}
    after = entry.after if isinstance(entry.after, dict) else {}
    profile = _first(after.get("profiles")) or _first(sent.get("profiles")) or {}
    identifiers = {
        i.get("type"): i for i in profile.get("identifiers") or [] if isinstance(i, dict)
    }
    card_id = identifiers.get("cardnumber") or {}
    series = {str(s.get("id")): s.get("name") for s in org.card_series}
    enrollment = _first(sent.get("loyaltyProgramEnrollments")) or {}
    held = _first(after.get("loyaltyProgramDetails")) or {}
    program_id = held.get("programId") or enrollment.get("programId")
    tier = held.get("currentSlab") or (
        tier_name(org, program_id, enrollment["tierNumber"])
        if enrollment.get("tierNumber") is not None
        else ""
    )
    actor = getattr(entry, "actor", None)
    return {
        "name": " ".join(filter(None, [profile.get("firstName"), profile.get("lastName")])),
        "mobile": (identifiers.get("mobile") or {}).get("value", ""),
        "email": (identifiers.get("email") or {}).get("value", ""),
        "card": card_id.get("value", ""),
        "card_series": series.get(str(card_id.get("seriesId")), ""),
        "program": program_name(org, program_id) if program_id else "",
        "tier": tier,
        "effects": [
            receipt_effect(effect, names or {})
            for effect in entry.side_effects or []
            if isinstance(effect, dict)
        ],
        "staff": (actor.get_full_name() if actor else "") or entry.actor_username,
    }


def receipt_effect(effect: dict[str, Any], names: dict[str, str]) -> dict[str, str]:
    """One thing the registration earned, labelled with who it went to."""
    kind = effect.get("type")
    if kind == "points":
        points = _number(effect.get("awardedPoints", effect.get("rawAwardedPoints")))
        if effect.get("isReferrer"):
            referrer = str(effect.get("customerId") or "")
            who = names.get(referrer) or "the referrer"
            return {
                "label": "Referral points to the referrer",
                "text": f"{points} points to {who} (member {referrer}) for the referral",
            }
        if effect.get("customerId"):
            # Capillary names the customer only on referral rewards (S5): the new member's.
            return {"label": "Referral points to this member", "text": f"{points} points"}
        return {"label": "Points for this registration", "text": f"{points} points"}
    if kind == "coupon":
        code = effect.get("couponCode") or effect.get("trimmedCouponCode") or "(no code)"
        text = f"{code}" + (f": {effect['description']}" if effect.get("description") else "")
        if effect.get("validTill"):
            text += f", valid until {str(effect['validTill'])[:10]}"
        return {"label": "Coupon", "text": text}
    if kind == "alternate_currency":
        return {"label": "Alternate currency", "text": currency_text(effect)}
    details = ", ".join(f"{k}={v}" for k, v in effect.items() if k != "type")
    return {"label": str(kind or "Other"), "text": details}


def currency_text(effect: Mapping[str, Any]) -> str:
    """ "110 MemberCare Coins": the org's name for the currency, its code only when unnamed."""
    code = effect.get("alternateCurrencyName") or effect.get("alternateCurrencyIdentifier") or ""
    identifier = effect.get("alternateCurrencyIdentifier") or ""
    named = gateway.catalogue().currency_name(str(identifier), str(code))
    value = _number(effect.get("awardedValue", effect.get("rawAwardedValue")))
    return f"{value} {named}" if named else f"{value} (alternate currency {code})"


def _number(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:g}"


def _first(items: Any) -> dict[str, Any] | None:
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return items[0]
    return None
