"""Capillary CRM's customer APIs over HTTP: a typed client, its models and its errors.

Plain httpx + pydantic + stdlib, no Django, so it can be lifted out whole.
`CapillaryClient` has one method per endpoint; request models validate before
sending; every response and every error carries a secret-free `CallMeta`.
"""

from .auth import BasicAuth, OAuthAuth
from .client import ENDPOINT_KEYS, CapillaryClient, UserContext
from .errors import (
    CODES,
    ApiCode,
    AuthFailed,
    CallMeta,
    CapillaryError,
    CodeInfo,
    IntegrationError,
    NotFound,
    RateLimited,
    Rejected,
    Unavailable,
    describe,
)
from .ratelimit import (
    InMemoryRateLimiter,
    PostgresRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    SqliteRateLimiter,
)
from .schemas import field_errors
from .transport import RetryPolicy, Timeouts

__all__ = [
    "CODES",
    "ENDPOINT_KEYS",
    "ApiCode",
    "AuthFailed",
    "BasicAuth",
    "CallMeta",
    "CapillaryClient",
    "CapillaryError",
    "CodeInfo",
    "InMemoryRateLimiter",
    "IntegrationError",
    "NotFound",
    "OAuthAuth",
    "PostgresRateLimiter",
    "RateLimited",
    "RateLimiter",
    "RedisRateLimiter",
    "Rejected",
    "RetryPolicy",
    "SqliteRateLimiter",
    "Timeouts",
    "Unavailable",
    "UserContext",
    "describe",
    "field_errors",
]
