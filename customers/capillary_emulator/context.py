"""What every handler receives (``Ctx``) and how it answers (``Reply``, ``ApiError``)."""

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import codes
from .org import OrgConfig, Till
from .store import Store

JSONValue = Any


@dataclass
class Reply:
    status: int
    body: JSONValue
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """A refused request, rendered as ``{"warnings": [...], "errors": [...]}``."""

    def __init__(
        self,
        code: int,
        *args: Any,
        detail: str | None = None,
        status: int | None = None,
        warnings: list[dict[str, Any]] | None = None,
    ) -> None:
        self.entry = codes.entry(code, *args, detail=detail)
        super().__init__(self.entry["message"])
        self.code = code
        self.status = status
        self.warnings = warnings or []


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    request_id: str
    endpoint: str = ""
    template: str = ""
    params: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower().replace("_", "-"))

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean query parameter or header ("true"/"false", any case)."""
        raw = self.query.get(name)
        if raw is None:
            raw = self.header(name)
        return default if raw is None else raw.strip().lower() == "true"

    def json(self) -> JSONValue:
        if not self.body.strip():
            raise ApiError(codes.INVALID_INPUT, detail="Request body is missing")
        try:
            return json.loads(self.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(
                codes.INVALID_INPUT, detail=f"Request body is not valid JSON: {exc}"
            ) from exc

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise ApiError(codes.INVALID_INPUT, detail="Request body must be a JSON object")
        return body


@dataclass
class Ctx:
    store: Store
    org: OrgConfig
    clock: Callable[[], float]
    rng: random.Random
    request: Request
    till: Till

    def now(self) -> float:
        return self.clock()

    def user_context(self) -> dict[str, str | None]:
        """The USER-CONTEXT-* headers, stored with each change (reference §1.3)."""
        return {
            "entityType": self.request.header("user-context-entity-type"),
            "entityId": self.request.header("user-context-entity-id"),
            "entitySource": self.request.header("user-context-entity-source"),
            "entitySourceId": self.request.header("user-context-entity-source-id"),
        }


def ok(body: JSONValue, status: int = 200) -> Reply:
    return Reply(status, body)


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def v11_time(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def as_bool(value: Any) -> bool:
    """Capillary samples send booleans both as JSON booleans and as "true" strings."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def int_param(value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ApiError(codes.INVALID_INPUT, detail=f"Invalid number {value!r}") from exc
