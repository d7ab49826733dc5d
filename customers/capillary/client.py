"""CapillaryClient: one typed method per customer endpoint, one `_send()` for everything else.

`_send()` is the only place that talks HTTP: it applies the rate limiter, the
credentials, timeouts and retries, reads the answer into a model or an error
(see `transport.interpret`), attaches a redacted `CallMeta` to either, and logs
one line per call.

Retries. Reads (GET, and E12 token generation) are retried with backoff and
jitter on connection failures, timeouts, 5xx without business codes, and on
429/461/503/521. Writes are re-sent only when they surely did not arrive: a
connect error or pool timeout (nothing left this host) or a 429/461/503/521
answer (Capillary documents them as refused before processing). A read timeout
or a dropped connection on a write raises `Unavailable(outcome_unknown=True)`
at once: the caller looks the customer up before trying again. `Retry-After`
(seconds or an HTTP date) replaces the backoff when present; a wait that would
overrun the policy's total budget is not taken.

OAuth: a 401 or 498 answer drops the cached token and re-sends the call once
with a fresh one (neither status means the request was processed).

Usage::

    client = CapillaryClient("https://eu.api.capillarytech.com", BasicAuth("till", "pw"))
    created = client.add_customer(AddCustomerRequest(...), actor=UserContext("42", "A. Staff"))
    created.created_id, created.warnings, created.side_effects, created.meta

Tests and the embedded emulator pass `transport=` (any `httpx.BaseTransport`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter
from pydantic_core import from_json

from .auth import BasicAuth, OAuthAuth
from .errors import AuthFailed, CallMeta, CapillaryError, Unavailable
from .ratelimit import RateLimiter
from .schemas import (
    AddCustomerRequest,
    AuditLogQuery,
    AuditLogResponse,
    BulkUpsertResponse,
    CapillaryResponse,
    CardDetailsResponse,
    ChangeIdentifierRequest,
    Customer,
    CustomerIdResponse,
    CustomerLookup,
    CustomerSearchQuery,
    CustomerSearchResponse,
    ExtendedFieldConfigResponse,
    ExtendedFieldsResponse,
    ReadSourceAccount,
    SourceAccount,
    StatusChange,
    StatusLogResponse,
    SubscriptionChange,
    SubscriptionsResponse,
    TokenResponse,
    UpdateCustomerRequest,
    UpsertEntry,
    V11CustomerUpdate,
    V11UpdateRequest,
    V11UpdateResponse,
    WireModel,
    WriteResponse,
)
from .transport import (
    SURELY_NOT_SENT,
    RetryPolicy,
    Timeouts,
    decode,
    interpret,
    is_transient,
    redact,
    retry_after_seconds,
    scrub,
)

logger = logging.getLogger("customers.capillary")

R = TypeVar("R", bound=CapillaryResponse)
M = TypeVar("M", bound=BaseModel)

QueryValue = str | int | bool
# Headers travel as encoded pairs: no per-call re-encoding, and UTF-8 values pass.
WireHeaders = list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class UserContext:
    """The staff member behind a write, sent as the four USER-CONTEXT-ENTITY-* headers.

    Capillary stores them with the change and shows them in its audit log (E11).
    """

    entity_id: str
    source_id: str
    entity_type: str = "INTOUCH_ADMIN_USER"
    source: str = "MEMBER_CARE"

    def headers(self) -> WireHeaders:
        # Free text on Capillary's side; UTF-8 bytes let staff names keep their
        # accents, and dropping control characters keeps a header one header.
        def clean(value: str) -> bytes:
            return "".join(ch for ch in value if ch.isprintable()).encode()

        return [
            (b"USER-CONTEXT-ENTITY-TYPE", clean(self.entity_type)),
            (b"USER-CONTEXT-ENTITY-ID", clean(self.entity_id)),
            (b"USER-CONTEXT-ENTITY-SOURCE", clean(self.source)),
            (b"USER-CONTEXT-ENTITY-SOURCE-ID", clean(self.source_id)),
        ]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A templated route; `write` means "may change state, so never re-send blindly"."""

    method: str
    template: str
    write: bool = False
    authenticated: bool = True
    carries_secrets: bool = False
    key: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.method} {self.template}")

    def path(self, params: Mapping[str, str | int] | None) -> str:
        if not params:
            return self.template
        return self.template.format_map({k: quote(str(v), safe="") for k, v in params.items()})


