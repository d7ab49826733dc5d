"""E13 customer search: GET /v2/customers/search?q=&limit=&offset= (reference §2 E13).

A keyword matches customers whose first name, last name or any registered
identifier starts with it, in every source. Inferred where the pages are
silent: case-insensitive (Unicode case folding); a keyword with a space also
matches "first last" as one name; merged-away customers are left out (their
profiles and identifiers belong to the survivor); ``limit`` 10 by default, 1
to 100. Hits come in the order of what matched, then userId: the 2022 sample
lists four "Tom Sawyer" hits out of userId order, so it is not userId alone.
``total`` counts matching customers up to ``TOTAL_LIMIT``, as a search engine
tracks hits to a bound; a larger result says ``TOTAL_LIMIT`` and pages on.

Every kind of match is one range of an index on the folded expression and the
customer (``store.SCHEMA``); SQLite merges the ranges in order, so a page reads
as many index entries as it skips and shows, never the whole store.
"""

import sqlite3
from typing import Any

from ..codes import INVALID_INPUT
from ..context import ApiError, Ctx, Reply, ok
from ..store import search_fold

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_KEYWORD = 255
TOTAL_LIMIT = 1000
# Above every character SQLite stores, so [keyword, keyword + TOP) is "starts with".
TOP = "\U0010ffff"

_FIRST = "search_fold(first_name)"
_LAST = "search_fold(last_name)"
_FULL = "search_fold(first_name || ' ' || last_name)"
_VALUE = "search_fold(value)"


def _arm(table: str, folded: str) -> str:
    return (
        f"SELECT {folded} AS folded, customer_id FROM {table}"  # noqa: S608 - fixed names
        f" WHERE {folded} >= :low AND {folded} < :high"
    )


def _matches(keyword: str) -> str:
    """Every (matched text, customer), one index range after another."""
    arms = [_arm("profiles", _FIRST), _arm("profiles", _LAST), _arm("identifiers", _VALUE)]
    if " " in keyword:
        arms.append(_arm("profiles", _FULL))
    return " UNION ALL ".join(arms)


def search_customers(ctx: Ctx) -> Reply:
    query = ctx.request.query
    keyword = search_fold(" ".join((query.get("q") or "").split()))
    if not keyword:
        raise ApiError(INVALID_INPUT, detail="q is required: the keyword to search for")
    if len(keyword) > MAX_KEYWORD:
        raise ApiError(INVALID_INPUT, detail=f"q is longer than {MAX_KEYWORD} characters")
    limit = _whole(query, "limit", DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    offset = _whole(query, "offset", 0, low=0, high=None)
    matches = _matches(keyword)
    bounds = {"low": keyword, "high": keyword + TOP}
    with ctx.store.read() as db:
        # Counting needs no order: the ranges are read one after another.
        total = db.execute(
            f"SELECT count(*) FROM (SELECT DISTINCT customer_id FROM ({matches}) LIMIT :cap)",  # noqa: S608
            {**bounds, "cap": TOTAL_LIMIT},
        ).fetchone()[0]
        # The page needs order: SQLite merges the ranges, each already in it.
        page = _page(db.execute(f"{matches} ORDER BY 1, 2", bounds), offset, limit)
        data = [hit for customer_id in page if (hit := _hit(db, customer_id, keyword))]
    return ok(
        {
            "pagination": {"limit": limit, "offset": offset, "total": total},
            "data": data,
            "warnings": [],
            "errors": [],
        }
    )


def _page(rows: sqlite3.Cursor, offset: int, limit: int) -> list[int]:
    """The customers at [offset, offset + limit) of the stream, each once."""
    seen: dict[int, None] = {}
    for row in rows:
        seen.setdefault(int(row["customer_id"]))
        if len(seen) >= offset + limit:
            break
    return list(seen)[offset:]


def _hit(db: sqlite3.Connection, customer_id: int, keyword: str) -> dict[str, Any] | None:
    merged = db.execute("SELECT merged_into FROM customers WHERE id = ?", (customer_id,)).fetchone()
    if merged is None or merged["merged_into"] is not None:
        return None
    profiles = db.execute(
        "SELECT source, account_id, first_name, last_name FROM profiles"
        " WHERE customer_id = ? ORDER BY id",
        (customer_id,),
    ).fetchall()
    identifiers = db.execute(
        "SELECT source, account_id, type, value FROM identifiers"
        " WHERE customer_id = ? ORDER BY profile_id, rowid",
        (customer_id,),
    ).fetchall()
    matched = []
    for p in profiles:
        full = search_fold(f"{p['first_name']} {p['last_name']}")
        both = " " in keyword and full.startswith(keyword)
        for id_type, value in (("firstName", p["first_name"]), ("lastName", p["last_name"])):
            if both or search_fold(value).startswith(keyword):
                matched.append((id_type, value, p["source"], p["account_id"]))
    for i in identifiers:
        if search_fold(i["value"]).startswith(keyword):
            matched.append((i["type"], i["value"], i["source"], i["account_id"]))
    return {
        "userId": customer_id,
        "matchedIdentifiers": [
            {"idType": id_type, "idValue": value, "source": source, "accountId": account}
            for id_type, value, source, account in matched
        ],
        "profiles": [
            {"source": p["source"], "firstName": p["first_name"], "lastName": p["last_name"]}
            for p in profiles
        ],
    }


def _whole(query: dict[str, str], name: str, default: int, *, low: int, high: int | None) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.strip().isdigit() or int(raw) < low or (high is not None and int(raw) > high):
        bound = f"{low} to {high}" if high is not None else f"{low} or more"
        raise ApiError(INVALID_INPUT, detail=f"{name} must be a whole number, {bound}")
    return int(raw)
