"""Field rules that apply everywhere (reference §1.8): sources and accounts, names,
mobiles, emails, identifiers (cards included) and comm channels; ``fields`` has the
typed field values.

Functions either return the cleaned value, append a warning and drop the value
(the documented "the add still succeeds" cases), or raise ``ApiError``.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import codes
from .context import ApiError, as_bool
from .org import CardSeries, Label, OrgConfig

NAME_LIMIT = 100
EMAIL_LIMIT = 255
EXTERNAL_ID_LIMIT = 250
IDENTIFIER_TYPES = frozenset(
    {
        "mobile",
        "email",
        "externalId",
        "cardnumber",
        "cardExternalId",
        "wechat",
        "unionId",
        "cuid",
        "martjackId",
        "fbId",
        "tmall_uname",
        "ali_uname",
        "jd_uname",
        "vip_uname",
        "line",
        "mobilePush",
    }
)
CHANNEL_TYPES = frozenset({"mobile", "email", "wechat", "ios", "android", "line", "mobilePush"})
NULL_SPELLINGS = frozenset({"", "null", "none", "nil", "undefined"})
_EMAIL = re.compile(r"^[A-Za-z0-9_+.\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d-%m-%Y", "%d/%m/%Y")

Warnings = list[dict[str, Any]]
# The identifiers dual eligibility lets customers share, bar the primary (§1.9.6).
DUAL_ELIGIBLE_TYPES = frozenset({"mobile", "email", "externalId"})


def shareable(org: OrgConfig, kind: str) -> bool:
    """Whether customers may share this identifier type: under dual eligibility, every
    registration identifier but the primary one (S16)."""
    return org.flags["dual_eligibility"] and kind in DUAL_ELIGIBLE_TYPES and kind != org.primary_key


def clean_name(value: Any) -> str:
    return str(value or "").strip()[:NAME_LIMIT]


def normalise_mobile(org: OrgConfig, value: Any) -> str | None:
    """Digits with a country code the org knows, else None. A national number of the
    base country's length gets the base country code, as Capillary's base-country
    config does."""
    digits = str(value or "").strip().lstrip("+")
    if not digits.isdigit():
        return None
    for rule in org.mobile_rules:
        if rule.country_code == org.base_country_code and len(digits) == rule.length:
            digits = rule.country_code + digits
            break
    for rule in org.mobile_rules:
        national = digits[len(rule.country_code) :]
        if (
            digits.startswith(rule.country_code)
            and len(national) == rule.length
            and (rule.regex is None or rule.regex.match(national))
        ):
            return digits
    return None


def clean_email(value: Any) -> str | None:
    email = str(value or "").strip()[:EMAIL_LIMIT]
    return email if _EMAIL.match(email) else None


def is_date(value: str) -> bool:
    for fmt in _DATE_FORMATS:
        try:
            datetime.strptime(value, fmt)
        except ValueError:
            continue
        return True
    return is_datetime(value, need_zone=False)


def is_datetime(value: Any, *, need_zone: bool = True) -> bool:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return False
    return parsed.tzinfo is not None or not need_zone


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in NULL_SPELLINGS)


def source_account(
    org: OrgConfig, source: Any, account: Any, *, invalid: int = 3217, missing_account: int = 8045
) -> tuple[str, str]:
    """Validate a source and its account; single-account sources use account ``""``."""
    if not isinstance(source, str) or source not in org.sources:
        raise ApiError(invalid, detail=repr(source))
    accounts = org.sources[source]
    if not accounts:
        return source, ""
    if account in (None, ""):
        raise ApiError(missing_account)
    if account not in accounts:
        raise ApiError(
            3217,
            detail=f"Org source addition failed, Invalid source account identifier {account!r}",
        )
    return source, str(account)


@dataclass
class CardRequest:
    series: CardSeries
    label: Label
    extended_fields: dict[str, Any]
    label_given: bool = False


@dataclass
class NewIdentifier:
    type: str
    value: str
    card: CardRequest | None = None


def clean_identifier(
    org: OrgConfig, raw: Any, warnings: Warnings, *, registering: bool
) -> NewIdentifier | None:
    """One ``{type, value}``; None when it is dropped. An invalid primary mobile on
    registration is an error (8014); an invalid secondary one only a warning."""
    if not isinstance(raw, dict):
        return None
    kind = "cardnumber" if raw.get("type") == "cardNumber" else raw.get("type")
    value = str(raw.get("value") or "").strip()
    if kind not in IDENTIFIER_TYPES or not value:
        return None
    if kind == "mobile":
        mobile = normalise_mobile(org, value)
        if mobile is None:
            if registering and org.primary_key == "mobile":
                raise ApiError(8014, detail=f"Invalid mobile {value}")
            warnings.append(codes.entry(8056, value))
            return None
        return NewIdentifier("mobile", mobile)
    if kind == "email":
        email = clean_email(value)
        if email is None:
            warnings.append(codes.entry(8055, value))
            return None
        return NewIdentifier("email", email)
    if kind == "externalId":
        return NewIdentifier("externalId", value[:EXTERNAL_ID_LIMIT])
    if kind == "cardnumber":
        return NewIdentifier("cardnumber", value, card_request(org, raw))
    return NewIdentifier(str(kind), value)


def card_request(org: OrgConfig, raw: dict[str, Any]) -> CardRequest:
    series: CardSeries | None
    if raw.get("seriesId") is not None:
        series = org.card_series.get(int_value(raw["seriesId"], 3004))
    elif raw.get("seriesCode"):
        series = next((s for s in org.card_series.values() if s.code == raw["seriesCode"]), None)
    else:
        series = org.default_series()
    if series is None:
        raise ApiError(3004)
    label = org.card_labels.get(str(raw.get("statusLabel") or "ACTIVE"))
    if label is None:
        raise ApiError(3017, detail=repr(raw.get("statusLabel")))
    extended = raw.get("extendedFields") if isinstance(raw.get("extendedFields"), dict) else {}
    return CardRequest(
        series, label, dict(extended or {}), label_given=bool(raw.get("statusLabel"))
    )


def clean_channels(org: OrgConfig, raw: Any, warnings: Warnings) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ApiError(codes.INVALID_INPUT, detail="commChannels must be an array")
    channels = []
    for item in raw:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "cardnumber":
            continue  # listed as a channel on the add page, but cards are identifiers (§1.7)
        if kind not in CHANNEL_TYPES:
            raise ApiError(8010, kind)
        assert isinstance(item, dict)
        value = str(item.get("value") or "").strip()
        if kind == "mobile":
            mobile = normalise_mobile(org, value)
            if mobile is None:
                warnings.append(codes.entry(8058, value))
                continue
            value = mobile
        elif kind == "email":
            email = clean_email(value)
            if email is None:
                warnings.append(codes.entry(8057, value))
                continue
            value = email
        channels.append(
            {
                "type": kind,
                "value": value,
                "primary": as_bool(item.get("primary", False)),
                "verified": as_bool(item.get("verified", False)),
                "meta": _meta(item.get("meta")),
                "attributes": item.get("attributes")
                if isinstance(item.get("attributes"), dict)
                else {},
            }
        )
    return channels


def _meta(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {}
    meta: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("residence", "office"):
            meta[key] = as_bool(value)
        elif value not in (None, ""):
            meta[key] = value
    return meta


def merge_channels(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A channel in a request replaces the stored channels of its type."""
    replaced = {c["type"] for c in new}
    return [c for c in old if c["type"] not in replaced] + new


def int_value(value: Any, code: int) -> int:
    if isinstance(value, bool):
        raise ApiError(code, detail=f"Invalid number {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(code, detail=f"Invalid number {value!r}") from exc
