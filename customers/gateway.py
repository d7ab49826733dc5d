"""The process's one CapillaryClient, built from settings, and the org catalogue.

With CAPILLARY_BASE_URL empty the client talks to the embedded emulator
in-process; its state file is shared by the web process and the workers.
The catalogue (sources and accounts, status labels, programs, card series,
custom fields) has no Capillary read API among the customer endpoints, so it is
read from an org file in the emulator's format: the emulator's own file by
default, or CAPILLARY_ORG_CATALOGUE for a real cluster.
"""

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings

from customers.capillary.auth import BasicAuth, OAuthAuth
from customers.capillary.client import CapillaryClient, UserContext
from customers.capillary.errors import CapillaryError
from customers.capillary.ratelimit import (
    InMemoryRateLimiter,
    PostgresRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    SqliteRateLimiter,
)
from customers.capillary.transport import Timeouts

# Requests per minute per endpoint: the EMEA row of Capillary's rate-limit table
# (API_REFERENCE §1.6), and 1000 an hour for changeIdentifier. CAPILLARY_RATE_LIMITS
# overrides any of them for the org's real quota.
DEFAULT_RATE_LIMITS = {
    "POST /v2/customers": 100,
    "PUT /v2/customers/{userId}": 50,
    "PUT /v2/customers/lookup": 50,
    "POST /v1.1/customer/update": 300,
    "POST /v2/customers/{userId}/changeIdentifier": 16,
    "default": 1000,
}
EMULATOR_BASE_URL = "http://capillary-emulator.invalid"
# Capillary itself takes up to an hour to show extended-field changes to the v2
# APIs (API_REFERENCE §1.9.10), so a few minutes of caching loses nothing.
EXTENDED_FIELDS_TTL_SECONDS = 300

logger = logging.getLogger(__name__)
_extended_fields: tuple[float, list[dict[str, Any]]] | None = None

_lock = threading.Lock()
_client: CapillaryClient | None = None
_emulator: Any = None


def get_emulator() -> Any:
    """The in-process emulator (only when no real cluster is configured)."""
    global _emulator
    with _lock:
        if _emulator is None:
            from customers.capillary_emulator import Emulator

            _emulator = Emulator(
                settings.CAPILLARY_EMULATOR_STATE, settings.CAPILLARY_EMULATOR_ORG or None
            )
        return _emulator


def get_client() -> CapillaryClient:
    global _client
    if _client is None:
        transport = None if settings.CAPILLARY_BASE_URL else get_emulator().transport()
        client = CapillaryClient(
            settings.CAPILLARY_BASE_URL or EMULATOR_BASE_URL,
            _auth(),
            transport=transport,
            timeouts=Timeouts(
                connect=settings.CAPILLARY_CONNECT_TIMEOUT, read=settings.CAPILLARY_READ_TIMEOUT
            ),
            rate_limiter=_rate_limiter(),
        )
        with _lock:
            if _client is None:
                _client = client
            else:
                client.close()
    return _client


def reset() -> None:
    """Forget the client and emulator (tests, and after settings change)."""
    global _client, _emulator, _extended_fields
    with _lock:
        if _client is not None:
            _client.close()
        _client = None
        _emulator = None
        _extended_fields = None
    catalogue.cache_clear()


def _auth() -> BasicAuth | OAuthAuth:
    if settings.CAPILLARY_AUTH == "oauth":
        return OAuthAuth(settings.CAPILLARY_CLIENT_KEY, settings.CAPILLARY_CLIENT_SECRET)
    return BasicAuth(settings.CAPILLARY_TILL_CODE, settings.CAPILLARY_TILL_PASSWORD)


def _rate_limiter() -> RateLimiter:
    """The backend settings chose (see CAPILLARY_RATE_LIMIT_BACKEND in settings)."""
    limits = {**DEFAULT_RATE_LIMITS, **settings.CAPILLARY_RATE_LIMITS}
    margin = settings.CAPILLARY_RATE_LIMIT_MARGIN_MS / 1000
    backend = settings.CAPILLARY_RATE_LIMIT_BACKEND
    if backend == "redis":
        return RedisRateLimiter(settings.REDIS_URL, limits, margin=margin)
    if backend == "postgres":
        return PostgresRateLimiter(_postgres_conninfo(), limits, margin=margin)
    state = settings.CAPILLARY_RATE_LIMIT_STATE
    if backend == "memory" or state == ":memory:":
        return InMemoryRateLimiter(limits, margin=margin)
    return SqliteRateLimiter(state, limits, margin=margin)