ADD_CUSTOMER = Endpoint("POST", "/v2/customers", write=True)
UPDATE_CUSTOMER = Endpoint("PUT", "/v2/customers/{userId}", write=True)
UPDATE_CUSTOMER_BY_LOOKUP = Endpoint("PUT", "/v2/customers/lookup", write=True)
BULK_UPSERT = Endpoint("POST", "/v2/integrations/customer/upsert/bulk", write=True)
UPDATE_CUSTOMER_V11 = Endpoint("POST", "/v1.1/customer/update", write=True)
LOOKUP_CUSTOMER = Endpoint("GET", "/v2/customers/lookup/customerDetails")
LOOKUP_CUSTOMER_ID = Endpoint("GET", "/v2/customers/lookup")
GET_CUSTOMER = Endpoint("GET", "/v2/customers/{customerId}")
SEARCH_CUSTOMERS = Endpoint("GET", "/v2/customers/search")
CHANGE_IDENTIFIER = Endpoint("POST", "/v2/customers/{userId}/changeIdentifier", write=True)
GET_SUBSCRIPTIONS = Endpoint("GET", "/v2/customers/{customerId}/subscriptions")
GET_SUBSCRIPTIONS_BY_LOOKUP = Endpoint("GET", "/v2/customers/lookup/subscriptions")
UPDATE_SUBSCRIPTIONS = Endpoint("POST", "/v2/customers/{customerId}/subscriptions", write=True)
UPDATE_SUBSCRIPTIONS_BY_LOOKUP = Endpoint("POST", "/v2/customers/lookup/subscriptions", write=True)
CHANGE_STATUS = Endpoint("PUT", "/v2/customers/lookup/status", write=True)
GET_STATUS_LOG = Endpoint("GET", "/v2/customers/{userId}/statusLog")
GET_EXTENDED_FIELDS = Endpoint("GET", "/v2/extendedFields")
GET_EXTENDED_FIELD_CONFIG = Endpoint("GET", "/v2/entity/extendedFieldConfig")
GET_AUDIT_LOGS = Endpoint("GET", "/api_gateway/v2/audits")
GET_CARD = Endpoint("GET", "/v2/card")
# Issuing a token changes nothing that matters, so it is retried like a read.
GENERATE_TOKEN = Endpoint(
    "POST", "/v3/oauth/token/generate", authenticated=False, carries_secrets=True
)

ENDPOINT_KEYS: tuple[str, ...] = tuple(
    endpoint.key
    for endpoint in (
        ADD_CUSTOMER,
        UPDATE_CUSTOMER,
        UPDATE_CUSTOMER_BY_LOOKUP,
        BULK_UPSERT,
        UPDATE_CUSTOMER_V11,
        LOOKUP_CUSTOMER,
        LOOKUP_CUSTOMER_ID,
        GET_CUSTOMER,
        SEARCH_CUSTOMERS,
        CHANGE_IDENTIFIER,
        GET_SUBSCRIPTIONS,
        GET_SUBSCRIPTIONS_BY_LOOKUP,
        UPDATE_SUBSCRIPTIONS,
        UPDATE_SUBSCRIPTIONS_BY_LOOKUP,
        CHANGE_STATUS,
        GET_STATUS_LOG,
        GET_EXTENDED_FIELDS,
        GET_EXTENDED_FIELD_CONFIG,
        GET_AUDIT_LOGS,
        GET_CARD,
        GENERATE_TOKEN,
    )
)

_UPSERT_ENTRIES = TypeAdapter(list[UpsertEntry])


def _encode(body: WireModel | list[UpsertEntry] | dict[str, str]) -> bytes:
    if isinstance(body, BaseModel):
        return body.model_dump_json(by_alias=True, exclude_none=True).encode()
    if isinstance(body, list):
        return _UPSERT_ENTRIES.dump_json(body, by_alias=True, exclude_none=True)
    return json.dumps(body, separators=(",", ":")).encode()


def _coerce(model: type[M], value: M | Mapping[str, Any]) -> M:
    return value if isinstance(value, model) else model.model_validate(value)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _query(**values: QueryValue | None) -> dict[str, str]:
    return {
        key: _flag(value) if isinstance(value, bool) else str(value)
        for key, value in values.items()
        if value is not None
    }


