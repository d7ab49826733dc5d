"""Fault injection: what can go wrong between the console and Capillary, on demand.

A fault configuration is one JSON object with a block per kind::

    {"latency":    {"fixed_ms": 0, "jitter_ms": 0, "endpoint": "*"},
     "timeout":    {"rate": 0.0, "next": 0, "endpoint": "*", "processed": false,
                    "hold_seconds": 30},
     "drop":       {"rate": 0.0, "next": 0, "endpoint": "*", "processed": false},
     "error_5xx":  {"rate": 0.0, "next": 0, "endpoint": "*", "status": 503},
     "rate_limit": {"rate": 0.0, "next": 0, "endpoint": "*", "retry_after": 1},
     "malformed":  {"rate": 0.0, "next": 0, "endpoint": "*"}}

``endpoint`` is ``"*"``, one endpoint id (``"E1"``, ``"E5b"``…) or a list of them.
``next`` fires on the next N matching requests (counted across processes, in the
state file); ``rate`` fires at random with that probability. ``processed`` says
whether the request still reaches the store before the connection is lost — the
case where a retried write would be a duplicate.
"""

import json
import random
from collections.abc import Mapping
from typing import Any

KINDS = ("drop", "timeout", "error_5xx", "rate_limit", "malformed")

_DEFAULTS: dict[str, dict[str, Any]] = {
    "latency": {"fixed_ms": 0, "jitter_ms": 0, "endpoint": "*"},
    "timeout": {"rate": 0.0, "next": 0, "endpoint": "*", "processed": False, "hold_seconds": 30.0},
    "drop": {"rate": 0.0, "next": 0, "endpoint": "*", "processed": False},
    "error_5xx": {"rate": 0.0, "next": 0, "endpoint": "*", "status": 503},
    "rate_limit": {"rate": 0.0, "next": 0, "endpoint": "*", "retry_after": 1},
    "malformed": {"rate": 0.0, "next": 0, "endpoint": "*"},
}


class FaultConfigError(ValueError):
    """A fault configuration that cannot be used; the message names the key."""


class InjectedFault(Exception):
    """Raised by ``Emulator.handle`` when the connection itself must fail."""


class InjectedTimeout(InjectedFault):
    def __init__(self, hold_seconds: float) -> None:
        super().__init__(f"injected timeout (server holds the request {hold_seconds}s)")
        self.hold_seconds = hold_seconds


class InjectedDrop(InjectedFault):
    def __init__(self) -> None:
        super().__init__("injected dropped connection")


def normalise(data: Any, where: str = "faults") -> dict[str, dict[str, Any]]:
    """Validate a (partial) fault configuration and fill in every default."""
    if not isinstance(data, Mapping):
        raise FaultConfigError(f"{where} must be a JSON object")
    unknown = set(data) - set(_DEFAULTS)
    if unknown:
        raise FaultConfigError(f"{where}: unknown fault kind {sorted(unknown)[0]!r}")
    result: dict[str, dict[str, Any]] = {}
    for kind, defaults in _DEFAULTS.items():
        block = data.get(kind, {})
        if not isinstance(block, Mapping):
            raise FaultConfigError(f"{where}.{kind} must be a JSON object")
        merged = dict(defaults)
        for key, value in block.items():
            if key not in defaults:
                raise FaultConfigError(f"{where}.{kind}: unknown key {key!r}")
            merged[key] = _checked(value, defaults[key], f"{where}.{kind}.{key}")
        result[kind] = merged
    return result


def _checked(value: Any, default: Any, where: str) -> Any:
    if where.endswith(".endpoint"):
        if isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            return value
        raise FaultConfigError(f"{where} must be '*', an endpoint id or a list of them")
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise FaultConfigError(f"{where} must be true or false")
        return value
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise FaultConfigError(f"{where} must be a non-negative number")
    if where.endswith(".rate") and value > 1:
        raise FaultConfigError(f"{where} must be between 0 and 1")
    return int(value) if isinstance(default, int) else float(value)


def merge(base: Mapping[str, Any], patch: Any) -> dict[str, dict[str, Any]]:
    """``base`` with ``patch`` merged in, one level per kind (the control endpoint's POST)."""
    if not isinstance(patch, Mapping):
        raise FaultConfigError("faults must be a JSON object")
    combined = {kind: dict(block) for kind, block in base.items()}
    for kind, block in patch.items():
        if not isinstance(block, Mapping):
            raise FaultConfigError(f"faults.{kind} must be a JSON object")
        combined.setdefault(kind, {}).update(block)
    return normalise(combined)


def from_env(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise FaultConfigError(f"CAPILLARY_EMULATOR_FAULTS is not JSON: {exc}") from exc
    normalise(data, "CAPILLARY_EMULATOR_FAULTS")
    return dict(data)


def targets(block: Mapping[str, Any], endpoint: str) -> bool:
    wanted = block["endpoint"]
    return wanted == "*" or wanted == endpoint or (isinstance(wanted, list) and endpoint in wanted)


def pending(config: Mapping[str, Any], endpoint: str) -> bool:
    """Whether a ``next`` counter applies, so the caller must consume it atomically."""
    return any(config[k]["next"] > 0 and targets(config[k], endpoint) for k in KINDS)


def consume_next(config: dict[str, dict[str, Any]], endpoint: str) -> str | None:
    """Take one count from the first armed ``next`` counter; mutates ``config``."""
    for kind in KINDS:
        block = config[kind]
        if block["next"] > 0 and targets(block, endpoint):
            block["next"] -= 1
            return kind
    return None


def roll(config: Mapping[str, Any], endpoint: str, rng: random.Random) -> str | None:
    for kind in KINDS:
        block = config[kind]
        if block["rate"] > 0 and targets(block, endpoint) and rng.random() < block["rate"]:
            return kind
    return None


def latency_seconds(config: Mapping[str, Any], endpoint: str, rng: random.Random) -> float:
    block = config["latency"]
    if not targets(block, endpoint) or not (block["fixed_ms"] or block["jitter_ms"]):
        return 0.0
    return float(block["fixed_ms"] + rng.uniform(0, block["jitter_ms"])) / 1000


def corrupt(body: bytes) -> bytes:
    """Half a JSON document: what a proxy cutting the stream short delivers."""
    return body[: max(1, len(body) // 2)] or b"{"