def _postgres_conninfo() -> str:
    """libpq's connection string for the console's own database."""
    from psycopg.conninfo import make_conninfo

    database = settings.DATABASES["default"]
    options = {
        "host": database.get("HOST") or None,
        "port": str(database.get("PORT") or "") or None,
        "dbname": database.get("NAME"),
        "user": database.get("USER") or None,
        "password": database.get("PASSWORD") or None,
    }
    for name in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
        if database.get("OPTIONS", {}).get(name):
            options[name] = database["OPTIONS"][name]
    return make_conninfo(**{key: value for key, value in options.items() if value})


def actor_context(user: Any) -> UserContext:
    """Who is acting, for Capillary's USER-CONTEXT-ENTITY-* headers and audit log."""
    name = user.get_full_name() or user.get_username()
    return UserContext(entity_id=f"staff:{user.pk}", source_id=name)


@dataclass(frozen=True)
class Catalogue:
    sources: dict[str, list[str]]
    status_labels: list[dict[str, Any]]
    default_status_label: str
    programs: list[dict[str, Any]]
    card_series: list[dict[str, Any]]
    card_status_labels: list[str]
    custom_fields: list[dict[str, Any]] = field(default_factory=list)
    # The base country of the org's mobiles (Capillary's base-country config), so
    # a number typed with its trunk 0 or without a country code can be read.
    country_code: str = "91"
    national_length: int = 10
    # Alternate currency identifier (and Capillary's short name) -> the name staff know.
    currency_names: dict[str, str] = field(default_factory=dict)

    def currency_name(self, identifier: str, code: str = "") -> str:
        return self.currency_names.get(identifier) or self.currency_names.get(code) or ""

    @property
    def status_label_names(self) -> list[str]:
        return [label["label"] for label in self.status_labels]

    def status_of(self, label: str) -> str:
        for item in self.status_labels:
            if item["label"] == label:
                return str(item.get("status", ""))
        return ""

    def accounts_for(self, source: str) -> list[str]:
        return self.sources.get(source, [])


def _catalogue_path() -> Path:
    configured = getattr(settings, "CAPILLARY_ORG_CATALOGUE", "") or (
        settings.CAPILLARY_EMULATOR_ORG
    )
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent / "capillary_emulator" / "default_org.json"


@cache
def catalogue() -> Catalogue:
    raw = json.loads(_catalogue_path().read_text())
    status = raw.get("customer_status", {})
    mobile = raw.get("mobile", {})
    country_code = str(mobile.get("base_country_code") or "91")
    base_rule: dict[str, Any] = next(
        (r for r in mobile.get("rules", []) if str(r.get("country_code")) == country_code), {}
    )
    return Catalogue(
        country_code=country_code,
        national_length=int(base_rule.get("length") or 10),
        sources={name: list(accounts) for name, accounts in raw.get("sources", {}).items()},
        status_labels=list(status.get("labels", [])),
        default_status_label=status.get("default_label") or "",
        programs=list(raw.get("programs", [])),
        card_series=list(raw.get("card_series", [])),
        card_status_labels=[item["label"] for item in raw.get("card_status_labels", [])],
        custom_fields=list(raw.get("custom_fields", [])),
        currency_names=_currency_names(raw),
    )


def _currency_names(raw: dict[str, Any]) -> dict[str, str]:
    """The org's alternate currency by its identifier and its short name (`display_name`)."""
    currency = (raw.get("promotions") or {}).get("alternate_currency") or {}
    shown = currency.get("display_name")
    if not shown:
        return {}
    return {
        str(key): str(shown) for key in (currency.get("identifier"), currency.get("name")) if key
    }


def extended_field_specs() -> list[dict[str, Any]]:
    """The org's customer extended fields (E10 catalogue joined with its config), cached.

    Each spec: name, label, data_type, values (for enums), updatable. Fields the
    config hides are left out. When Capillary cannot be asked, forms go on
    without extended fields rather than failing (and the failure is not cached).
    """
    global _extended_fields
    cached = _extended_fields
    if cached is not None and time.monotonic() - cached[0] < EXTENDED_FIELDS_TTL_SECONDS:
        return cached[1]
    client = get_client()
    try:
        fields = client.get_extended_fields()
        config = {item.extended_field_id: item for item in client.get_extended_field_config().data}
    except CapillaryError as error:
        logger.warning("extended-field catalogue unavailable: %s", error)
        return []
    customer = next((v for k, v in fields.entity.items() if k.lower() == "customer"), [])
    specs = []
    for field_spec in customer:
        setting = config.get(field_spec.id) if field_spec.id is not None else None
        if setting is not None and setting.hide_display:
            continue
        extra = field_spec.model_extra or {}
        specs.append(
            {
                "name": field_spec.name,
                "label": field_spec.label or field_spec.name.replace("_", " ").capitalize(),
                "data_type": field_spec.data_type or "STRING",
                "values": [str(v) for v in extra.get("possibleValues") or []],
                "updatable": setting is None or setting.updatable is not False,
            }
        )
    _extended_fields = (time.monotonic(), specs)
    return specs
