"""Side effects: what the loyalty engine awards when a customer registers or enrols.

Points go to the customer's default-program enrolment (else the first one); a
customer with no enrolment (non-loyalty) earns nothing. The side-effect shapes are
the add seed's (S5): points, coupon, alternate_currency, and ``isReferrer`` on the
referrer's entry.
"""

import sqlite3
import string
from typing import Any

from . import records
from .context import Ctx, iso
from .records import Customer

DAY_SECONDS = 86_400
COUPON_ALPHABET = string.ascii_uppercase + string.digits


def points_effect(
    points: float, customer_id: int | None = None, referrer: bool = False
) -> dict[str, Any]:
    effect: dict[str, Any] = {
        "entityType": "USER",
        "rawAwardedPoints": float(points),
        "awardedPoints": round(points),
        "type": "points",
    }
    if customer_id is not None:
        effect["customerId"] = customer_id
    if referrer:
        effect["isReferrer"] = True
    return effect


def credit(db: sqlite3.Connection, ctx: Ctx, c: Customer, points: float) -> bool:
    default = ctx.org.default_program()
    target = (c.enrollment(default.id) if default else None) or (
        c.enrollments[0] if c.enrollments else None
    )
    if target is None or points <= 0:
        return False
    target.points += points
    target.lifetime_points += points
    records.save_enrollment(db, c.id, target)
    return True


def on_loyalty_registration(
    db: sqlite3.Connection, ctx: Ctx, c: Customer, referral_code: str
) -> list[dict[str, Any]]:
    """Welcome points, coupon and alternate currency, then the referral rewards."""
    promos = ctx.org.promotions
    effects: list[dict[str, Any]] = []
    if credit(db, ctx, c, promos["welcome_points"]):
        effects.append(points_effect(promos["welcome_points"]))
    coupon = promos.get("welcome_coupon")
    if coupon:
        effects.append(_issue_coupon(db, ctx, c, coupon))
    currency = promos.get("alternate_currency")
    if currency:
        c.alt_currencies[currency["identifier"]] = (
            c.alt_currencies.get(currency["identifier"], 0) + currency["value"]
        )
        effects.append(
            {
                "entityType": "USER",
                "rawAwardedValue": float(currency["value"]),
                "alternateCurrencyIdentifier": currency["identifier"],
                "alternateCurrencyName": currency["name"],
                "awardedValue": round(currency["value"]),
                "type": "alternate_currency",
            }
        )
    effects.extend(_referral(db, ctx, c, referral_code))
    return effects


def on_profile_update(db: sqlite3.Connection, ctx: Ctx, c: Customer) -> list[dict[str, Any]]:
    """Points for a profile change, where the org runs such a promotion (the v1.1 page:
    "points rewarded to the customer for updating profile (if configured)")."""
    promotion = ctx.org.promotions.get("profile_update")
    if not promotion or not credit(db, ctx, c, promotion["points"]):
        return []
    return [points_effect(promotion["points"])]


def _referral(db: sqlite3.Connection, ctx: Ctx, c: Customer, code: str) -> list[dict[str, Any]]:
    """A referral code is ``<code_prefix><referrer id>``; an unknown code is ignored, as
    no source documents an error for it."""
    referral = ctx.org.promotions.get("referral")
    prefix = referral["code_prefix"] if referral else ""
    if not referral or not code or not code.startswith(prefix) or not code[len(prefix) :].isdigit():
        return []
    referrer = records.load_customer(db, int(code[len(prefix) :]))
    if referrer is None or referrer.id == c.id or referrer.merged_into is not None:
        return []
    effects = []
    if credit(db, ctx, c, referral["referee_points"]):
        effects.append(points_effect(referral["referee_points"], customer_id=c.id))
    if credit(db, ctx, referrer, referral["referrer_points"]):
        effects.append(
            points_effect(referral["referrer_points"], customer_id=referrer.id, referrer=True)
        )
    return effects


def _issue_coupon(
    db: sqlite3.Connection, ctx: Ctx, c: Customer, coupon: dict[str, Any]
) -> dict[str, Any]:
    code = "".join(ctx.rng.choice(COUPON_ALPHABET) for _ in range(8))
    valid_till = (
        (int(ctx.now() // DAY_SECONDS) + coupon["valid_days"]) * DAY_SECONDS + DAY_SECONDS - 1
    )
    effect: dict[str, Any] = {
        "entityType": "USER",
        "couponType": coupon["coupon_type"],
        "couponCode": code,
        "validTill": iso(valid_till),
        "description": coupon["description"],
        "discountCode": coupon["discount_code"],
        "trimmedCouponCode": code,
        "type": "coupon",
    }
    coupon_id = records.append_json(db, "coupons", c.id, effect, code=code)
    return {"id": coupon_id, **effect}
