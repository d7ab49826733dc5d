"""Fault injection, in-process (EmulatorTransport) and over a real socket."""

import json
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from customers.capillary_emulator import Emulator, serve

from .conftest import TLS, Api, FakeSleep, basic, member, mobile, org_with

LOOKUP = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": mobile(1)}


@pytest.fixture
def in_process(clock: Any) -> Iterator[tuple[Emulator, httpx.Client, FakeSleep]]:
    sleep = FakeSleep()
    emulator = Emulator(org=org_with(), clock=clock, sleep=sleep, rng=random.Random(7))
    client = httpx.Client(
        transport=emulator.transport(),
        base_url="http://capillary",
        headers={"Authorization": basic()},
    )
    yield emulator, client, sleep
    client.close()
    emulator.close()


def both(
    in_process: tuple[Emulator, httpx.Client, FakeSleep], api: Api, where: str
) -> tuple[Emulator, httpx.Client, FakeSleep]:
    return in_process if where == "in-process" else (api.emulator, api.http, api.sleep)


WHERE = pytest.mark.parametrize("where", ["in-process", "http"])


@WHERE
def test_it_answers_an_injected_5xx(in_process: Any, api: Api, where: str) -> None:
    emulator, client, _ = both(in_process, api, where)
    emulator.set_faults({"error_5xx": {"next": 1, "status": 502}})
    response = client.get("/v2/customers/lookup", params=LOOKUP)
    assert response.status_code == 502
    assert response.json()["errors"][0]["code"] == 502
    assert client.get("/v2/customers/lookup", params=LOOKUP).status_code == 400


@WHERE
def test_it_forces_a_429_with_retry_after(in_process: Any, api: Api, where: str) -> None:
    emulator, client, _ = both(in_process, api, where)
    emulator.set_faults({"rate_limit": {"next": 1, "retry_after": 7}})
    response = client.get("/v2/customers/lookup", params=LOOKUP)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "7")


@WHERE
def test_it_corrupts_the_json_body(in_process: Any, api: Api, where: str) -> None:
    emulator, client, _ = both(in_process, api, where)
    emulator.set_faults({"malformed": {"next": 1}})
    response = client.post("/v2/customers", json=member(1))
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert (
        client.get("/v2/customers/lookup", params=LOOKUP).json()["entity"] > 0
    )  # it was processed


@WHERE
def test_it_adds_latency_with_jitter(in_process: Any, api: Api, where: str) -> None:
    emulator, client, sleep = both(in_process, api, where)
    emulator.set_faults({"latency": {"fixed_ms": 200, "jitter_ms": 100}})
    client.get("/v2/customers/lookup", params=LOOKUP)
    assert len(sleep.calls) == 1
    assert 0.2 <= sleep.calls[0] <= 0.3


@WHERE
def test_it_drops_the_connection(in_process: Any, api: Api, where: str) -> None:
    emulator, client, _ = both(in_process, api, where)
    emulator.set_faults({"drop": {"next": 1}})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.post("/v2/customers", json=member(1))
    assert client.get("/v2/customers/lookup", params=LOOKUP).status_code == 400  # never processed


def test_it_times_out_in_process_as_a_read_timeout(in_process: Any) -> None:
    emulator, client, sleep = in_process
    emulator.set_faults({"timeout": {"next": 1, "processed": True}})
    with pytest.raises(httpx.ReadTimeout):
        client.post("/v2/customers", json=member(1))
    assert sleep.calls == []
    assert (
        client.get("/v2/customers/lookup", params=LOOKUP).status_code == 200
    )  # the write did land


def test_it_times_out_over_the_socket_by_holding_the_request() -> None:
    emulator = Emulator(
        org=org_with({"faults": {"timeout": {"next": 1, "hold_seconds": 0.3}}}), sleep=time.sleep
    )
    server = serve(emulator)
    try:
        with (
            httpx.Client(
                base_url=server.base_url,
                headers={"Authorization": basic()},
                timeout=0.1,
                verify=TLS,
            ) as client,
            pytest.raises(httpx.ReadTimeout),
        ):
            client.get("/v2/customers/lookup", params=LOOKUP)
    finally:
        server.shutdown()
        emulator.close()


def test_it_targets_one_endpoint_only(in_process: Any) -> None:
    emulator, client, _ = in_process
    emulator.set_faults({"error_5xx": {"rate": 1.0, "endpoint": ["E5b"]}})
    assert client.get("/v2/customers/lookup", params=LOOKUP).status_code == 503
    assert client.post("/v2/customers", json=member(1)).status_code == 200


def test_it_fires_at_the_configured_rate_from_the_injected_random(in_process: Any) -> None:
    emulator, client, _ = in_process
    emulator.set_faults({"error_5xx": {"rate": 0.5}})
    statuses = [client.get("/v2/customers/lookup", params=LOOKUP).status_code for _ in range(40)]
    failures = statuses.count(503)
    assert 10 <= failures <= 30
    again = Emulator(org=org_with({"faults": {"error_5xx": {"rate": 0.5}}}), rng=random.Random(7))
    replay = httpx.Client(
        transport=again.transport(), base_url="http://c", headers={"Authorization": basic()}
    )
    assert [
        replay.get("/v2/customers/lookup", params=LOOKUP).status_code for _ in range(40)
    ] == statuses


def test_it_exposes_faults_on_the_control_endpoint(api: Api) -> None:
    assert api.http.get("/_emulator/faults").json()["timeout"]["next"] == 0
    merged = api.http.post(
        "/_emulator/faults", json={"timeout": {"next": 2, "endpoint": "E1"}}
    ).json()
    assert merged["timeout"] == {
        "rate": 0.0,
        "next": 2,
        "endpoint": "E1",
        "processed": False,
        "hold_seconds": 30,
    }
    api.http.post("/_emulator/faults", json={"timeout": {"hold_seconds": 1}})
    assert api.http.get("/_emulator/faults").json()["timeout"]["next"] == 2
    assert api.http.delete("/_emulator/faults").json()["timeout"]["next"] == 0
    refused = api.http.post("/_emulator/faults", json={"earthquake": {}})
    assert refused.status_code == 400
    assert "earthquake" in refused.json()["errors"][0]["message"]


def test_it_resets_the_state_from_the_control_endpoint(api: Api) -> None:
    customer_id = api.add_ok(member(1))
    assert api.http.post("/_emulator/reset").json() == {"reset": True}
    assert api.get(customer_id).json()["errors"][0]["code"] == 8015
    assert api.add_ok(member(1)) == customer_id  # ids start over


def test_it_reads_default_faults_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, make_api: Callable[..., Api]
) -> None:
    monkeypatch.setenv(
        "CAPILLARY_EMULATOR_FAULTS", json.dumps({"error_5xx": {"rate": 1.0, "status": 504}})
    )
    api = make_api()
    assert api.http.get("/v2/customers/lookup", params=LOOKUP).status_code == 504
    api.http.delete("/_emulator/faults")
    assert api.http.get("/v2/customers/lookup", params=LOOKUP).status_code == 400


def test_it_refuses_an_unusable_faults_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAPILLARY_EMULATOR_FAULTS", "{not json")
    with pytest.raises(ValueError, match="CAPILLARY_EMULATOR_FAULTS"):
        Emulator()
