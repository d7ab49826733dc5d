"""Reading the org configuration from JSON.

``load_org_config(path)`` reads a file (``None``: ``$CAPILLARY_EMULATOR_ORG``, else
the shipped ``default_org.json``); ``parse_org(data)`` builds one from a dict,
which tests use to vary a single setting. A key that is missing, of the wrong
type or unknown stops loading with ``OrgConfigError`` naming its path.
"""

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

from . import faults
from .org import (
    CARD_STATUSES,
    CUSTOM_FIELD_TYPES,
    CUSTOMER_STATUSES,
    EXTENDED_FIELD_TYPES,
    HTTP_STATUS_KEYS,
    KNOWN_SOURCES,
    REGISTRATION_FLAGS,
    CardSeries,
    CustomerLabel,
    CustomField,
    ExtendedField,
    Label,
    MobileRule,
    OAuthClient,
    OrgConfig,
    OrgConfigError,
    Program,
    RateLimit,
    Tier,
    Till,
)

DEFAULT_ORG_PATH = Path(__file__).with_name("default_org.json")


def parse_org(data: Any) -> OrgConfig:
    return _parse(_Reader(data, ""))


def load_org_config(path: str | os.PathLike[str] | None = None) -> OrgConfig:
    chosen = Path(path or os.environ.get("CAPILLARY_EMULATOR_ORG") or DEFAULT_ORG_PATH)
    try:
        data = json.loads(chosen.read_text(encoding="utf-8"))
    except OSError as exc:
        raise OrgConfigError(f"cannot read org config {chosen}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise OrgConfigError(f"org config {chosen} is not JSON: {exc}") from exc
    try:
        return parse_org(data)
    except OrgConfigError as exc:
        raise OrgConfigError(f"org config {chosen}: {exc}") from exc


def default_org_data() -> dict[str, Any]:
    """A fresh copy of the shipped configuration, for callers that vary one setting."""
    data: dict[str, Any] = json.loads(DEFAULT_ORG_PATH.read_text(encoding="utf-8"))
    return data


_MISSING: Any = object()


class _Reader:
    """Typed access to one JSON object that reports errors by key path."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise OrgConfigError(f"key '{path or '(root)'}' must be a JSON object")
        self.data: dict[str, Any] = data
        self.path = path
        self.seen: set[str] = set()

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
        self.seen.add(key)
        if key not in self.data:
            if default is _MISSING:
                raise OrgConfigError(f"key '{self.where(key)}' is missing")
            return default
        value = self.data[key]
        wrong_bool = isinstance(value, bool) and bool not in _as_tuple(kind)
        if not isinstance(value, kind) or wrong_bool:
            names = " or ".join(k.__name__ for k in _as_tuple(kind))
            raise OrgConfigError(f"key '{self.where(key)}' must be {names}, not {value!r}")
        return value

    def child(self, key: str, default: Any = _MISSING) -> "_Reader":
        return _Reader(self.get(key, dict, default), self.where(key))

    def children(self, key: str, default: Any = _MISSING) -> list["_Reader"]:
        items = self.get(key, list, default)
        return [_Reader(item, f"{self.where(key)}[{i}]") for i, item in enumerate(items)]

    def strings(self, key: str, default: Any = _MISSING) -> tuple[str, ...]:
        items = self.get(key, list, default)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise OrgConfigError(f"key '{self.where(key)}[{i}]' must be str")
        return tuple(items)

    def fail(self, key: str, problem: str) -> OrgConfigError:
        return OrgConfigError(f"key '{self.where(key)}' {problem}")

    def done(self) -> None:
        unknown = sorted(k for k in self.data if k not in self.seen and not k.startswith("_"))
        if unknown:
            raise OrgConfigError(f"key '{self.where(unknown[0])}' is not a known setting")


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _parse(root: _Reader) -> OrgConfig:
    tills = {t.code: t for t in (_till(r) for r in root.children("tills"))}
    clients = {c.key: c for c in (_client(r, tills) for r in root.children("oauth_clients", []))}
    sources = _sources(root.child("sources"))
    reg = root.child("registration")
    primary = reg.get("CONF_REGISTRATION_PRIMARY_KEY", str, "mobile")
    if primary not in ("mobile", "email", "externalId"):
        raise reg.fail("CONF_REGISTRATION_PRIMARY_KEY", "must be mobile, email or externalId")
    flags = {
        name: reg.get(name, bool, name == "CONF_REJECT_EMPTY_OR_NULL_EF_VALUES")
        for name in REGISTRATION_FLAGS
    }
    loyalty = reg.get("default_loyalty_type", str, "loyalty")
    if loyalty not in ("loyalty", "non_loyalty"):
        raise reg.fail("default_loyalty_type", "must be loyalty or non_loyalty")
    default_source = reg.get("default_source", str, "INSTORE")
    if default_source not in sources:
        raise reg.fail("default_source", "must be one of the org's sources")
    reg.done()
    mobile = root.child("mobile")
    base_cc = mobile.get("base_country_code", str)
    rules = tuple(_mobile_rule(r) for r in mobile.children("rules"))
    mobile.done()
    status = root.child("customer_status")
    labels = {
        lb.label: lb for lb in (_label(r, CUSTOMER_STATUSES) for r in status.children("labels"))
    }
    default_label = status.get("default_label", (str, type(None)), None)
    if default_label is not None and default_label not in labels:
        raise status.fail("default_label", "must name one of customer_status.labels")
    status_enabled = status.get("enabled", bool, True)
    status.done()
    programs = {p.id: p for p in (_program(r) for r in root.children("programs"))}
    series = {s.id: s for s in (_series(r) for r in root.children("card_series"))}
    card_labels = {
        lb.label: lb
        for lb in (_label(r, CARD_STATUSES) for r in root.children("card_status_labels"))
    }
    subs = root.child("subscriptions", {})
    default_sub = subs.get("default_type", str, "OPTIN")
    if default_sub not in ("OPTIN", "OPTOUT"):
        raise subs.fail("default_type", "must be OPTIN or OPTOUT")
    subs.done()
    limits = root.child("rate_limits")
    limits_enabled = limits.get("enabled", bool, True)
    default_limit = _rate_limit(limits, "default")
    per_endpoint = limits.child("endpoints", {})
    endpoint_limits = {key: _rate_limit(per_endpoint, key) for key in list(per_endpoint.data)}
    per_key = _rate_limit(limits, "per_key") if "per_key" in limits.data else None
    limits.seen.add("per_key")
    keys = limits.child("keys", {})
    key_limits = {key: _rate_limit(keys, key) for key in list(keys.data)}
    limits.done()
    http = root.child("http_status", {})
    http_status = {key: http.get(key, int, _HTTP_DEFAULTS[key]) for key in HTTP_STATUS_KEYS}
    http.done()
    try:
        fault_config = faults.normalise(root.get("faults", dict, {}))
    except faults.FaultConfigError as exc:
        raise OrgConfigError(f"key {exc}") from exc
    config = OrgConfig(
        org_id=root.get("org_id", int),
        tills=tills,
        oauth_clients=clients,
        sources=sources,
        primary_key=primary,
        flags=flags,
        default_loyalty_type=loyalty,
        default_source=default_source,
        base_country_code=base_cc,
        mobile_rules=rules,
        status_enabled=status_enabled,
        default_status_label=default_label,
        status_labels=labels,
        extended_fields={
            f.name: f for f in (_extended(r) for r in root.children("extended_fields"))
        },
        custom_fields={f.name: f for f in (_custom(r) for r in root.children("custom_fields"))},
        programs=programs,
        promotions=_promotions(root.child("promotions", {})),
        card_series=series,
        card_labels=card_labels,
        customer_labels=_customer_labels(root),
        default_subscription=default_sub,
        rate_limits_enabled=limits_enabled,
        default_rate_limit=default_limit,
        rate_limits=endpoint_limits,
        max_batch_size=root.get("max_batch_size", int, 100),
        http_status=http_status,
        faults=fault_config,
        key_rate_limits=key_limits,
        default_key_rate_limit=per_key,
        raw=copy.deepcopy(root.data),
    )
    root.done()
    return config


_HTTP_DEFAULTS = {
    "business_error": 400,
    "mandatory_field_missing": 403,
    "batch_all_succeeded": 200,
    "batch_some_failed": 201,
    "batch_all_failed": 500,
    "oauth_bad_credentials": 200,
}


def _access(r: _Reader) -> frozenset[str]:
    return frozenset(r.strings("access", ("*",)))


def _till(r: _Reader) -> Till:
    till = Till(
        code=r.get("code", str),
        password=r.get("password", str),
        id=r.get("id", int),
        name=r.get("name", str, ""),
        description=r.get("description", str, ""),
        access=_access(r),
    )
    r.done()
    return till


def _client(r: _Reader, tills: dict[str, Till]) -> OAuthClient:
    client = OAuthClient(
        key=r.get("key", str),
        secret=r.get("secret", str),
        ttl_seconds=r.get("ttl_seconds", int, 3600),
        till=r.get("till", str),
        access=_access(r),
    )
    if client.till not in tills:
        raise r.fail("till", "must name one of the tills")
    r.done()
    return client


def _sources(r: _Reader) -> dict[str, tuple[str, ...]]:
    sources = {}
    for name in list(r.data):
        if name.startswith("_"):
            continue
        if name not in KNOWN_SOURCES:
            raise r.fail(name, f"is not a Capillary source ({', '.join(sorted(KNOWN_SOURCES))})")
        sources[name] = r.strings(name)
    r.done()
    if "INSTORE" not in sources:
        raise r.fail("INSTORE", "is required: every org has the InStore source")
    return sources


def _mobile_rule(r: _Reader) -> MobileRule:
    code = r.get("country_code", str)
    if not code.isdigit():
        raise r.fail("country_code", "must be digits")
    pattern = r.get("regex", (str, type(None)), None)
    try:
        compiled = re.compile(pattern) if pattern else None
    except re.error as exc:
        raise r.fail("regex", f"is not a regular expression: {exc}") from exc
    rule = MobileRule(country_code=code, length=r.get("length", int), regex=compiled)
    r.done()
    return rule


def _label(r: _Reader, statuses: frozenset[str]) -> Label:
    label = Label(id=r.get("id", int), label=r.get("label", str), status=r.get("status", str))
    if label.status not in statuses:
        raise r.fail("status", f"must be one of {', '.join(sorted(statuses))}")
    r.done()
    return label


def _extended(r: _Reader) -> ExtendedField:
    field = ExtendedField(
        id=r.get("id", int),
        name=r.get("name", str),
        label=r.get("label", str, ""),
        data_type=r.get("data_type", str),
        enabled=r.get("enabled", bool, True),
        values=r.strings("values", ()),
        max_length=r.get("max_length", int, 255),
        pii=r.get("pii", bool, False),
    )
    if field.data_type not in EXTENDED_FIELD_TYPES:
        raise r.fail("data_type", f"must be one of {', '.join(sorted(EXTENDED_FIELD_TYPES))}")
    r.done()
    return field


def _custom(r: _Reader) -> CustomField:
    field = CustomField(
        name=r.get("name", str), label=r.get("label", str, ""), type=r.get("type", str)
    )
    if field.type not in CUSTOM_FIELD_TYPES:
        raise r.fail("type", f"must be one of {', '.join(sorted(CUSTOM_FIELD_TYPES))}")
    r.done()
    return field


def _program(r: _Reader) -> Program:
    tiers = []
    for t in r.children("tiers"):
        tiers.append(
            Tier(
                number=t.get("number", int),
                name=t.get("name", str),
                description=t.get("description", str, ""),
            )
        )
        t.done()
    if [t.number for t in tiers] != list(range(1, len(tiers) + 1)):
        raise r.fail("tiers", "must be numbered 1, 2, 3… in order")
    program = Program(
        id=r.get("id", int),
        name=r.get("name", str),
        description=r.get("description", str, ""),
        default=r.get("default", bool, False),
        points_to_currency_ratio=float(r.get("points_to_currency_ratio", (int, float), 1)),
        tiers=tuple(tiers),
    )
    r.done()
    return program


def _series(r: _Reader) -> CardSeries:
    series = CardSeries(
        id=r.get("id", int),
        code=r.get("code", str),
        name=r.get("name", str),
        type=r.get("type", str, "DIGITAL"),
        expiry_days=r.get("expiry_days", int, 365),
        max_active_cards=r.get("max_active_cards", int, 1),
        default=r.get("default", bool, False),
    )
    if series.type not in ("DIGITAL", "PHYSICAL"):
        raise r.fail("type", "must be DIGITAL or PHYSICAL")
    r.done()
    return series


def _promotions(r: _Reader) -> dict[str, Any]:
    """Each promotion is optional: absent (or null) means the org runs no such promotion."""
    result: dict[str, Any] = {"welcome_points": r.get("welcome_points", (int, float), 0)}
    coupon = r.child("welcome_coupon", None) if r.data.get("welcome_coupon") else None
    r.seen.add("welcome_coupon")
    if coupon:
        result["welcome_coupon"] = {
            "coupon_type": coupon.get("coupon_type", str, "PE"),
            "description": coupon.get("description", str),
            "discount_code": coupon.get("discount_code", str, "NO_VALUE"),
            "valid_days": coupon.get("valid_days", int, 30),
        }
        coupon.done()
    currency = r.child("alternate_currency", None) if r.data.get("alternate_currency") else None
    r.seen.add("alternate_currency")
    if currency:
        result["alternate_currency"] = {
            "identifier": currency.get("identifier", str),
            "name": currency.get("name", str),
            "value": currency.get("value", (int, float)),
        }
        # What staff call the currency: read by the console's pickers, never sent by Capillary.
        currency.get("display_name", str, "")
        currency.done()
    profile_update = r.child("profile_update", None) if r.data.get("profile_update") else None
    r.seen.add("profile_update")
    if profile_update:
        result["profile_update"] = {"points": profile_update.get("points", (int, float))}
        profile_update.done()
    referral = r.child("referral", None) if r.data.get("referral") else None
    r.seen.add("referral")
    if referral:
        result["referral"] = {
            "code_prefix": referral.get("code_prefix", str, "REF"),
            "referee_points": referral.get("referee_points", (int, float), 0),
            "referrer_points": referral.get("referrer_points", (int, float), 0),
        }
        referral.done()
    r.done()
    return result


# Label ids are Capillary's; an org file that names only the label gets one from here.
FIRST_LABEL_ID = 20_000


def _customer_labels(root: _Reader) -> tuple[CustomerLabel, ...]:
    """Each label a name, or ``{"id", "name", "description"}``."""
    labels = []
    for position, item in enumerate(root.get("customer_labels", list, [])):
        if isinstance(item, str):
            labels.append(CustomerLabel(FIRST_LABEL_ID + position, item, ""))
            continue
        r = _Reader(item, f"customer_labels[{position}]")
        labels.append(
            CustomerLabel(
                id=r.get("id", int, FIRST_LABEL_ID + position),
                name=r.get("name", str),
                description=r.get("description", str, ""),
            )
        )
        r.done()
    return tuple(labels)


def _rate_limit(r: _Reader, key: str) -> RateLimit:
    """``{"limit": n, "per_seconds": s}``, or a bare number meaning requests per minute."""
    value = r.get(key, (int, dict))
    if isinstance(value, int):
        if value <= 0:
            raise r.fail(key, "must be positive")
        return RateLimit(limit=value, per_seconds=60.0)
    item = r.child(key)
    limit = RateLimit(
        limit=item.get("limit", int), per_seconds=float(item.get("per_seconds", (int, float), 60))
    )
    if limit.limit <= 0 or limit.per_seconds <= 0:
        raise item.fail("limit", "and per_seconds must be positive")
    item.done()
    return limit
