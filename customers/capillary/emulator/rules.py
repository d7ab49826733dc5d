"""Field rules that apply everywhere (reference §1.8): names, mobiles, emails, channels,
extended and custom fields, enrolments and subscriptions.

Functions either return the cleaned value, append a warning and drop the value
(the documented "the add still succeeds" cases), or raise ``ApiError``.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import codes
from .context import ApiError, as_bool
from .org import CardSeries, Label, OrgConfig, Program
from .records import Enrollment, Subscription

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
# Request channel names (v2 write, v1.1) and what reads return (reference §1.7).
SUBSCRIPTION_CHANNELS = {
    "MOBILE": "SMS",
    "SMS": "SMS",
    "EMAIL": "EMAIL",
    "WECHAT": "WECHAT",
    "WHATSAPP": "WHATSAPP",
    "IOS": "IOS",
    "ANDROID": "ANDROID",
    "LINE": "LINE",
}
PRIORITIES = frozenset({"TRANS", "BULK"})
NULL_SPELLINGS = frozenset({"", "null", "none", "nil", "undefined"})
_EMAIL = re.compile(r"^[A-Za-z0-9_+.\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d-%m-%Y", "%d/%m/%Y")

Warnings = list[dict[str, Any]]


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
        raise ApiError(invalid, text=f"{codes.message(invalid)} {source!r}".strip())
    accounts = org.sources[source]
    if not accounts:
        return source, ""
    if account in (None, ""):
        raise ApiError(missing_account)
    if account not in accounts:
        raise ApiError(
            3217, text="Org source addition failed, Invalid source account identifier passed"
        )
    return source, str(account)


@dataclass
class CardRequest:
    series: CardSeries
    label: Label
    extended_fields: dict[str, Any]


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
                raise ApiError(8014, text=f"Error in customer registration: Invalid mobile {value}")
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
        series = org.card_series.get(_int(raw["seriesId"], 3004))
    elif raw.get("seriesCode"):
        series = next((s for s in org.card_series.values() if s.code == raw["seriesCode"]), None)
    else:
        series = org.default_series()
    if series is None:
        raise ApiError(3004)
    label = org.card_labels.get(str(raw.get("statusLabel") or "ACTIVE"))
    if label is None:
        raise ApiError(3017)
    extended = raw.get("extendedFields") if isinstance(raw.get("extendedFields"), dict) else {}
    return CardRequest(series, label, dict(extended or {}))


def clean_channels(org: OrgConfig, raw: Any, warnings: Warnings) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ApiError(codes.INVALID_INPUT, text="commChannels must be an array")
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


def clean_extended_fields(org: OrgConfig, raw: Any, warnings: Warnings) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ApiError(codes.INVALID_INPUT, text="extendedFields must be an object")
    reject_empty = org.flags["CONF_REJECT_EMPTY_OR_NULL_EF_VALUES"]
    cleaned: dict[str, Any] = {}
    for name, value in raw.items():
        spec = org.extended_fields.get(name)
        if spec is None or not spec.enabled:
            warnings.append(
                codes.entry(
                    codes.EXTENDED_FIELD_DROPPED,
                    name,
                    text=f"Extended field {name} is not enabled for the org",
                )
            )
            continue
        if is_empty(value):
            if not reject_empty:
                cleaned[name] = ""
            continue
        text = str(value).strip()
        accepted = _typed_value(spec.data_type, text, spec.values)
        if accepted is None or len(accepted) > spec.max_length:
            warnings.append(
                codes.entry(
                    codes.EXTENDED_FIELD_DROPPED,
                    name,
                    text=f"Extended field {name} update failed: invalid value {text!r}",
                )
            )
            continue
        cleaned[name] = accepted
    return cleaned


def _typed_value(data_type: str, text: str, allowed: tuple[str, ...]) -> str | None:
    if allowed:
        return next((v for v in allowed if v.lower() == text.lower()), None)
    if data_type == "INTEGER":
        return str(int(text)) if re.fullmatch(r"-?\d+", text) else None
    if data_type == "DOUBLE":
        try:
            return str(float(text))
        except ValueError:
            return None
    if data_type == "DATETIME":
        return text if is_date(text) else None
    return text


def clean_custom_fields(org: OrgConfig, raw: Any, warnings: Warnings) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ApiError(codes.INVALID_INPUT, text="fields must be an object")
    cleaned: dict[str, Any] = {}
    for name, value in raw.items():
        spec = org.custom_fields.get(name)
        if spec is None:
            warnings.append(codes.entry(codes.CUSTOM_FIELD_DROPPED, name))
            continue
        if is_empty(value):
            continue
        text = str(value).strip()
        if spec.type == "boolean":
            text = text.lower()
            ok = text in ("true", "false")
        elif spec.type == "integer":
            ok = bool(re.fullmatch(r"-?\d+", text))
        elif spec.type == "date":
            ok = is_date(text)
        else:
            ok = True
        if not ok:
            warnings.append(
                codes.entry(
                    codes.CUSTOM_FIELD_DROPPED,
                    name,
                    text=f"Custom field {name} is invalid: {text!r}",
                )
            )
            continue
        cleaned[name] = text
    return cleaned


def parse_enrollments(org: OrgConfig, raw: Any, now: float) -> list[tuple[Program, Enrollment]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ApiError(codes.INVALID_INPUT, text="loyaltyProgramEnrollments must be an array")
    result: list[tuple[Program, Enrollment]] = []
    for item in raw:
        if not isinstance(item, dict):
            raise ApiError(
                codes.INVALID_INPUT, text="loyaltyProgramEnrollments items must be objects"
            )
        program = org.programs.get(_int(item.get("programId"), codes.INVALID_INPUT))
        if program is None:
            raise ApiError(codes.INVALID_INPUT, text=f"Invalid programId {item.get('programId')}")
        if any(p.id == program.id for p, _ in result):
            raise ApiError(codes.INVALID_INPUT, text=f"programId {program.id} passed twice")
        tier = _int(item.get("tierNumber", 1), codes.INVALID_INPUT)
        if not 1 <= tier <= len(program.tiers):
            raise ApiError(
                codes.INVALID_INPUT, text=f"Invalid tierNumber {tier} for program {program.id}"
            )
        points = item.get("loyaltyPoints", 0) or 0
        if not isinstance(points, int | float) or isinstance(points, bool) or points < 0:
            raise ApiError(codes.INVALID_INPUT, text=f"Invalid loyaltyPoints {points!r}")
        for key in ("tierExpiryDate", "pointsExpiryDate"):
            if item.get(key) not in (None, "") and not is_datetime(item[key]):
                raise ApiError(codes.INVALID_INPUT, text=f"{key} must be YYYY-MM-DDTHH:MM:SS+hh:mm")
        result.append(
            (
                program,
                Enrollment(
                    program_id=program.id,
                    tier_number=tier,
                    points=float(points),
                    lifetime_points=float(points),
                    tier_expiry=item.get("tierExpiryDate") or None,
                    points_expiry=item.get("pointsExpiryDate") or None,
                    enrolled_at=now,
                ),
            )
        )
    return result


def parse_subscriptions(raw: Any, now: float) -> list[Subscription]:
    if not isinstance(raw, list):
        raise ApiError(1104)
    result = []
    for item in raw:
        if not isinstance(item, dict):
            raise ApiError(1104)
        channel = SUBSCRIPTION_CHANNELS.get(str(item.get("channel", "")).upper())
        if channel is None:
            raise ApiError(1101, item.get("channel"))
        priority = str(item.get("priority", "")).upper()
        if priority not in PRIORITIES:
            raise ApiError(1102, item.get("priority"))
        kind = str(item.get("type", "")).upper()
        if kind not in ("OPTIN", "OPTOUT"):
            raise ApiError(1106, item.get("type"))
        result.append(
            Subscription(
                channel,
                priority,
                kind,
                str(item.get("accountId") or ""),
                str(item.get("sourceName") or ""),
                now,
            )
        )
    return result


def _int(value: Any, code: int) -> int:
    if isinstance(value, bool):
        raise ApiError(code, text=f"Invalid number {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(code, text=f"Invalid number {value!r}") from exc
