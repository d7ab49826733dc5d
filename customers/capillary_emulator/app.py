"""``Emulator``: one request in, Capillary's answer out.

The order of a request's life: route (404/405) → injected faults → auth
(401/498/403) → rate limits, per API key then per endpoint (429) → handler →
response headers. The control endpoints under ``/_emulator/`` skip everything but
routing: they exist only here, never on a real cluster (``control.py``).
"""

import json
import logging
import math
import os
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from . import auth, codes, control, faults, routes
from .context import ApiError, Ctx, Reply, Request
from .org import OrgConfig, OrgConfigError, Till
from .org_file import load_org_config
from .store import Store
from .transport import EmulatorTransport

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


log = logging.getLogger(__name__)

QueryInput = Mapping[str, str] | Sequence[tuple[str, str]]
_NO_TILL = Till(code="", password="", id=-1, name="", description="", access=frozenset())


class Emulator:
    def __init__(
        self,
        state_path: str = ":memory:",
        org: OrgConfig | str | None = None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.org = org if isinstance(org, OrgConfig) else load_org_config(org)
        self.store = Store(state_path)
        self._base_clock = clock
        self.sleep = sleep
        self._org_cache: dict[str, OrgConfig] = {}
        self.rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self.base_faults = faults.merge(
            self.org.faults, faults.from_env(os.environ.get("CAPILLARY_EMULATOR_FAULTS"))
        )

    # --- the public surface -------------------------------------------------
    def transport(self) -> EmulatorTransport:
        return EmulatorTransport(self)

    def reset(self) -> None:
        """Empty the state: customers, logs, quotas and fault overrides."""
        self.store.reset()

    def close(self) -> None:
        self.store.close()

    def clock(self) -> float:
        """Now, as the emulator sees it: the real (or injected) clock moved by
        ``POST /_emulator/clock``, shared by every process on the state file."""
        return self._base_clock() + control.clock_offset(self.store)

    def current_org(self) -> OrgConfig:
        """The org with the runtime changes of ``POST /_emulator/org`` applied."""
        changes = control.org_changes(self.store)
        if not changes:
            return self.org
        key = json.dumps(changes, sort_keys=True)
        if key not in self._org_cache:
            self._org_cache = {key: control.apply_org_changes(self.org, changes)}
        return self._org_cache[key]

    def faults(self) -> dict[str, dict[str, Any]]:
        """The faults in force: the org/env ones until the control endpoint changes them."""
        override = self.store.get_control("faults")
        return faults.normalise(override) if override is not None else self.base_faults

    def set_faults(self, patch: Any) -> dict[str, dict[str, Any]]:
        merged = faults.merge(self.faults(), patch)
        self.store.set_control("faults", merged)
        return merged

    def clear_faults(self) -> dict[str, dict[str, Any]]:
        cleared = faults.normalise({})
        self.store.set_control("faults", cleared)
        return cleared

    def handle(
        self, method: str, path: str, query: QueryInput, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Serve one request. Raises ``InjectedTimeout`` / ``InjectedDrop`` when the
        connection itself must fail; the transport and server turn those into the
        real thing."""
        request = Request(
            method=method.upper(),
            path=path,
            query=dict(query.items() if isinstance(query, Mapping) else query),
            headers={k.lower().replace("_", "-"): v for k, v in headers.items()},
            body=body,
            request_id=uuid.uuid4().hex,
        )
        if path.startswith("/_emulator/"):
            return self._finish(request, self._control(request))
        route, params, known = routes.match(request.method, path)
        if route is None:
            status = 405 if known else 404
            return self._finish(request, Reply(status, _errors(status)))
        request.endpoint, request.template, request.params = route.endpoint, route.template, params
        # One reading of the clock offset and the org changes per request.
        offset = control.clock_offset(self.store)
        org = self.current_org()
        fault, settings = self._pick_fault(route.endpoint)
        if fault in ("drop", "timeout") and not settings["processed"]:
            raise _connection_fault(fault, settings)
        if fault == "error_5xx":
            reply = Reply(
                settings["status"],
                _errors(settings["status"], "Service unavailable (injected fault)"),
            )
        elif fault == "rate_limit":
            reply = _rate_limited(settings["retry_after"])
        else:
            reply = self._serve(request, route, org, lambda: self._base_clock() + offset)
        if fault in ("drop", "timeout"):
            raise _connection_fault(fault, settings)
        if fault == "malformed":
            payload = (
                reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            )
            reply.body = faults.corrupt(payload)
        return self._finish(request, reply)

    def __call__(
        self, environ: "WSGIEnvironment", start_response: "StartResponse"
    ) -> Iterable[bytes]:
        """WSGI. Under a generic WSGI server an injected drop or timeout surfaces as
        an exception; ``serve()`` closes the socket instead."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:]: v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["CONTENT-TYPE"] = environ["CONTENT_TYPE"]
        query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        try:
            status, response_headers, payload = self.handle(
                environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/"), query, headers, body
            )
        except faults.InjectedTimeout as timeout:
            self.sleep(timeout.hold_seconds)
            raise
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Unknown"
        start_response(f"{status} {reason}", list(response_headers.items()))
        return [payload]

    # --- the pipeline ---------------------------------------------------------
    def _pick_fault(self, endpoint: str) -> tuple[str | None, dict[str, Any]]:
        config = self.faults()
        with self._rng_lock:
            delay = faults.latency_seconds(config, endpoint, self.rng)
            kind = None
            if faults.pending(config, endpoint):
                kind = self.store.update_control(
                    "faults", lambda stored: _consume(stored, config, endpoint)
                )
            kind = kind or faults.roll(config, endpoint, self.rng)
        if delay:
            self.sleep(delay)
        return kind, config[kind] if kind else {}

    def _serve(
        self, request: Request, route: routes.Route, org: OrgConfig, clock: Callable[[], float]
    ) -> Reply:
        try:
            principal = None
            if route.endpoint != "E12":
                principal = auth.authenticate(org, request.headers, clock())
                auth.authorize(principal, route.endpoint)
                limited = self._take_quota(org, principal, route.endpoint, clock())
                if limited is not None:
                    return limited
            ctx = Ctx(
                self.store,
                org,
                clock,
                self.rng,
                request,
                principal.till if principal else _NO_TILL,
            )
            return route.handler(ctx)
        except auth.AuthFailure as failure:
            return Reply(failure.status, failure.body)
        except ApiError as error:
            status = error.status or org.http_status["business_error"]
            return Reply(status, {"warnings": error.warnings, "errors": [error.entry]})
        except sqlite3.IntegrityError:
            # Only reachable if two writers raced past BEGIN IMMEDIATE: the index decides.
            return Reply(
                org.http_status["business_error"],
                {"warnings": [], "errors": [codes.entry(8006)]},
            )
        except Exception as exc:
            log.exception("emulator error on %s %s", request.method, request.path)
            return Reply(500, _errors(500, f"Internal error: {exc}"))

    def _take_quota(
        self, org: OrgConfig, principal: auth.Principal, endpoint: str, now: float
    ) -> Reply | None:
        """The API key's own quota over every endpoint first (the docs' "per API key"),
        then its quota for this endpoint; each a token bucket in the state file."""
        if not org.rate_limits_enabled:
            return None
        buckets = [(f"{principal.name}|{endpoint}", org.rate_limit(endpoint))]
        per_key = org.key_rate_limit(principal.key)
        if per_key is not None:
            buckets.insert(0, (f"{principal.name}|*", per_key))
        for bucket, limit in buckets:
            rate = limit.limit / limit.per_seconds
            allowed, tokens = self.store.take_token(bucket, limit.limit, rate, now)
            if not allowed:
                return _rate_limited(max(1, math.ceil((1 - tokens) / rate)))
        return None

    def _control(self, request: Request) -> Reply:
        try:
            if request.path == "/_emulator/clock":
                return control.clock(self.store, self._base_clock, request)
            if request.path == "/_emulator/org":
                return control.org(self.store, self.org, request)
            if request.path == "/_emulator/faults" and request.method == "GET":
                return Reply(200, self.faults())
            if request.path == "/_emulator/faults" and request.method == "POST":
                return Reply(200, self.set_faults(request.json()))
            if request.path == "/_emulator/faults" and request.method == "DELETE":
                return Reply(200, self.clear_faults())
            if request.path == "/_emulator/reset" and request.method == "POST":
                self.reset()
                return Reply(200, {"reset": True})
        except (ApiError, faults.FaultConfigError, OrgConfigError) as exc:
            return Reply(400, _errors(400, str(exc)))
        return Reply(404, _errors(404))

    def _finish(self, request: Request, reply: Reply) -> tuple[int, dict[str, str], bytes]:
        payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Content-Length": str(len(payload)),
            "X-Cap-Requestid": request.request_id,
            **reply.headers,
        }
        if request.template:
            headers["x-cap-api-request-uri"] = request.template
        return reply.status, headers, payload


def _consume(
    stored: Any, current: dict[str, dict[str, Any]], endpoint: str
) -> tuple[Any, str | None]:
    config = faults.normalise(stored) if stored is not None else current
    kind = faults.consume_next(config, endpoint)
    return config, kind


def _connection_fault(kind: str, settings: Mapping[str, Any]) -> faults.InjectedFault:
    return (
        faults.InjectedTimeout(settings["hold_seconds"])
        if kind == "timeout"
        else faults.InjectedDrop()
    )


def _errors(code: int, detail: str | None = None) -> dict[str, Any]:
    return {"warnings": [], "errors": [codes.entry(code, detail=detail)]}


def _rate_limited(retry_after: int) -> Reply:
    """The 429 shape the reference proposes (§1.6, inferred): v2 errors + Retry-After."""
    return Reply(429, _errors(codes.RATE_LIMITED), {"Retry-After": str(retry_after)})
