"""Request and response bodies of Capillary's customer APIs (E1-E12 of API_REFERENCE.md).

Python names are snake_case; the wire names are aliases (camelCase for v2/v3,
snake_case for v1.1), and dumping uses them by default. Every model keeps
fields it does not know (`extra="allow"`), so nothing Capillary sends is lost.

Request models validate the documented limits before anything is sent and raise
pydantic's `ValidationError`, whose locations name the wire field
(`profiles.0.identifiers.1.value`); `field_errors()` flattens one for a form.
Response models are lenient: they accept Capillary's quirks (booleans as "true",
v1.1 numbers as strings, `cardNumber` for `cardnumber`) and never enforce input
limits on data Capillary already holds.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Self, TypeAlias, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    SecretStr,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from .errors import ApiCode, CallMeta


class WireModel(BaseModel):
    """camelCase on the wire, unknown fields kept, snake_case in Python."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        extra="allow",
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON body as sent: wire names, no unset optional fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class V11Model(WireModel):
    """v1.1 bodies use snake_case names on the wire."""

    model_config = ConfigDict(alias_generator=None)


def _canonical(*values: str) -> BeforeValidator:
    """Accept any letter case and emit the documented spelling (`cardNumber` -> `cardnumber`)."""
    by_lower = {value.lower(): value for value in values}

    def canonicalise(value: object) -> object:
        return by_lower.get(value.lower(), value) if isinstance(value, str) else value

    return BeforeValidator(canonicalise)


SourceName: TypeAlias = Literal[
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
]
# The tuples are read off the Literals, so each enum is spelled once.
_SOURCES: tuple[str, ...] = get_args(SourceName)
Source = Annotated[SourceName, _canonical(*_SOURCES)]
ReadSourceName: TypeAlias = Literal[
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
    "ALL",
    "MAPP_SDK",
    "OTHERS",
]
ReadSource = Annotated[ReadSourceName, _canonical(*_SOURCES, "ALL", "MAPP_SDK", "OTHERS")]

IdentifierTypeName: TypeAlias = Literal[
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
]
_IDENTIFIER_TYPES: tuple[str, ...] = get_args(IdentifierTypeName)
IdentifierType = Annotated[IdentifierTypeName, _canonical(*_IDENTIFIER_TYPES)]

# `cardnumber` is listed as a channel only on the Add Customer page; accepted so
# that page's own examples stay valid.
_CHANNEL_TYPES = ("mobile", "email", "wechat", "ios", "android", "line", "mobilePush", "cardnumber")
CommChannelType = Annotated[
    Literal["mobile", "email", "wechat", "ios", "android", "line", "mobilePush", "cardnumber"],
    _canonical(*_CHANNEL_TYPES),
]
LoyaltyType = Annotated[Literal["loyalty", "non_loyalty"], _canonical("loyalty", "non_loyalty")]
_SUBSCRIPTION_CHANNELS = ("MOBILE", "EMAIL", "wechat", "whatsapp", "ios", "android", "line")
SubscriptionChannel = Annotated[
    Literal["MOBILE", "EMAIL", "wechat", "whatsapp", "ios", "android", "line"],
    _canonical(*_SUBSCRIPTION_CHANNELS),
]
Priority = Annotated[Literal["TRANS", "BULK"], _canonical("TRANS", "BULK")]
SubscriptionType = Annotated[Literal["OPTIN", "OPTOUT"], _canonical("OPTIN", "OPTOUT")]

_NAME = re.compile(r"[\w '\-]*")
_EMAIL = re.compile(r"[A-Za-z0-9\-_+.]+@[A-Za-z0-9\-_+.]+")
_MOBILE = re.compile(r"[0-9]{7,15}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[+-]\d{2}:\d{2}|Z)")
_V11_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def _check_name(value: str) -> str:
    # Capillary trims names and silently drops characters past 100; refusing
    # here keeps what staff typed and what is stored the same.
    value = value.strip()
    if len(value) > 100:
        raise ValueError("must be at most 100 characters")
    if not _NAME.fullmatch(value):
        raise ValueError("may contain only letters, digits, spaces, hyphens and apostrophes")
    return value


