"""Field values: extended and custom fields (typed, org-enabled only), enrolments and
subscriptions as requests carry them (reference §1.8, §2 E1/E2/E8)."""

import re
from typing import Any

from . import codes
from .context import ApiError
from .org import OrgConfig, Program
from .records import Enrollment, Subscription
from .rules import Warnings, int_value, is_date, is_datetime, is_empty

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


def clean_extended_fields(org: OrgConfig, raw: Any, warnings: Warnings) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ApiError(codes.INVALID_INPUT, detail="extendedFields must be an object")
    reject_empty = org.flags["CONF_REJECT_EMPTY_OR_NULL_EF_VALUES"]
    cleaned: dict[str, Any] = {}
    for name, value in raw.items():
        spec = org.extended_fields.get(name)
        if spec is None or not spec.enabled:
            warnings.append(
                codes.entry(
                    codes.EXTENDED_FIELD_DROPPED,
                    name,
                    detail=f"{name} is not enabled for the org",
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
                    detail=f"invalid value {text!r}",
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
        raise ApiError(codes.INVALID_INPUT, detail="fields must be an object")
    cleaned: dict[str, Any] = {}
    for name, value in raw.items():
        spec = org.custom_fields.get(name)
        if spec is None:
            warnings.append(codes.entry(codes.CUSTOM_FIELD_DROPPED, detail=name))
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
                    detail=f"{name}: {text!r}",
                )
            )
            continue
        cleaned[name] = text
    return cleaned


def parse_enrollments(org: OrgConfig, raw: Any, now: float) -> list[tuple[Program, Enrollment]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ApiError(codes.INVALID_INPUT, detail="loyaltyProgramEnrollments must be an array")
    result: list[tuple[Program, Enrollment]] = []
    for item in raw:
        if not isinstance(item, dict):
            raise ApiError(
                codes.INVALID_INPUT, detail="loyaltyProgramEnrollments items must be objects"
            )
        program = org.programs.get(int_value(item.get("programId"), codes.INVALID_INPUT))
        if program is None:
            raise ApiError(codes.INVALID_INPUT, detail=f"Invalid programId {item.get('programId')}")
        if any(p.id == program.id for p, _ in result):
            raise ApiError(codes.INVALID_INPUT, detail=f"programId {program.id} passed twice")
        tier = int_value(item.get("tierNumber", 1), codes.INVALID_INPUT)
        if not 1 <= tier <= len(program.tiers):
            raise ApiError(
                codes.INVALID_INPUT, detail=f"Invalid tierNumber {tier} for program {program.id}"
            )
        points = item.get("loyaltyPoints", 0) or 0
        if not isinstance(points, int | float) or isinstance(points, bool) or points < 0:
            raise ApiError(codes.INVALID_INPUT, detail=f"Invalid loyaltyPoints {points!r}")
        for key in ("tierExpiryDate", "pointsExpiryDate"):
            if item.get(key) not in (None, "") and not is_datetime(item[key]):
                raise ApiError(
                    codes.INVALID_INPUT, detail=f"{key} must be YYYY-MM-DDTHH:MM:SS+hh:mm"
                )
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
        raise ApiError(codes.INVALID_INPUT, detail="subscriptions must be an array")
    return [parse_subscription(item, now) for item in raw]


def parse_subscription(item: Any, now: float) -> Subscription:
    if not isinstance(item, dict):
        raise ApiError(codes.INVALID_INPUT, detail="each subscription must be an object")
    channel = SUBSCRIPTION_CHANNELS.get(str(item.get("channel", "")).upper())
    if channel is None:
        raise ApiError(1101, detail=repr(item.get("channel")))
    priority = str(item.get("priority", "")).upper()
    if priority not in PRIORITIES:
        raise ApiError(1102, detail=repr(item.get("priority")))
    kind = str(item.get("type", "")).upper()
    if kind not in ("OPTIN", "OPTOUT"):
        raise ApiError(1106, detail=repr(item.get("type")))
    return Subscription(
        channel,
        priority,
        kind,
        str(item.get("accountId") or ""),
        str(item.get("sourceName") or ""),
        now,
    )
