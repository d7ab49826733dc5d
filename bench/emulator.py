"""Capillary emulator throughput and lookup latency, one core, through the console's path.

    .venv/bin/python -m bench.emulator [--members 100000] [--seconds 5] [--samples 2000]
                                       [--state var/bench/emulator.sqlite3] [--write]

Requests go through ``EmulatorTransport`` and an ``httpx.Client`` — what the console
does with no CAPILLARY_BASE_URL — so the figures include httpx's own cost; the
``handle()`` column calls the emulator directly (what a WSGI server would drive).
The state is a WAL file like the one web and workers share. Rate limits are off
(the shipped org allows 100 adds a minute) and no faults are injected.

Times are this thread's CPU time (the in-process path runs on the calling thread), so
other work on a shared machine does not count. Latency is sampled at 1,000 members
and again after seeding up to --members, to show that lookups stay flat as the
store grows. --write replaces the emulator
section of docs/benchmarks.md.
"""

import argparse
import base64
import hashlib
import json
import os
import platform
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from customers.capillary_emulator import Emulator, parse_org, seed_members
from customers.capillary_emulator.org_file import default_org_data

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- emulator:start -->", "<!-- emulator:end -->"
SEARCH_KINDS = (
    "name, 3 letters",
    "first and last name",
    "mobile, first 9 digits",
    "email, up to the @",
    "card, all but 2 digits",
)
DIGEST = hashlib.md5(b"membercare123", usedforsecurity=False).hexdigest()
AUTH = {"Authorization": "Basic " + base64.b64encode(f"membercare.till:{DIGEST}".encode()).decode()}


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def sustained(call: Callable[[int], None], seconds: float) -> float:
    """Calls per CPU second over ``seconds`` of back-to-back calls."""
    count, started = 0, time.thread_time()
    while (elapsed := time.thread_time() - started) < seconds:
        call(count)
        count += 1
    return count / elapsed