def check_email(value: str) -> str:
    if len(value) > 255:
        raise ValueError("must be at most 255 characters")
    if not _EMAIL.fullmatch(value):
        raise ValueError("must look like name@domain using only letters, digits and - _ + .")
    return value


def check_mobile(value: str) -> str:
    # The seeds' own examples include a 7-digit mobile, so 7 is the lower bound.
    if not _MOBILE.fullmatch(value):
        raise ValueError("must be 7 to 15 digits including the country code, nothing else")
    return value


def _check_date_time(value: str) -> str:
    # An empty string is how the seeds say "not set" (e.g. lastViewedDate).
    if value == "":
        return value
    if not _DATE_TIME.fullmatch(value):
        raise ValueError("must be YYYY-MM-DDTHH:MM:SS+hh:mm")
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a real date and time") from None
    return value


def _check_v11_date_time(value: str) -> str:
    if not _V11_DATE_TIME.fullmatch(value):
        raise ValueError("must be YYYY-MM-DD HH:MM:SS")
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a real date and time") from None
    return value


def _max_len(limit: int) -> AfterValidator:
    def check(value: str) -> str:
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters")
        return value

    return AfterValidator(check)


Name = Annotated[str, AfterValidator(_check_name)]
DateTimeText = Annotated[str, AfterValidator(_check_date_time)]
V11DateTimeText = Annotated[str, AfterValidator(_check_v11_date_time)]


def _check_value_for(kind: object, value: str) -> str:
    if kind == "mobile":
        return check_mobile(value)
    if kind == "email":
        return check_email(value)
    return value


def field_errors(error: ValidationError) -> dict[str, str]:
    """`{"profiles.0.identifiers.1.value": "must be ...", ...}` for showing on a form."""
    flat: dict[str, str] = {}
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in item["loc"]) or "__all__"
        message = item["msg"].removeprefix("Value error, ")
        flat.setdefault(path, message)
    return flat


# --- requests -----------------------------------------------------------------


class Identifier(WireModel):
    """`{type, value}`; cards add `seriesId`/`seriesCode`/`statusLabel`."""

    type: IdentifierType
    value: str
    series_id: int | None = None
    series_code: str | None = None
    status_label: str | None = None
    extended_fields: dict[str, Any] | None = None
    custom_fields: dict[str, Any] | None = None

    @field_validator("value")
    @classmethod
    def _value_fits_type(cls, value: str, info: ValidationInfo) -> str:
        return _check_value_for(info.data.get("type"), value)


class IdentifierRef(WireModel):
    """An identifier to remove: its value is whatever Capillary holds, so it is not checked."""

    type: IdentifierType
    value: str
    series_id: int | None = None
    series_code: str | None = None
    status_label: str | None = None


class CommChannelMeta(WireModel):
    residence: bool | None = None
    office: bool | None = None
    last_viewed_date: DateTimeText | None = None


