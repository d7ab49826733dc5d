"""The emulator's own control hooks for tests and demos (never on a real cluster).

``/_emulator/clock``: ``GET`` now; ``POST {"set": "2027-01-01T00:00:00Z" | epoch}``
or ``POST {"advance": seconds}`` moves the emulator's clock (token expiry, dates
written, date rules); ``DELETE`` puts it back. ``/_emulator/org``: ``GET`` the
changes in force; ``POST`` a partial org configuration (the org file's keys, e.g.
``{"registration": {"CONF_ALLOW_EMAIL_UPDATE": true}}``), deep-merged into the
changes so far and checked like the file; ``DELETE`` restores the org file.

Both live in the state file's control table, so every process sharing it (web,
workers, the socket server) sees the same clock and the same org, and
``POST /_emulator/reset`` clears them with the rest.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from . import codes
from .context import ApiError, Reply, Request, iso
from .org import OrgConfig, OrgConfigError
from .org_file import parse_org
from .store import Store

CLOCK_KEY = "clock"
ORG_KEY = "org"


def clock_offset(store: Store) -> float:
    stored = store.get_control(CLOCK_KEY)
    return float(stored["offset"]) if isinstance(stored, dict) else 0.0


def org_changes(store: Store) -> dict[str, Any]:
    stored = store.get_control(ORG_KEY)
    return stored if isinstance(stored, dict) else {}


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Objects merge key by key; anything else (lists included) is replaced."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def apply_org_changes(org: OrgConfig, changes: dict[str, Any]) -> OrgConfig:
    if not org.raw:
        raise OrgConfigError("this org was not read from JSON, so it cannot be changed at runtime")
    return parse_org(deep_merge(org.raw, changes))


def clock(store: Store, base: Callable[[], float], request: Request) -> Reply:
    if request.method == "DELETE":
        store.set_control(CLOCK_KEY, {"offset": 0.0})
    elif request.method == "POST":
        body = request.json_object()
        if len(body.keys() & {"set", "advance"}) != 1 or set(body) - {"set", "advance"}:
            raise ApiError(codes.INVALID_INPUT, detail='send {"set": time} or {"advance": seconds}')
        offset = clock_offset(store)
        if "advance" in body:
            offset += _number(body["advance"], "advance")
        else:
            offset = _instant(body["set"]) - base()
        store.set_control(CLOCK_KEY, {"offset": offset})
    elif request.method != "GET":
        return Reply(405, {"warnings": [], "errors": [codes.entry(405)]})
    offset = clock_offset(store)
    now = base() + offset
    return Reply(200, {"now": iso(now), "epoch": now, "offsetSeconds": offset})


def org(store: Store, base: OrgConfig, request: Request) -> Reply:
    if request.method == "DELETE":
        store.set_control(ORG_KEY, {})
    elif request.method == "POST":
        patch = request.json_object()
        changes = deep_merge(org_changes(store), patch)
        apply_org_changes(base, changes)  # refuses what the org file would refuse
        store.set_control(ORG_KEY, changes)
    elif request.method != "GET":
        return Reply(405, {"warnings": [], "errors": [codes.entry(405)]})
    return Reply(200, {"changes": org_changes(store)})


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(codes.INVALID_INPUT, detail=f"{name} must be a number of seconds")
    return float(value)


def _instant(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(
            codes.INVALID_INPUT, detail="set must be epoch seconds or an ISO date-time"
        ) from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