def _actor_headers(actor: UserContext | None) -> WireHeaders:
    return actor.headers() if actor is not None else []


class CapillaryClient:
    """Capillary's customer APIs over one pooled `httpx.Client`; keep one per process."""

    def __init__(
        self,
        base_url: str,
        auth: BasicAuth | OAuthAuth,
        *,
        transport: httpx.BaseTransport | None = None,
        timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen dataclass, safe to share
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen dataclass, safe to share
        rate_limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._auth = auth
        self._basic_headers: WireHeaders = (
            [(k.encode(), v.encode()) for k, v in auth.headers().items()]
            if isinstance(auth, BasicAuth)
            else []
        )
        self._retry = retry
        self._limiter = rate_limiter
        self._sleep = sleep
        self._clock = clock
        self._http = httpx.Client(
            base_url=base_url,
            transport=transport,
            timeout=timeouts.as_httpx(),
            headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CapillaryClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CapillaryClient({str(self._http.base_url)!r}, {self._auth!r})"

    # --- E1-E4: writes ------------------------------------------------------

    def add_customer(
        self,
        customer: AddCustomerRequest | Mapping[str, Any],
        *,
        actor: UserContext | None = None,
        wait_for_downstream: bool = True,
        raw_side_effects: bool = False,
        enroll_in_all_programs: bool | None = None,
    ) -> WriteResponse:
        """E1 `POST /v2/customers`: register a customer, or a new source account of one.

        `wait_for_downstream=False` returns before loyalty processing (no side
        effects). Raises `pydantic.ValidationError` before sending when the body
        breaks a documented limit; `Rejected` (e.g. 8006 exists, 8014 bad mobile,
        3217 bad source), `Unavailable`, `RateLimited`, `AuthFailed`,
        `IntegrationError`.
        """
        body = _coerce(AddCustomerRequest, customer)
        return self._send(
            ADD_CUSTOMER,
            WriteResponse,
            query=_query(
                rawSideEffects=raw_side_effects or None,
                mlp_single_enroll=enroll_in_all_programs,
            ),
            body=body,
            headers=[
                (b"WAIT_FOR_DOWNSTREAM", _flag(wait_for_downstream).encode()),
                *_actor_headers(actor),
            ],
        )

    def update_customer(
        self,
        user_id: int,
        changes: UpdateCustomerRequest | Mapping[str, Any],
        *,
        source: str,
        account_id: str | None = None,
        actor: UserContext | None = None,
        use_async: bool = False,
    ) -> WriteResponse:
        """E2 `PUT /v2/customers/{userId}`: names, fields, channels, loyalty type, enrolments.

        Raises `ValidationError` before sending; `NotFound` (8015); `Rejected`
        (3217 bad source account, 8018 loyalty to non-loyalty, ...); `Unavailable`
        (`outcome_unknown` after a timeout), `RateLimited`, `AuthFailed`,
        `IntegrationError`.
        """
        body = _coerce(UpdateCustomerRequest, changes)
        where = SourceAccount.model_validate({"source": source, "accountId": account_id})
        return self._send(
            UPDATE_CUSTOMER,
            WriteResponse,
            path_params={"userId": user_id},
            query={**where.to_query(), "use_async": _flag(use_async)},
            body=body,
            headers=_actor_headers(actor),
        )

    def update_customer_by_lookup(
        self,
        lookup: CustomerLookup,
        changes: UpdateCustomerRequest | Mapping[str, Any],
        *,
        actor: UserContext | None = None,
        use_async: bool = False,
    ) -> WriteResponse:
        """E2b `PUT /v2/customers/lookup`: as `update_customer`, addressed by identifier.

        Raises as `update_customer`.
        """
        body = _coerce(UpdateCustomerRequest, changes)
        return self._send(
            UPDATE_CUSTOMER_BY_LOOKUP,
            WriteResponse,
            query={**lookup.to_query(), "use_async": _flag(use_async)},
            body=body,
            headers=_actor_headers(actor),
        )

    def bulk_upsert(
        self,
        entries: Sequence[UpsertEntry | Mapping[str, Any]],
        *,
        skip_change_identifier: bool = False,
        actor: UserContext | None = None,
    ) -> BulkUpsertResponse:
        """E3 `POST /v2/integrations/customer/upsert/bulk`: look up, then update or add, per entry.

        Items fail one by one: their errors are in `response[i].errors` and are
        never raised, even when every item failed. Raises `ValidationError`
        (locations start with the entry index) before sending; `Rejected` for a
        request-level refusal (e.g. 1060 batch too large); `Unavailable`,
        `RateLimited`, `AuthFailed`, `IntegrationError`.
        """
        models = _UPSERT_ENTRIES.validate_python(list(entries))
        return self._send(
            BULK_UPSERT,
            BulkUpsertResponse,
            query={"skipChangeIdentifier": _flag(skip_change_identifier)},
            body=models,
            headers=_actor_headers(actor),
        )

    def update_customer_v11(
        self,
        *customers: V11CustomerUpdate | Mapping[str, Any],
        actor: UserContext | None = None,
    ) -> V11UpdateResponse:
        """E4 `POST /v1.1/customer/update`: legacy update, `{"root": {"customer": [...]}}`.

        Per-customer outcomes are in `customers[i].item_status`; only a failure
        without per-customer results raises. Raises `ValidationError` before
        sending; `AuthFailed`, `Rejected`, `Unavailable`, `RateLimited`,
        `IntegrationError`.
        """
        body = V11UpdateRequest.of(*(_coerce(V11CustomerUpdate, c) for c in customers))
        return self._send(
            UPDATE_CUSTOMER_V11,
            V11UpdateResponse,
            query={"format": "json"},
            body=body,
            headers=_actor_headers(actor),
        )

    # --- E5-E6: reads -------------------------------------------------------

    def lookup_customer(
        self,
        lookup: CustomerLookup,
        *,
        embed: Iterable[str] = (),
        extra_query: Mapping[str, QueryValue] | None = None,
    ) -> Customer:
        """E5 `GET /v2/customers/lookup/customerDetails`: the full customer by identifier.

        `embed` adds sections (`points`, `subscriptions`, `mlp`, ...). Raises
        `NotFound` (8015, 8065); `Rejected` (8013 bad identifier name, 8045 no
        account id, 8069 merged); `Unavailable`, `RateLimited`, `AuthFailed`,
        `IntegrationError`.
        """
        query = {**lookup.to_query(), **_query(**(extra_query or {}))}
        if embed:
            query["embed"] = ",".join(embed)
        return self._send(LOOKUP_CUSTOMER, Customer, query=query)

    def lookup_customer_id(self, lookup: CustomerLookup) -> CustomerIdResponse:
        """E5b `GET /v2/customers/lookup`: only the customer id (`entity`) by identifier.

        Raises `NotFound` (8015, 8065); `Rejected` (8013, 8045, 8011);
        `Unavailable`, `RateLimited`, `AuthFailed`, `IntegrationError`.
        """
        return self._send(LOOKUP_CUSTOMER_ID, CustomerIdResponse, query=lookup.to_query())

    def get_customer(
        self,
        customer_id: int,
        *,
        source: str,
        account_id: str | None = None,
        embed: Iterable[str] = (),
        language: str | None = None,
        extra_query: Mapping[str, QueryValue] | None = None,
    ) -> Customer:
        """E6 `GET /v2/customers/{customerId}`: the full customer by id (`source` may be ALL).

        Raises `NotFound` (8015, 8065, or a 404); `Rejected` (8012 bad source,
        8045, 8069 merged, a blank 400); `Unavailable`, `RateLimited`,
        `AuthFailed`, `IntegrationError`.
        """
        where = ReadSourceAccount.model_validate({"source": source, "accountId": account_id})
        query = {**where.to_query(), **_query(**(extra_query or {}))}
        if embed:
            query["embed"] = ",".join(embed)
        headers = [(b"language", language.encode())] if language else []
        return self._send(
            GET_CUSTOMER,
            Customer,
            path_params={"customerId": customer_id},
            query=query,
            headers=headers,
        )

    def search_customers(self, q: str, limit: int = 10, offset: int = 0) -> CustomerSearchResponse:
        """E13 `GET /v2/customers/search`: customers whose first name, last name or any
        registered identifier starts with `q`, in every source, one page at a time.

        Each hit (`data[]`) has its `user_id`, the `matched_identifiers` (`id_type`
        is `firstName`, `lastName` or an identifier type such as `mobile`) and the
        names of its `profiles`; `pagination` echoes `limit` and `offset` and says
        `total`. Capillary matches the keyword as given: normalise phone numbers
        and emails first. Raises `ValidationError` for an empty `q`, `limit` outside
        1-100 or a negative `offset`; `Rejected`, `Unavailable`, `RateLimited`,
        `AuthFailed`, `IntegrationError`.
        """
        query = CustomerSearchQuery.model_validate({"q": q, "limit": limit, "offset": offset})
        return self._send(SEARCH_CUSTOMERS, CustomerSearchResponse, query=query.to_query())

    # --- E7-E9: identifiers, subscriptions, status ----------------------------

    def change_identifier(
        self,
        user_id: int,
        change: ChangeIdentifierRequest | Mapping[str, Any],
        *,
        source: str,
        account_id: str | None = None,
        actor: UserContext | None = None,
        use_async: bool = False,
    ) -> WriteResponse:
        """E7 `POST /v2/customers/{userId}/changeIdentifier`: add/remove identifiers, link cards.

        Raises `ValidationError` before sending; `NotFound` (8015, 8009);
        `Rejected` (8007/8008 identifier taken, 8066, 8067, card codes 30xx);
        `Unavailable`, `RateLimited`, `AuthFailed`, `IntegrationError`.
        """
        body = _coerce(ChangeIdentifierRequest, change)
        where = SourceAccount.model_validate({"source": source, "accountId": account_id})
        return self._send(
            CHANGE_IDENTIFIER,
            WriteResponse,
            path_params={"userId": user_id},
            query={**where.to_query(), "use_async": _flag(use_async)},
            body=body,
            headers=_actor_headers(actor),
        )

    def get_subscriptions(self, customer: int | CustomerLookup) -> SubscriptionsResponse:
        """E8 `GET /v2/customers/{customerId}/subscriptions` (or `/lookup/subscriptions`).

        Raises `NotFound` (8015, 1012); `Rejected`; `Unavailable`, `RateLimited`,
        `AuthFailed`, `IntegrationError`.
        """
        if isinstance(customer, CustomerLookup):
            return self._send(
                GET_SUBSCRIPTIONS_BY_LOOKUP, SubscriptionsResponse, query=customer.to_query()
            )
        return self._send(
            GET_SUBSCRIPTIONS, SubscriptionsResponse, path_params={"customerId": customer}
        )

    def update_subscriptions(
        self,
        customer: int | CustomerLookup,
        change: SubscriptionChange | Mapping[str, Any],
        *,
        actor: UserContext | None = None,
    ) -> SubscriptionsResponse:
        """E8 `POST /v2/customers/{customerId}/subscriptions` (or `/lookup/subscriptions`).

        Raises `ValidationError` before sending; `NotFound` (1012, 8015);
        `Rejected` (1101-1110, 91022, 500 "all requests failed"); `Unavailable`,
        `RateLimited`, `AuthFailed`, `IntegrationError`.
        """
        body = _coerce(SubscriptionChange, change)
        if isinstance(customer, CustomerLookup):
            return self._send(
                UPDATE_SUBSCRIPTIONS_BY_LOOKUP,
                SubscriptionsResponse,
                query=customer.to_query(),
                body=body,
                headers=_actor_headers(actor),
            )
        return self._send(
            UPDATE_SUBSCRIPTIONS,
            SubscriptionsResponse,
            path_params={"customerId": customer},
            body=body,
            headers=_actor_headers(actor),
        )

    def change_status(
        self,
        lookup: CustomerLookup,
        change: StatusChange | Mapping[str, Any],
        *,
        actor: UserContext | None = None,
        use_async: bool = False,
    ) -> WriteResponse:
        """E9 `PUT /v2/customers/lookup/status`: move the customer to a status label.

        Raises `ValidationError` before sending; `NotFound` (8015); `Rejected`
        (8086 unknown label, 3042 deleted, 3044 disabled, 8003, 8013);
        `Unavailable`, `RateLimited`, `AuthFailed`, `IntegrationError`.
        """
        body = _coerce(StatusChange, change)
        return self._send(
            CHANGE_STATUS,
            WriteResponse,
            query={**lookup.to_query(), "use_async": _flag(use_async)},
            body=body,
            headers=_actor_headers(actor),
        )

    def get_status_log(self, user_id: int) -> StatusLogResponse:
        """E9 `GET /v2/customers/{userId}/statusLog`: the customer's status label history.

        Raises `NotFound`, `Rejected`, `Unavailable`, `RateLimited`, `AuthFailed`,
        `IntegrationError`.
        """
        return self._send(GET_STATUS_LOG, StatusLogResponse, path_params={"userId": user_id})

    # --- E10-E12: catalogue, audit, token ------------------------------------

    def get_extended_fields(self, *, language: str | None = None) -> ExtendedFieldsResponse:
        """E10 `GET /v2/extendedFields`: the org's extended fields, grouped by entity.

        Raises `Rejected`, `Unavailable`, `RateLimited`, `AuthFailed`, `IntegrationError`.
        """
        headers = [(b"language", language.encode())] if language else []
        return self._send(GET_EXTENDED_FIELDS, ExtendedFieldsResponse, headers=headers)

    def get_extended_field_config(self) -> ExtendedFieldConfigResponse:
        """E10 `GET /v2/entity/extendedFieldConfig`: per-field flags (mandatory, updatable, ...).

        Raises `Rejected`, `Unavailable`, `RateLimited`, `AuthFailed`, `IntegrationError`.
        """
        return self._send(GET_EXTENDED_FIELD_CONFIG, ExtendedFieldConfigResponse)

    def get_audit_logs(
        self,
        entity_id: int,
        *,
        entity_type: str = "CUSTOMER",
        source: str | None = None,
        limit: int = 10,
        page_no: int = 0,
        sort_by: str | None = None,
        sort_order: str | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
        reference_type: str | None = None,
        reference_value: str | None = None,
        include_user_context: bool = True,
    ) -> AuditLogResponse:
        """E11 `GET /api_gateway/v2/audits`: Capillary's change history of a customer or card.

        Dates are `YYYY-MM-DD HH:MM:SS`; `reference_type` narrows to one kind of
        change (`CustomerStatus`, `Identifier`, ...). Raises `ValidationError` for
        bad filters; `Rejected`, `Unavailable`, `RateLimited`, `AuthFailed`,
        `IntegrationError`.
        """
        query = AuditLogQuery.model_validate(
            {
                "entity_id": entity_id,
                "entity_type": entity_type,
                "source": source,
                "limit": limit,
                "page_no": page_no,
                "sort_by": sort_by,
                "sort_order": sort_order,
                "start_date": start_date,
                "end_date": end_date,
                "reference_type": reference_type,
                "reference_value": reference_value,
                "include_user_context": include_user_context,
            }
        )
        return self._send(GET_AUDIT_LOGS, AuditLogResponse, query=query.to_query())

    def get_card(self, number: str) -> CardDetailsResponse:
        """`GET /v2/card?number=`: a card's series, status label, holder and dates.

        Raises `ValueError` for an empty number, before sending; `Rejected` (3010
        no such card), `Unavailable`, `RateLimited`, `AuthFailed`, `IntegrationError`.
        """
        if not number.strip():
            raise ValueError("a card number is required")
        return self._send(GET_CARD, CardDetailsResponse, query={"number": number.strip()})

    def generate_token(self, client_key: str, client_secret: str) -> TokenResponse:
        """E12 `POST /v3/oauth/token/generate`: a short-lived OAuth token (`data.access_token`).

        `OAuthAuth` calls this itself; the token is a `SecretStr`. Raises
        `AuthFailed` (320001 invalid key and secret), `Unavailable`,
        `RateLimited`, `IntegrationError`.
        """
        return self._send(
            GENERATE_TOKEN,
            TokenResponse,
            body={"key": client_key, "secret": client_secret},
        )

    # --- the choke point ----------------------------------------------------

    def _fetch_token(self, client_key: str, client_secret: str) -> tuple[str, int]:
        answer = self.generate_token(client_key, client_secret)
        if answer.data is None:
            raise AuthFailed("Capillary issued no token", meta=answer.meta)
        return answer.data.access_token.get_secret_value(), answer.data.ttl_seconds

    def _credentials(self, endpoint: Endpoint) -> tuple[WireHeaders, str | None]:
        if not endpoint.authenticated:
            return [], None
        if isinstance(self._auth, OAuthAuth):
            token = self._auth.token(self._fetch_token, self._clock)
            return [(OAuthAuth.HEADER.encode(), token.encode())], token
        return self._basic_headers, None

    def _send(
        self,
        endpoint: Endpoint,
        model: type[R],
        *,
        path_params: Mapping[str, str | int] | None = None,
        query: Mapping[str, str] | None = None,
        body: WireModel | list[UpsertEntry] | dict[str, str] | None = None,
        headers: WireHeaders | None = None,
    ) -> R:
        path = endpoint.path(path_params)
        query = dict(query or {})
        request_headers = list(headers or ())
        content = None
        if body is not None:
            content = _encode(body)
            request_headers.append((b"Content-Type", b"application/json"))
        started = self._clock()
        attempts = 0
        refreshed = False
        status: int | None = None
        request_id: str | None = None
        answer: Any = None

        def meta(failed: bool) -> CallMeta:
            # Successful answers are Capillary's data and are kept as they are;
            # failures may be pages from a proxy that echo our headers.
            secrets = self._auth.secrets()
            request_body = None if content is None else from_json(content)
            if endpoint.carries_secrets:
                request_body = redact(request_body, secrets)
            if failed or endpoint.carries_secrets:
                response_body = redact(answer, secrets)
            else:
                response_body = answer
            return CallMeta(
                method=endpoint.method,
                path=path,
                endpoint=endpoint.key,
                query=query,
                request_body=request_body,
                status=status,
                request_id=request_id,
                response_body=response_body,
                duration_ms=round((self._clock() - started) * 1000, 3),
                attempts=attempts,
            )

        try:
            while True:
                attempts += 1
                # What meta reports is the last attempt's, never a mix of two.
                status, request_id, answer = None, None, None
                if self._limiter is not None:
                    self._limiter.acquire(endpoint.key)
                auth_headers, token = self._credentials(endpoint)
                try:
                    response = self._http.request(
                        endpoint.method,
                        path,
                        # An empty mapping would still make httpx rebuild the URL.
                        params=query or None,
                        content=content,
                        headers=request_headers + auth_headers,
                    )
                except httpx.TransportError as exc:
                    surely_not_sent = isinstance(exc, SURELY_NOT_SENT)
                    if (surely_not_sent or not endpoint.write) and self._pause(
                        attempts, started, None
                    ):
                        continue
                    outcome_unknown = endpoint.write and not surely_not_sent
                    detail = scrub(f"{type(exc).__name__}: {exc}", self._auth.secrets())
                    raise Unavailable(
                        f"no answer from Capillary ({detail})", outcome_unknown=outcome_unknown
                    ) from None
                status = response.status_code
                request_id = response.headers.get("X-Cap-Requestid")
                answer, is_json = decode(response)
                if (
                    token is not None
                    and isinstance(self._auth, OAuthAuth)
                    and status in (401, 498)
                    and not refreshed
                ):
                    refreshed = True
                    self._auth.invalidate(token)
                    continue
                retry_after = None
                if status >= 400:
                    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                if is_transient(status, answer, write=endpoint.write) and self._pause(
                    attempts, started, retry_after
                ):
                    continue
                result = interpret(
                    model,
                    status,
                    answer,
                    is_json,
                    write=endpoint.write,
                    retry_after=retry_after,
                    reason=response.reason_phrase if status >= 300 else "",
                )
                break
        except CapillaryError as error:
            error.meta = meta(failed=True)
            error.message = scrub(error.message, self._auth.secrets())
            error.args = (error.message,)
            self._log(error.meta, error)
            raise
        call = meta(failed=False)
        self._log(call, None)
        return result.with_meta(call)

    def _pause(self, attempts: int, started: float, retry_after: float | None) -> bool:
        """Sleep before another attempt and return True, or return False when out of budget."""
        policy = self._retry
        if attempts >= policy.max_attempts:
            return False
        delay = retry_after if retry_after is not None else policy.backoff(attempts)
        if self._clock() - started + delay > policy.total_budget:
            return False
        self._sleep(delay)
        return True

    @staticmethod
    def _log(call: CallMeta, error: CapillaryError | None) -> None:
        if error is None:
            logger.info(
                "%s %s -> %s request_id=%s duration_ms=%.1f attempts=%d",
                call.method,
                call.path,
                call.status,
                call.request_id,
                call.duration_ms,
                call.attempts,
            )
        else:
            logger.warning(
                "%s %s -> %s %s request_id=%s duration_ms=%.1f attempts=%d",
                call.method,
                call.path,
                call.status,
                type(error).__name__,
                call.request_id,
                call.duration_ms,
                call.attempts,
            )
