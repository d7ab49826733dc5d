"""Timeouts, retry policy and the reading of Capillary's answers into models or errors.

Capillary's HTTP statuses do not reliably say whether a request succeeded
(a 200 may carry `errors`, a 500 may be a business refusal, a 400 may be blank),
so `interpret()` decides from the body first and falls back on the status only
when the body is not a usable answer.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError
from pydantic_core import from_json

from .errors import (
    ApiCode,
    AuthFailed,
    CapillaryError,
    IntegrationError,
    NotFound,
    RateLimited,
    Rejected,
    Unavailable,
)
from .schemas import CapillaryResponse

R = TypeVar("R", bound=CapillaryResponse)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds per phase; `connect` and `read` matter most (writes are never re-sent on read)."""

    connect: float = 3.0
    read: float = 10.0
    write: float = 10.0
    pool: float = 3.0

    def as_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by attempts and by total time."""

    max_attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 5.0
    total_budget: float = 15.0

    def backoff(self, retry_number: int) -> float:
        """Delay before retry `retry_number` (1 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry_number - 1))
        return random.uniform(0.0, ceiling)


# httpx raises these before a single byte of the request left this host.
SURELY_NOT_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)

# Capillary documents 461 and 521 as "busy, retry later" and 503 as "authorisation
# service unavailable": all three refuse before processing, like 429. So writes
# may be re-sent after them; never after a 500/502/504, which may follow a commit.
NOT_PROCESSED_STATUSES = frozenset({429, 461, 503, 521})
AUTH_STATUSES = frozenset({401, 403, 498})
AUTH_CODES = frozenset({401, 403, 498, 4000, 320001})
NOT_PROCESSED_CODES = frozenset({461, 503, 521, 4001})
NOT_FOUND_CODES = frozenset({816, 1011, 1012, 8009, 8015, 8065})
_GENERIC_FAILURE_CODE = 500

TEXT_LIMIT = 2000
REDACTED = "[redacted]"
SECRET_KEYS = frozenset(
    {"secret", "password", "accessToken", "access_token", "token", "authorization"}
)

_CODE_LIST = TypeAdapter(list[ApiCode])


def retry_after_seconds(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """`Retry-After` as seconds from now: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


def decode(response: httpx.Response) -> tuple[Any, bool]:
    """The body as JSON when it is JSON, else as (truncated) text; and which of the two.

    pydantic-core's parser reads the same JSON as `json.loads` in half the time.
    """
    content = response.content
    if content:
        try:
            return from_json(content), True
        except (ValueError, RecursionError):
            pass
    return content[:TEXT_LIMIT].decode("utf-8", "replace"), False


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of a JSON value without secret-named keys or any of the `secrets` strings."""
    secret_list = [s for s in secrets if s]

    def walk(item: Any) -> Any:
        if isinstance(item, dict):
            return {k: REDACTED if k in SECRET_KEYS else walk(v) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v) for v in item]
        if isinstance(item, str):
            return scrub(item, secret_list)
        return item

    return walk(value)


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def _error_codes(body: Any) -> list[ApiCode]:
    """Request-level error codes of a body; empty when the body reports success or per item."""
    if not isinstance(body, dict):
        return []
    envelope = body.get("response")
    if isinstance(envelope, list):
        return []
    if isinstance(envelope, dict) and isinstance(envelope.get("status"), dict):
        return _v11_request_failure(envelope)
    raw = body.get("errors") or body.get("error")
    if not raw:
        return []
    if isinstance(raw, dict):
        raw = [raw]
    try:
        return _CODE_LIST.validate_python(raw)
    except ValidationError as exc:
        raise IntegrationError(f"unreadable errors list: {_summary(exc)}") from None


def _v11_request_failure(envelope: dict[str, Any]) -> list[ApiCode]:
    # v1.1: a request-level "false" with customer items is a per-item outcome;
    # only a failure without items (auth, bad input) fails the request.
    status = envelope["status"]
    if str(status.get("success", "")).strip().lower() != "false":
        return []
    customers = envelope.get("customers")
    if isinstance(customers, dict) and customers.get("customer"):
        return []
    try:
        return [
            ApiCode.model_validate({"code": status.get("code"), "message": status.get("message")})
        ]
    except ValidationError:
        raise IntegrationError("unreadable v1.1 status") from None