class CommChannel(WireModel):
    type: CommChannelType
    value: str | None = None
    primary: bool | None = None
    verified: bool | None = None
    subscribed: bool | None = None
    meta: CommChannelMeta | None = None
    attributes: dict[str, Any] | None = None

    @field_validator("value")
    @classmethod
    def _value_fits_type(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _check_value_for(info.data.get("type"), value)


class NewProfile(WireModel):
    """A profile of E1: identifiers and source are required."""

    first_name: Name | None = None
    last_name: Name | None = None
    identifiers: list[Identifier] = Field(min_length=1)
    comm_channels: list[CommChannel] | None = None
    fields: dict[str, Any] | None = None
    source: Source
    account_id: str | None = None


class ProfileChanges(WireModel):
    """A profile of E2 and E3. Identifiers change only through E7 (or E3's lookup step)."""

    first_name: Name | None = None
    last_name: Name | None = None
    identifiers: list[Identifier] | None = None
    comm_channels: list[CommChannel] | None = None
    fields: dict[str, Any] | None = None
    source: Source | None = None
    account_id: str | None = None


class UpsertProfile(ProfileChanges):
    """A profile of E3: its identifiers are how the customer is looked up."""

    identifiers: list[Identifier] = Field(min_length=1)


class LoyaltyInfo(WireModel):
    loyalty_type: LoyaltyType


class ProgramEnrollment(WireModel):
    program_id: int
    tier_number: int | None = None
    loyalty_points: int | float | None = None
    tier_expiry_date: DateTimeText | None = None
    points_expiry_date: DateTimeText | None = None


class Subscription(WireModel):
    """One subscription to set: channel + priority -> OPTIN/OPTOUT."""

    channel: SubscriptionChannel
    priority: Priority
    type: SubscriptionType
    account_id: str | None = None
    source_name: Source | None = None
    org_unit_id: int | None = None


class SubscriptionInfo(WireModel):
    subscriptions: list[Subscription]


class _CustomerFields(WireModel):
    loyalty_info: LoyaltyInfo | None = None
    extended_fields: dict[str, Any] | None = None
    loyalty_program_enrollments: list[ProgramEnrollment] | None = None


class AddCustomerRequest(_CustomerFields):
    """Body of E1 `POST /v2/customers`."""

    profiles: list[NewProfile] = Field(min_length=1)
    associated_with: str | None = None
    referral_code: str | None = None
    status_label: str | None = None
    subscription_info: SubscriptionInfo | None = None
    create_date: DateTimeText | None = None
    end_points_enabled: list[str] | None = None


class UpdateCustomerRequest(_CustomerFields):
    """Body of E2 `PUT /v2/customers/{userId}` and E2b `PUT /v2/customers/lookup`."""

    profiles: list[ProfileChanges] | None = None


class UpsertEntry(_CustomerFields):
    """One element of E3's array: looked up, then updated or added."""

    profiles: list[UpsertProfile] = Field(min_length=1)
    status_label: str | None = None
    subscription_info: SubscriptionInfo | None = None


class ChangeIdentifierRequest(WireModel):
    """Body of E7: identifiers (or cards) to add and to remove."""

    add: list[Identifier] = Field(default_factory=list)
    remove: list[IdentifierRef] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something_to_change(self) -> Self:
        if not self.add and not self.remove:
            raise ValueError("give at least one identifier to add or remove")
        return self


class SubscriptionScope(WireModel):
    scope: str = "USER"
    sub_scope: str = "NONE"


class SubscriptionChange(WireModel):
    """Body of E8 write: `subscriptions` (at least one) and what they relate to."""

    subscriptions: list[Subscription] = Field(min_length=1)
    communication_id: int | None = None
    campaign_id: int | None = None
    reason: str | None = None
    scope: SubscriptionScope | None = None


class StatusChange(WireModel):
    """Body of E9: move the customer to a status label."""

    reason: str = Field(min_length=1)
    label: str = Field(min_length=1)
    created_on: DateTimeText | None = None


class CustomerLookup(WireModel):
    """How lookups address a customer: source (+ account) and identifier name and value.

    Under dual eligibility `identifier_name`/`identifier_value` may be comma lists.
    """

    model_config = ConfigDict(frozen=True)

    source: ReadSource
    identifier_name: str
    identifier_value: str = Field(min_length=1)
    account_id: str | None = None

    @field_validator("identifier_name")
    @classmethod
    def _known_identifier_names(cls, value: str) -> str:
        by_lower = {name.lower(): name for name in _IDENTIFIER_TYPES}
        names = []
        for part in value.split(","):
            name = by_lower.get(part.strip().lower())
            if name is None:
                raise ValueError(f"unknown identifier type {part.strip()!r}")
            names.append(name)
        return ",".join(names)

    def to_query(self) -> dict[str, str]:
        return {
            **_source_query(self.source, self.account_id),
            "identifierName": self.identifier_name,
            "identifierValue": self.identifier_value,
        }


def _source_query(source: str, account_id: str | None) -> dict[str, str]:
    query = {"source": source}
    if account_id is not None:
        query["accountId"] = account_id
    return query


class SourceAccount(WireModel):
    """The source profile a by-id write applies to (query `source` and `accountId`)."""

    source: Source
    account_id: str | None = None

    def to_query(self) -> dict[str, str]:
        return _source_query(self.source, self.account_id)


class ReadSourceAccount(WireModel):
    """As `SourceAccount`, for reads, which also accept `ALL` and a few read-only sources."""

    source: ReadSource
    account_id: str | None = None

    def to_query(self) -> dict[str, str]:
        return _source_query(self.source, self.account_id)


class AuditLogQuery(WireModel):
    """Filters of E11 `GET /api_gateway/v2/audits`."""

    entity_id: int
    entity_type: Literal["CUSTOMER", "CARD"] = "CUSTOMER"
    source: Source | None = None
    limit: int = Field(default=10, ge=1)
    page_no: int = Field(default=0, ge=0)
    sort_by: str | None = None
    sort_order: Literal["ASC", "DESC"] | None = None
    start_date: V11DateTimeText | None = None
    end_date: V11DateTimeText | None = None
    reference_type: (
        Literal[
            "Identifier",
            "StandardField",
            "ExtendedField",
            "CustomField",
            "CustomerStatus",
            "CardStatus",
            "SubscriptionStatus",
            "CustomerMerge",
            "CardCustomField",
            "CommChannel",
            "CardExtendedField",
        ]
        | None
    ) = None
    reference_value: str | None = None
    include_user_context: bool = True

    def to_query(self) -> dict[str, str]:
        return {
            key: ("true" if value else "false") if isinstance(value, bool) else str(value)
            for key, value in self.model_dump(by_alias=True, exclude_none=True).items()
        }


class CustomerSearchQuery(WireModel):
    """E13 `GET /v2/customers/search`: a keyword matched as a prefix, and the page."""

    q: str = Field(min_length=1, max_length=255)
    limit: int = Field(default=10, ge=1, le=100)
    offset: int = Field(default=0, ge=0)

    @field_validator("q")
    @classmethod
    def _keyword(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("the keyword is empty")
        return value

    def to_query(self) -> dict[str, str]:
        return {"q": self.q, "limit": str(self.limit), "offset": str(self.offset)}


# v1.1 wraps every repeated element: {"field": [...]}, {"customer": [...]}.
# XML-to-JSON conversions send a lone element as an object, so accept that too.
def _as_list(value: object) -> object:
    return [value] if isinstance(value, dict | str | int) else value


class V11NameValue(V11Model):
    name: str
    value: Any = None


class V11Fields(V11Model):
    field: Annotated[list[V11NameValue], BeforeValidator(_as_list)] = Field(default_factory=list)


class V11Subscription(V11Model):
    priority: Priority
    channel: Annotated[Literal["sms", "email"], _canonical("sms", "email")]
    is_subscribed: Literal["0", "1"]
    scope: str = "all"

    @field_validator("is_subscribed", mode="before")
    @classmethod
    def _number_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


class V11Subscriptions(V11Model):
    subscription: Annotated[list[V11Subscription], BeforeValidator(_as_list)]


class V11FraudStatus(V11Model):
    # "" is what the official v1.1 sample sends: it leaves the fraud status as it is.
    status: Literal["CONFIRMED", "NONE", ""]


V11LoyaltyType = Annotated[Literal["LOYALTY", "NON_LOYALTY"], _canonical("LOYALTY", "NON_LOYALTY")]


class V11CustomerUpdate(V11Model):
    """One customer of E4; found by one of `mobile`, `email`, `external_id` or `id`."""

    mobile: Annotated[str, AfterValidator(check_mobile)] | None = None
    email: Annotated[str, AfterValidator(check_email)] | None = None
    external_id: Annotated[str, _max_len(250)] | None = None
    id: int | None = None
    firstname: Name | None = None
    lastname: Name | None = None
    registered_on: V11DateTimeText | None = None
    updated_on: V11DateTimeText | None = None
    registered_till: Annotated[str, _max_len(50)] | None = None
    associated_with: Annotated[str, _max_len(50)] | None = None
    type: (
        Annotated[Literal["LOYALTY", "NON_LOYALTY"], _canonical("LOYALTY", "NON_LOYALTY")] | None
    ) = None
    custom_fields: V11Fields | None = None
    extended_fields: V11Fields | None = None
    subscriptions: V11Subscriptions | None = None
    fraud_status: V11FraudStatus | None = None

    @model_validator(mode="after")
    def _addressed(self) -> Self:
        if not (self.mobile or self.email or self.external_id or self.id is not None):
            raise ValueError("give the customer's mobile, email, external_id or id")
        return self


class V11CustomerList(V11Model):
    customer: Annotated[list[V11CustomerUpdate], BeforeValidator(_as_list)] = Field(min_length=1)


class V11UpdateRequest(V11Model):
    """Body of E4 `POST /v1.1/customer/update`: `{"root": {"customer": [...]}}`."""

    root: V11CustomerList

    @classmethod
    def of(cls, *customers: V11CustomerUpdate) -> V11UpdateRequest:
        return cls(root=V11CustomerList(customer=list(customers)))


# --- responses ----------------------------------------------------------------


class CapillaryResponse(WireModel):
    """A parsed response body plus `meta`, what the call did (not part of the body).

    `success_keys`: wire keys whose presence makes a body a real answer even on a
    non-2xx status (Capillary's statuses do not reliably say success or failure).
    """

    success_keys: ClassVar[tuple[str, ...]] = ()

    warnings: list[ApiCode] = Field(default_factory=list)
    errors: list[ApiCode] | None = None

    _meta: CallMeta | None = None

    @property
    def meta(self) -> CallMeta:
        if self._meta is None:
            return CallMeta(method="", path="", endpoint="")
        return self._meta

    def with_meta(self, meta: CallMeta) -> Self:
        self._meta = meta
        return self


class PointsEffect(WireModel):
    type: Literal["points"]
    entity_type: str | None = None
    awarded_points: int | float | None = None
    raw_awarded_points: int | float | None = None
    customer_id: int | None = None
    is_referrer: bool | None = None


class CouponEffect(WireModel):
    type: Literal["coupon"]
    id: int | None = None
    entity_type: str | None = None
    coupon_type: str | None = None
    coupon_code: str | None = None
    trimmed_coupon_code: str | None = None
    valid_till: str | None = None
    description: str | None = None
    discount_code: str | None = None


class AlternateCurrencyEffect(WireModel):
    type: Literal["alternate_currency"]
    entity_type: str | None = None
    awarded_value: int | float | None = None
    raw_awarded_value: int | float | None = None
    alternate_currency_identifier: str | None = None
    alternate_currency_name: str | None = None


class OtherEffect(WireModel):
    """A side effect of a type this client does not model; every field is kept."""

    type: str | None = None


_EFFECT_TAGS = frozenset({"points", "coupon", "alternate_currency"})


def _effect_tag(value: object) -> str | None:
    if isinstance(value, dict):
        kind = value.get("type")
    elif isinstance(value, BaseModel):
        kind = getattr(value, "type", None)
    else:
        return None
    return kind if isinstance(kind, str) and kind in _EFFECT_TAGS else "other"


SideEffect = Annotated[
    Annotated[PointsEffect, Tag("points")]
    | Annotated[CouponEffect, Tag("coupon")]
    | Annotated[AlternateCurrencyEffect, Tag("alternate_currency")]
    | Annotated[OtherEffect, Tag("other")],
    Discriminator(_effect_tag),
]


class WriteResponse(CapillaryResponse):
    """`{createdId, warnings, sideEffects}` of E1, E2, E2b, E7 and E9."""

    success_keys = ("createdId",)

    created_id: int | None = None
    side_effects: list[SideEffect] = Field(default_factory=list)


class CustomerIdResponse(CapillaryResponse):
    """E5b: `{"entity": <customer id>, "warnings": []}`."""

    success_keys = ("entity",)

    entity: int


class ResponseIdentifier(WireModel):
    type: Annotated[str, _canonical(*_IDENTIFIER_TYPES)]
    value: str | None = None


class ResponseCommChannel(WireModel):
    type: str
    value: str | None = None
    primary: bool | None = None
    verified: bool | None = None


class CustomerProfile(WireModel):
    first_name: str | None = None
    last_name: str | None = None
    identifiers: list[ResponseIdentifier] = Field(default_factory=list)
    comm_channels: list[ResponseCommChannel] = Field(default_factory=list)
    fields: dict[str, Any] = Field(default_factory=dict)
    source: str | None = None
    account_id: str | None = None
    user_id: int | None = None


class CustomerLoyaltyInfo(WireModel):
    loyalty_type: str | None = None


class Customer(CapillaryResponse):
    """A full customer as E5/E6 return it (and as E3's `result`)."""

    success_keys = ("id", "profiles")

    id: int | None = None
    profiles: list[CustomerProfile] = Field(default_factory=list)
    loyalty_info: CustomerLoyaltyInfo | None = None
    extended_fields: dict[str, Any] = Field(default_factory=dict)
    associated_with: str | None = None


class BulkItem(WireModel):
    """One element of E3's `response`, in input order."""

    entity_id: int | None = None
    result: Customer | None = None
    errors: list[ApiCode] = Field(default_factory=list)
    warnings: list[ApiCode] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class BulkUpsertResponse(CapillaryResponse):
    """E3: per-item results; items fail individually, the batch is returned as a whole."""

    success_keys = ("response",)

    response: list[BulkItem]
    total_count: int | None = None
    failure_count: int | None = None


def _v11_bool(value: object) -> object:
    return value.strip().lower() == "true" if isinstance(value, str) else value


V11Bool = Annotated[
    bool,
    BeforeValidator(_v11_bool),
    PlainSerializer(lambda flag: "true" if flag else "false", return_type=str),
]


def _blank_to_none(value: object) -> object:
    return None if value == "" else value


# v1.1 sends "" where a number is absent (e.g. the user id of a failed item).
V11Int = Annotated[int | None, BeforeValidator(_blank_to_none)]


class V11Warnings(V11Model):
    warning: Annotated[list[int], BeforeValidator(_as_list)] = Field(default_factory=list)


class V11Status(V11Model):
    """Request- or item-level status: `success` is "true"/"false", codes number or string."""

    success: V11Bool
    code: int
    message: str = ""
    total: V11Int = None
    success_count: V11Int = None
    warnings: V11Warnings | None = None


class V11CustomerResult(V11Model):
    user_id: V11Int = None
    item_status: V11Status | None = None

    @property
    def ok(self) -> bool:
        return self.item_status is None or self.item_status.success


class V11CustomerResults(V11Model):
    customer: Annotated[list[V11CustomerResult], BeforeValidator(_as_list)] = Field(
        default_factory=list
    )


class V11ResponseBody(V11Model):
    status: V11Status
    customers: V11CustomerResults | None = None


class V11UpdateResponse(CapillaryResponse):
    """E4: the v1.1 envelope; failed customers are reported per item, not raised."""

    success_keys = ("response",)

    response: V11ResponseBody

    @property
    def customers(self) -> list[V11CustomerResult]:
        return [] if self.response.customers is None else self.response.customers.customer


class SubscriptionState(WireModel):
    channel: str
    priority: str
    type: str


class SubscriptionsResponse(CapillaryResponse):
    """E8 read and write: the subscriptions (reads say `SMS` where writes say `MOBILE`)."""

    success_keys = ("subscriptions",)

    subscriptions: list[SubscriptionState] = Field(default_factory=list)
    campaign_id: int | None = None
    communication_id: int | None = None
    reason: str | None = None
    scope: SubscriptionScope | None = None


class StatusLogEntry(WireModel):
    label: str | None = None
    prev_label: str | None = None
    status: str | None = None
    reason: str | None = None
    created_on: str | None = None
    is_active: bool | None = None


class StatusLogResponse(CapillaryResponse):
    """E9 status log: newest state has `isActive: true`."""

    success_keys = ("data",)

    data: list[StatusLogEntry] = Field(default_factory=list)


class CardStatusInfo(WireModel):
    label: str | None = None
    status: str | None = None
    label_id: int | None = None
    reason: str | None = None
    created_on: str | None = None
    is_active: bool | None = None


class CardDetailsResponse(CapillaryResponse):
    """`GET /v2/card?number=`: one card, its series, status, holder and dates."""

    success_keys = ("cardNumber",)

    card_id: int | None = None
    card_number: str
    series_id: int | None = None
    series_code: str | None = None
    series_name: str | None = None
    type: str | None = None
    customer_id: int | None = None
    issued_date: str | None = None
    created_date: str | None = None
    expiry_date: str | None = None
    expiry_days: int | None = None
    max_active_cards: int | None = None
    entity_code: str | None = None
    card_external_id: str | None = None
    status_info: CardStatusInfo | None = None
    active_and_digital: bool | None = None
    transaction_not_allowed: bool | None = None


class ExtendedField(WireModel):
    id: int | None = None
    name: str
    label: str | None = None
    data_type: str | None = None


class ExtendedFieldsResponse(CapillaryResponse):
    """E10 catalogue, grouped by entity; key casing varies between doc revisions."""

    success_keys = ("entity",)

    entity: dict[str, list[ExtendedField]] = Field(default_factory=dict)
    success: bool | None = None

    def fields_for(self, entity: str) -> list[ExtendedField]:
        wanted = entity.lower()
        return [f for key, fields in self.entity.items() if key.lower() == wanted for f in fields]


class ExtendedFieldConfig(WireModel):
    extended_field_id: int
    mandatory: bool | None = None
    updatable: bool | None = None
    hide_display: bool | None = None
    position: int | None = None


class ExtendedFieldConfigResponse(CapillaryResponse):
    """E10 per-field configuration; the body is a bare array, kept here as `data`."""

    success_keys = ("data",)

    data: list[ExtendedFieldConfig] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _wrap_array(cls, value: object) -> object:
        return {"data": value} if isinstance(value, list) else value


class UserContextDetails(WireModel):
    entity_type: str | None = None
    entity_id: str | None = None
    entity_source: str | None = None
    entity_source_id: str | None = None


class AuditEvent(WireModel):
    event_type: str | None = None
    updated_field: str | None = None
    additional_fields: dict[str, Any] | None = None


class AuditRow(WireModel):
    entity_type: str | None = None
    entity_id: int | None = None
    created_on: int | None = None
    request_id: str | None = None
    updated_by: int | None = None
    updated_by_mode: str | None = None
    user_context_details: UserContextDetails | None = None
    events: list[AuditEvent] | None = None


class Pagination(WireModel):
    total_elements: int | None = None
    total_pages: int | None = None
    number_of_elements: int | None = None
    number: int | None = None


class AuditLogResponse(CapillaryResponse):
    """E11 entity audit log; timestamps are epoch milliseconds."""

    success_keys = ("data",)

    data: list[AuditRow] = Field(default_factory=list)
    pagination: Pagination | None = None


class MatchedIdentifier(WireModel):
    """What made a search hit: `firstName`, `lastName` or an identifier type, and its value."""

    id_type: str
    id_value: str | None = None
    source: str | None = None
    account_id: str | None = None


class SearchProfile(WireModel):
    source: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class SearchHit(WireModel):
    user_id: int
    matched_identifiers: list[MatchedIdentifier] = Field(default_factory=list)
    profiles: list[SearchProfile] = Field(default_factory=list)


class SearchPagination(WireModel):
    limit: int | None = None
    offset: int | None = None
    total: int | None = None


class CustomerSearchResponse(CapillaryResponse):
    """E13 customer search: one page of hits, each with what matched and its profiles."""

    success_keys = ("data", "pagination")

    pagination: SearchPagination | None = None
    data: list[SearchHit] = Field(default_factory=list)


class TokenData(WireModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    access_token: SecretStr
    ttl_seconds: int


class TokenResponse(CapillaryResponse):
    """E12: `{"data": {accessToken, ttlSeconds} | null, "errors": null | [...]}`.

    The token is a `SecretStr` so that printing or dumping the response hides it.
    """

    model_config = ConfigDict(hide_input_in_errors=True)
    success_keys = ("data",)

    data: TokenData | None = None