def latencies(call: Callable[[int], None], samples: int) -> tuple[float, float]:
    for i in range(samples // 10):  # warm caches and the interpreter before sampling
        call(i)
    timings = []
    for i in range(samples):
        started = time.thread_time()
        call(i)
        timings.append((time.thread_time() - started) * 1000)
    return statistics.median(timings), percentile(timings, 0.99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--state", default=str(ROOT / "var" / "bench" / "emulator.sqlite3"))
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    data = default_org_data()
    data["rate_limits"]["enabled"] = False
    emulator = Emulator(args.state, parse_org(data))
    emulator.reset()
    client = httpx.Client(transport=emulator.transport(), base_url="http://capillary", headers=AUTH)
    rng = random.Random(1)

    def mobiles() -> list[str]:
        rows = emulator.store.db.execute("SELECT value FROM identifiers WHERE type = 'mobile'")
        return [r[0] for r in rows]

    def keywords() -> dict[str, list[str]]:
        """What staff type into the search box, drawn from stored members, by kind."""
        db = emulator.store.db
        rows = db.execute(
            "SELECT p.first_name, p.last_name, i.type, i.value FROM identifiers i"
            " JOIN profiles p ON p.id = i.profile_id ORDER BY random() LIMIT 5000"
        ).fetchall()
        pools: dict[str, list[str]] = {kind: [] for kind in SEARCH_KINDS}
        for first, last, kind, value in rows:
            pools["name, 3 letters"].append(first[:3].lower())
            pools["first and last name"].append(f"{first} {last}")
            if kind == "mobile":
                pools["mobile, first 9 digits"].append(value[:9])
            elif kind == "email":
                pools["email, up to the @"].append(value.split("@")[0])
            elif kind == "cardnumber":
                pools["card, all but 2 digits"].append(value[:-2])
        return pools

    def search(pool: list[str]) -> Callable[[int], None]:
        def call(_: int) -> None:
            query = {"q": rng.choice(pool), "limit": 10, "offset": 0}
            response = client.get("/v2/customers/search", params=query)
            assert response.status_code == 200, response.text

        return call

    def search_latencies() -> dict[str, tuple[float, float]]:
        pools = keywords()
        return {kind: latencies(search(pools[kind]), args.samples) for kind in SEARCH_KINDS}

    def lookup_details(pool: list[str]) -> Callable[[int], None]:
        def call(_: int) -> None:
            query = {
                "source": "INSTORE",
                "identifierName": "mobile",
                "identifierValue": rng.choice(pool),
            }
            response = client.get("/v2/customers/lookup/customerDetails", params=query)
            assert response.status_code == 200, response.text

        return call

    def lookup_direct(pool: list[str]) -> Callable[[int], None]:
        def call(_: int) -> None:
            query = {
                "source": "INSTORE",
                "identifierName": "mobile",
                "identifierValue": rng.choice(pool),
            }
            status, _, _ = emulator.handle(
                "GET", "/v2/customers/lookup/customerDetails", query, AUTH, b""
            )
            assert status == 200

        return call

    def add_body(n: int) -> dict[str, object]:
        return {
            "profiles": [
                {
                    "firstName": "Bench",
                    "lastName": f"Member{n}",
                    "identifiers": [
                        {"type": "mobile", "value": f"916{n:09d}"},
                        {"type": "email", "value": f"bench{n}@example.com"},
                    ],
                    "source": "INSTORE",
                }
            ],
            "extendedFields": {"gender": "Female", "city": "Pune"},
        }

    def add(offset: int) -> Callable[[int], None]:
        def call(i: int) -> None:
            response = client.post("/v2/customers", json=add_body(offset + i))
            assert response.status_code == 200, response.text

        return call

    def add_direct(offset: int) -> Callable[[int], None]:
        def call(i: int) -> None:
            payload = json.dumps(add_body(offset + i)).encode()
            status, _, _ = emulator.handle("POST", "/v2/customers", {}, AUTH, payload)
            assert status == 200

        return call

    seed_members(emulator, 1_000, rng_seed=1)
    small = mobiles()
    small_p50, small_p99 = latencies(lookup_details(small), args.samples)
    small_search = search_latencies()

    started = time.perf_counter()
    seed_members(emulator, args.members - 1_000, rng_seed=2)
    seed_seconds = time.perf_counter() - started
    large = mobiles()
    large_p50, large_p99 = latencies(lookup_details(large), args.samples)
    large_search = search_latencies()

    lookup_rps = sustained(lookup_details(large), args.seconds)
    lookup_direct_rps = sustained(lookup_direct(large), args.seconds)
    add_rps = sustained(add(0), args.seconds)
    add_direct_rps = sustained(add_direct(500_000_000), args.seconds)
    client.close()
    emulator.close()

    command = (
        f"python -m bench.emulator --members {args.members} --seconds {args.seconds:g}"
        f" --samples {args.samples}"
    )
    machine = (
        f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"
    )
    members = f"{args.members:,} members stored"
    search_rows = "\n".join(
        f"| {kind} | {small_search[kind][0]:.2f} ms | {small_search[kind][1]:.2f} ms"
        f" | {large_search[kind][0]:.2f} ms | {large_search[kind][1]:.2f} ms |"
        for kind in SEARCH_KINDS
    )
    report = f"""{START}
## Capillary emulator (`bench/emulator.py`)

`.venv/bin/{command}` on {machine}, pinned to one core.
State: a WAL SQLite file (as web and workers share it); rate limits off, no faults.
Times are the calling thread's CPU time, so other load on the machine does not count.
"transport" = `httpx.Client` over `EmulatorTransport` (the console's in-process path,
httpx included); "handle()" = the emulator called directly, as a WSGI server would.
Lookups are `GET /v2/customers/lookup/customerDetails` by a random stored mobile
(the full customer document); adds are `POST /v2/customers` with welcome side effects.

| measure | transport | handle() |
|---|---:|---:|
| add, sustained, {members} | {add_rps:,.0f} req/s | {add_direct_rps:,.0f} req/s |
| lookup, sustained, {members} | {lookup_rps:,.0f} req/s | {lookup_direct_rps:,.0f} req/s |

| lookup latency (transport) | p50 | p99 |
|---|---:|---:|
| 1,000 members | {small_p50:.2f} ms | {small_p99:.2f} ms |
| {args.members:,} members | {large_p50:.2f} ms | {large_p99:.2f} ms |

Seeding {args.members - 1_000:,} members took {seed_seconds:.1f} s (one transaction, `executemany`).
The two latency rows should agree within noise: a lookup is a few index probes
(identifier → customer → its rows), whatever the member count.

Customer search (E13, `GET /v2/customers/search?q=…&limit=10&offset=0`), transport,
keywords drawn from stored members as staff would type them:

| keyword | p50, 1,000 | p99, 1,000 | p50, {args.members:,} | p99, {args.members:,} |
|---|---:|---:|---:|---:|
{search_rows}

Each kind of match is one range of an index on the case-folded text and the customer
(first name, last name, "first last", identifier value); SQLite merges the ranges in
order, so a page reads the index entries it shows and no more, and builds at most
`limit` hits. What still grows is bounded: a full name has one or two hits among 1,000
members but fills the page of ten among 100,000, and `total` counts matching customers
up to 1,000 (the emulator's bound, as a search engine tracks hits), which a three-letter
name prefix reaches (one seeded member in 50 shares a first name, and their emails
start with it).
{END}"""
    print(report)
    if args.write:
        text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
        if START in text:
            text = text[: text.index(START)] + report + text[text.index(END) + len(END) :]
        else:
            text = text.rstrip("\n") + "\n\n" + report + "\n"
        DOC.write_text(text)


if __name__ == "__main__":
    main()
