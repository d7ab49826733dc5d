"""What CapillaryClient adds to a bare httpx call, on the same in-process transport.

Both sides send the same request to the same `httpx.MockTransport` and decode the
JSON answer; the client also validates input and output, builds `CallMeta`,
decides retries and logs (logging left at its default WARNING level, as in
production). Calls run in alternating batches timed in process CPU time, so other
work on the machine does not count; the figure is the median over batch pairs of
client time / bare time (target: at most 1.15).

    .venv/bin/python -m bench.client_overhead [--batches 30] [--calls 300]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from customers.capillary import BasicAuth, CapillaryClient
from customers.capillary.schemas import AddCustomerRequest, CustomerLookup

BASE_URL = "https://eu.api.capillarytech.com"
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "capillary"
LOOKUP_ANSWER = json.dumps({"entity": 306, "warnings": []}).encode()
ADD_ANSWER = (FIXTURES / "s5_add_response_customer_status.json").read_bytes()
ADD_BODY = json.loads((FIXTURES / "s5_add_request_customer_status.json").read_text())
AUTH = BasicAuth("store.server", "server123")


def serve(request: httpx.Request) -> httpx.Response:
    body = ADD_ANSWER if request.method == "POST" else LOOKUP_ANSWER
    return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})


def per_call_seconds(call: Callable[[], object], calls: int) -> float:
    started = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - started) / calls


def compare(
    name: str, bare: Callable[[], object], client: Callable[[], object], batches: int, calls: int
) -> float:
    for warm_up in (bare, client):
        per_call_seconds(warm_up, calls)
    bare_times, client_times, ratios = [], [], []
    for batch in range(batches):
        # Alternate which side goes first so that neither always runs warmer.
        if batch % 2:
            client_time, bare_time = per_call_seconds(client, calls), per_call_seconds(bare, calls)
        else:
            bare_time, client_time = per_call_seconds(bare, calls), per_call_seconds(client, calls)
        bare_times.append(bare_time)
        client_times.append(client_time)
        ratios.append(client_time / bare_time)
    ratio = statistics.median(ratios)
    print(
        f"{name:<24} bare {statistics.median(bare_times) * 1e6:6.1f} us"
        f"   client {statistics.median(client_times) * 1e6:6.1f} us   median ratio {ratio:.3f}"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()

    transport = httpx.MockTransport(serve)
    bare_http = httpx.Client(base_url=BASE_URL, transport=transport)
    client = CapillaryClient(BASE_URL, AUTH, transport=transport)
    lookup = CustomerLookup(source="INSTORE", identifier_name="mobile", identifier_value="9199")
    request = AddCustomerRequest.model_validate(ADD_BODY)
    auth_headers = {**AUTH.headers(), "Accept": "application/json"}
    write_headers = {**auth_headers, "WAIT_FOR_DOWNSTREAM": "true"}

    def bare_lookup() -> object:
        return bare_http.get(
            "/v2/customers/lookup", params=lookup.to_query(), headers=auth_headers
        ).json()

    def bare_add() -> object:
        return bare_http.post("/v2/customers", json=ADD_BODY, headers=write_headers).json()

    print(f"python {platform.python_version()}, httpx {httpx.__version__}, {os.cpu_count()} cores")
    compare(
        "GET lookup (E5b)",
        bare_lookup,
        lambda: client.lookup_customer_id(lookup),
        args.batches,
        args.calls,
    )
    compare(
        "POST add customer (E1)",
        bare_add,
        lambda: client.add_customer(request),
        args.batches,
        args.calls,
    )


if __name__ == "__main__":
    main()
