"""The state file: shared by processes, kept across restarts, emptied by reset."""

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

from customers.capillary_emulator import Emulator

from .conftest import member, mobile, org_with

# Each writer process registers the same 50 mobiles (in its own source account, so
# the second registration of a mobile must join the first customer, never create one).
WRITER = """
import base64, hashlib, json, sys
from customers.capillary_emulator import Emulator
from customers.capillary_emulator.org_file import default_org_data, parse_org
data = default_org_data()
data["rate_limits"]["enabled"] = False
emulator = Emulator(sys.argv[1], parse_org(data))
digest = hashlib.md5(b"membercare123").hexdigest()
auth = "Basic " + base64.b64encode(b"membercare.till:" + digest.encode()).decode()
codes = []
for n in range(50):
    mobile = {"type": "mobile", "value": "9199" + str(n).zfill(8)}
    body = {"profiles": [{"identifiers": [mobile], "source": "INSTORE"}]}
    request = json.dumps(body).encode()
    headers = {"Authorization": auth}
    status, _, payload = emulator.handle("POST", "/v2/customers", {}, headers, request)
    answer = json.loads(payload)
    codes.append(answer["errors"][0]["code"] if answer.get("errors") else "ok")
print(json.dumps(codes))
"""


def test_it_never_creates_two_customers_with_one_identifier_from_two_processes(
    tmp_path: Path,
) -> None:
    state = tmp_path / "shared.sqlite3"
    Emulator(str(state)).close()  # create the schema before the race
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(state)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [json.loads(w.communicate(timeout=60)[0]) for w in writers]
    assert all(w.returncode == 0 for w in writers)
    for n in range(50):
        assert sorted(str(o[n]) for o in outputs) == ["8006", "ok"]
    emulator = Emulator(str(state))
    db = emulator.store.db
    assert db.execute("SELECT count(*) FROM customers").fetchone()[0] == 50
    duplicates = db.execute(
        "SELECT count(*) FROM (SELECT value FROM identifiers"
        " GROUP BY value HAVING count(DISTINCT customer_id) > 1)"
    ).fetchone()[0]
    assert duplicates == 0
    emulator.close()


def basic() -> dict[str, str]:
    digest = hashlib.md5(b"membercare123", usedforsecurity=False).hexdigest()
    return {
        "Authorization": "Basic " + base64.b64encode(f"membercare.till:{digest}".encode()).decode()
    }


def test_it_keeps_customers_across_a_restart_and_forgets_them_on_reset(tmp_path: Path) -> None:
    state = str(tmp_path / "state.sqlite3")
    first = Emulator(state, org_with())
    status, _, payload = first.handle(
        "POST", "/v2/customers", {}, basic(), json.dumps(member(1)).encode()
    )
    assert status == 200
    customer_id = json.loads(payload)["createdId"]
    first.close()
    second = Emulator(state, org_with())
    query = {"source": "INSTORE", "identifierName": "mobile", "identifierValue": mobile(1)}
    status, _, payload = second.handle("GET", "/v2/customers/lookup", query, basic(), b"")
    assert json.loads(payload)["entity"] == customer_id
    second.reset()
    status, _, _ = second.handle("GET", "/v2/customers/lookup", query, basic(), b"")
    assert status == 400
    second.close()


def test_it_serves_wsgi(tmp_path: Path) -> None:
    from wsgiref.util import setup_testing_defaults

    emulator = Emulator(org=org_with())
    environ: dict[str, object] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/v2/customers/lookup",
        "QUERY_STRING": f"source=INSTORE&identifierName=mobile&identifierValue={mobile(1)}",
        "HTTP_AUTHORIZATION": basic()["Authorization"],
    }
    setup_testing_defaults(environ)
    seen: list[str] = []
    body = b"".join(emulator(environ, lambda status, headers: seen.append(status)))  # type: ignore[arg-type,return-value]
    assert seen == ["400 Bad Request"]
    assert json.loads(body)["errors"][0]["code"] == 8015
