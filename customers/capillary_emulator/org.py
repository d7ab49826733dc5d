"""The org configuration: what a Capillary org has set up (tills, sources, rules,
labels, fields, programs, promotions, limits). ``org_file`` reads it from JSON."""

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

# Capillary's source enum (reference §1.7); the org enables a subset.
KNOWN_SOURCES = frozenset(
    {
        "INSTORE",
        "FACEBOOK",
        "WEB_ENGAGE",
        "WECHAT",
        "MARTJACK",
        "TMALL",
        "TAOBAO",
        "JD",
        "ECOMMERCE",
        "WEBSITE",
        "LINE",
        "MOBILE_APP",
    }
)
CUSTOMER_STATUSES = frozenset(
    {
        "ACTIVE",
        "SUSPENDED",
        "DELETED",
        "FRAUD_SUSPECTED",
        "FRAUD_CONFIRMED",
        "INTERNAL",
        "PENDING_DELETION",
    }
)
CARD_STATUSES = frozenset({"NOT_ISSUED", "ISSUED", "ACTIVE", "SUSPENDED", "EXPIRED", "DELETED"})
EXTENDED_FIELD_TYPES = frozenset(
    {
        "STRING",
        "STANDARD_STRING",
        "INTEGER",
        "DOUBLE",
        "DATETIME",
        "STANDARD_ENUM",
        "CUSTOM_ENUM",
        "COUNTRY",
        "LANGUAGE",
        "CURRENCY",
    }
)
CUSTOM_FIELD_TYPES = frozenset({"string", "integer", "boolean", "date"})
REGISTRATION_FLAGS = (
    "CONF_ALLOW_MOBILE_UPDATE",
    "CONF_ALLOW_EMAIL_UPDATE",
    "CONF_LOYALTY_ALLOW_EXTERNAL_ID_UPDATE",
    "CONF_REJECT_EMPTY_OR_NULL_EF_VALUES",
    "dual_eligibility",
)
HTTP_STATUS_KEYS = (
    "business_error",
    "mandatory_field_missing",
    "batch_all_succeeded",
    "batch_some_failed",
    "batch_all_failed",
    "oauth_bad_credentials",
)


class OrgConfigError(ValueError):
    """An org configuration that cannot be used; the message names the key."""


@dataclass(frozen=True)
class Till:
    code: str
    password: str
    id: int
    name: str
    description: str
    access: frozenset[str]

    @property
    def password_md5(self) -> str:
        return hashlib.md5(self.password.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class OAuthClient:
    key: str
    secret: str
    ttl_seconds: int
    till: str
    access: frozenset[str]


@dataclass(frozen=True)
class MobileRule:
    country_code: str
    length: int
    regex: re.Pattern[str] | None


@dataclass(frozen=True)
class Label:
    id: int
    label: str
    status: str


@dataclass(frozen=True)
class ExtendedField:
    id: int
    name: str
    label: str
    data_type: str
    enabled: bool
    values: tuple[str, ...]
    max_length: int
    pii: bool


@dataclass(frozen=True)
class CustomField:
    name: str
    label: str
    type: str


@dataclass(frozen=True)
class Tier:
    number: int
    name: str
    description: str


@dataclass(frozen=True)
class Program:
    id: int
    name: str
    description: str
    default: bool
    points_to_currency_ratio: float
    tiers: tuple[Tier, ...]


@dataclass(frozen=True)
class CardSeries:
    id: int
    code: str
    name: str
    type: str
    expiry_days: int
    max_active_cards: int
    default: bool


@dataclass(frozen=True)
class CustomerLabel:
    """A customer tag (E9b), not a status label."""

    id: int
    name: str
    description: str


@dataclass(frozen=True)
class RateLimit:
    limit: int
    per_seconds: float


@dataclass(frozen=True)
class OrgConfig:
    org_id: int
    tills: dict[str, Till]
    oauth_clients: dict[str, OAuthClient]
    sources: dict[str, tuple[str, ...]]
    primary_key: str
    flags: dict[str, bool]
    default_loyalty_type: str
    default_source: str
    base_country_code: str
    mobile_rules: tuple[MobileRule, ...]
    status_enabled: bool
    default_status_label: str | None
    status_labels: dict[str, Label]
    extended_fields: dict[str, ExtendedField]
    custom_fields: dict[str, CustomField]
    programs: dict[int, Program]
    promotions: dict[str, Any]
    card_series: dict[int, CardSeries]
    card_labels: dict[str, Label]
    customer_labels: tuple[CustomerLabel, ...]
    default_subscription: str
    rate_limits_enabled: bool
    default_rate_limit: RateLimit
    rate_limits: dict[str, RateLimit]
    max_batch_size: int
    http_status: dict[str, int]
    faults: dict[str, dict[str, Any]]
    # Per API key (a till's code or an OAuth client's key), besides per endpoint.
    key_rate_limits: dict[str, RateLimit] = field(default_factory=dict)
    default_key_rate_limit: RateLimit | None = None
    # The JSON this was read from, so a runtime change can be applied and undone.
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def default_program(self) -> Program | None:
        chosen = [p for p in self.programs.values() if p.default]
        return chosen[0] if chosen else next(iter(self.programs.values()), None)

    def default_till(self) -> Till:
        return next(iter(self.tills.values()))

    def default_series(self) -> CardSeries | None:
        chosen = [s for s in self.card_series.values() if s.default]
        return chosen[0] if chosen else next(iter(self.card_series.values()), None)

    def rate_limit(self, endpoint: str) -> RateLimit:
        return self.rate_limits.get(endpoint, self.default_rate_limit)

    def key_rate_limit(self, key: str) -> RateLimit | None:
        """The quota of one API key over every endpoint, if the org sets one."""
        return self.key_rate_limits.get(key, self.default_key_rate_limit)
