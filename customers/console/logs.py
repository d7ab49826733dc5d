"""Log lines an operator can follow: each carries its request's id and the user.

`RequestIdMiddleware` gives every request an id (the proxy's `X-Request-ID` when
it sends a sane one, else a new one), returns it in the response header and
keeps the request in a context variable for `RequestContextFilter`, which puts
`request_id` and `user` on every record logged while the request runs. With
`LOG_FORMAT=json` each line is one JSON object (`JsonFormatter`).
"""

import json
import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

_current: ContextVar[HttpRequest | None] = ContextVar("membercare_request", default=None)
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.headers.get("X-Request-ID", "")
        request.id = offered if _SANE_ID.fullmatch(offered) else uuid.uuid4().hex  # type: ignore[attr-defined]
        token = _current.set(request)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response["X-Request-ID"] = request.id  # type: ignore[attr-defined]
        return response


def username_of(request: HttpRequest | None) -> str:
    """The signed-in username, "-" for none, without loading a user nobody asked for yet."""
    user = getattr(request, "user", None)
    if user is None or getattr(user, "_wrapped", None) is empty:
        return "-"
    return str(user.get_username()) if user.is_authenticated else "anonymous"


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request = _current.get()
        if not hasattr(record, "request_id"):
            record.request_id = getattr(request, "id", "-")
        if not hasattr(record, "user"):
            record.user = username_of(request)
        return True


class DropForbidden(logging.Filter):
    """django.request's 403 record carries a traceback; the 403 handler logs one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", None) != 403


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "user": getattr(record, "user", "-"),
        }
        for key in ("status_code", "path", "method", "capability"):
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def carrying_request(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function`, run in a pool thread, logging under the calling request's id and user."""
    request = _current.get()

    def run(*args: Any, **kwargs: Any) -> Any:
        token = _current.set(request)
        try:
            return function(*args, **kwargs)
        finally:
            _current.reset(token)

    return run