def is_transient(status: int, body: Any, *, write: bool) -> bool:
    """Whether a response is worth repeating: a busy signal or (for reads) an outage."""
    if status in NOT_PROCESSED_STATUSES:
        return True
    if write or status < 500:
        return False
    # A 5xx that carries business codes is Capillary's considered answer.
    try:
        codes = {error.code for error in _error_codes(body)}
    except IntegrationError:
        return True
    return not (codes - NOT_PROCESSED_CODES - {_GENERIC_FAILURE_CODE})


def interpret(
    model: type[R],
    status: int,
    body: Any,
    is_json: bool,
    *,
    write: bool,
    retry_after: float | None,
    reason: str,
) -> R:
    """The answer as `model`, or raise the error it amounts to (without `meta` yet)."""
    if is_json and isinstance(body, dict | list):
        errors = _error_codes(body)
        if errors:
            warnings = _warnings(body)
            raise _error_for_codes(status, errors, warnings, retry_after)
        if 200 <= status < 300 or _looks_like_answer(model, body):
            try:
                return model.model_validate(body)
            except ValidationError as exc:
                raise IntegrationError(
                    f"body does not fit {model.__name__}: {_summary(exc)}"
                ) from None
            except (ValueError, TypeError) as exc:
                raise IntegrationError(f"body does not fit {model.__name__}: {exc}") from None
    raise _error_for_status(status, write=write, retry_after=retry_after, reason=reason)


def _summary(error: ValidationError) -> str:
    """Where and what, without the input values (which may be anything Capillary sent)."""
    problems = error.errors(include_url=False, include_input=False)
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def _looks_like_answer(model: type[CapillaryResponse], body: Any) -> bool:
    if isinstance(body, list):
        return "data" in model.success_keys
    return any(key in body for key in model.success_keys)


def _warnings(body: Any) -> list[ApiCode]:
    raw = body.get("warnings") if isinstance(body, dict) else None
    if not isinstance(raw, list):
        return []
    try:
        return _CODE_LIST.validate_python(raw)
    except ValidationError:
        return []


def _describe_codes(errors: list[ApiCode]) -> str:
    return "; ".join(f"{error.code} {error.message}".strip() for error in errors)


def _error_for_codes(
    status: int, errors: list[ApiCode], warnings: list[ApiCode], retry_after: float | None
) -> CapillaryError:
    codes = {error.code for error in errors}
    text = _describe_codes(errors)
    if status in AUTH_STATUSES or codes & AUTH_CODES:
        return AuthFailed(f"Capillary refused the credentials: {text}")
    if status == 429 or 429 in codes:
        return RateLimited(f"Capillary rate limit: {text}", retry_after=retry_after)
    if codes <= NOT_PROCESSED_CODES:
        return Unavailable(f"Capillary is busy: {text}", outcome_unknown=False)
    if codes <= NOT_FOUND_CODES:
        return NotFound(f"not found: {text}", errors=errors, warnings=warnings)
    return Rejected(f"Capillary rejected the request: {text}", errors=errors, warnings=warnings)


def _error_for_status(
    status: int, *, write: bool, retry_after: float | None, reason: str
) -> CapillaryError:
    label = f"HTTP {status} {reason}".strip()
    if status in AUTH_STATUSES:
        return AuthFailed(f"Capillary refused the credentials ({label})")
    if status == 404:
        return NotFound(label, errors=[ApiCode(code=404, message=reason)])
    if status == 429:
        return RateLimited(f"Capillary rate limit ({label})", retry_after=retry_after)
    if status in NOT_PROCESSED_STATUSES:
        return Unavailable(f"Capillary is busy ({label})", outcome_unknown=False)
    if status >= 500:
        return Unavailable(f"Capillary failed ({label})", outcome_unknown=write)
    if 400 <= status < 500:
        return Rejected(label, errors=[ApiCode(code=status, message=reason)])
    return IntegrationError(f"unreadable answer ({label})")
