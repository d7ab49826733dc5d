"""Two console hosts on one PostgreSQL share Capillary's quota and split one import.

Runs where DATABASE_URL is PostgreSQL (CI's PostgreSQL run). Everything is a real
process: a standalone emulator on a socket (which logs when each request
arrives), and two "hosts", each its own working directory with its own
rate-limiter file setting (which a per-host limiter would use, and so send
twice the quota), each running gunicorn and a task worker. One scratch
database, `<name>_twohosts`, dropped at the end.

A 5,000-row import (B = 100) is uploaded through one host and sent by both
workers, while staff save hand edits through both hosts. Bounded: the import
must end within 100 seconds.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATABASE_URL = os.environ.get("DATABASE_URL", "")
pytestmark = pytest.mark.skipif(
    not DATABASE_URL.startswith(("postgres://", "postgresql://")),
    reason="two hosts share one PostgreSQL: DATABASE_URL is not PostgreSQL",
)

ROWS = 5_000
BATCH = 100
BULK_PER_MINUTE = 40  # R: 50 batches need more than a minute, so the quota binds
EDITS_PER_MINUTE = 30
EDITS_PER_HOST = 6
PASSWORD = "two-hosts-password-1234"
BULK_KEY = "POST /v2/integrations/customer/upsert/bulk"
EDIT_KEY = "PUT /v2/customers/{userId}"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

EMULATOR = textwrap.dedent(
    """
    import json, signal, sys, threading, time
    from customers.capillary_emulator import Emulator, serve

    state, org, port, log_path = sys.argv[1:5]
    emulator = Emulator(state, org)
    emulator.reset()
    handle = emulator.handle
    lock = threading.Lock()
    log = open(log_path, "a")

    def logged(method, path, query, headers, body):
        arrived = time.time()
        status, reply_headers, payload = handle(method, path, query, headers, body)
        with lock:
            log.write(json.dumps([arrived, method, path, status]) + "\\n")
            log.flush()
        return status, reply_headers, payload

    emulator.handle = logged
    server = serve(emulator, "127.0.0.1", int(port))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    server.shutdown()
    """
)

SETUP = textwrap.dedent(
    """
    import json
    from django.contrib.auth.models import Group, User
    from customers.capillary.schemas import AddCustomerRequest
    from customers.members import services

    support = Group.objects.get(name="Support staff")
    for name in ("ana", "ben"):
        user = User.objects.create_user(name, password="%s", first_name=name.title())
        user.groups.add(support)
    members = []
    for n in range(%d):
        mobile = f"91981000{n:04d}"
        created = services.register_member(
            actor=user,
            request=AddCustomerRequest.model_validate({"profiles": [{
                "firstName": "Hand", "lastName": f"Edit {n}", "source": "INSTORE",
                "identifiers": [{"type": "mobile", "value": mobile}]}]}),
        )
        members.append([created.customer_id, mobile])
    print(json.dumps(members))
    """
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def scratch_url() -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = f"{conninfo_to_dict(DATABASE_URL)['dbname']}_twohosts"
    return make_conninfo(DATABASE_URL, dbname=name)


def recreate(conninfo: str, *, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = str(conninfo_to_dict(conninfo)["dbname"])
    with psycopg.connect(make_conninfo(conninfo, dbname="postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        if not drop_only:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def as_url(conninfo: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(conninfo)
    return (
        f"postgres://{parts.get('user', '')}:{parts.get('password', '')}@"
        f"{parts.get('host', '127.0.0.1')}:{parts.get('port', 5432)}/{parts['dbname']}"
    )


def members_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["mobile", "first_name", "last_name"])
    for n in range(rows):
        writer.writerow([f"9197{n:08d}", f"Row{n}", "Import"])
    return out.getvalue().encode()


def signed_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    page = client.get("/login/")
    token = CSRF.search(page.text)
    assert token, page.text[:300]
    answer = client.post(
        "/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
    )
    assert answer.status_code == 302, answer.text[:300]
    return client


def most_in_any_minute(times: list[float]) -> int:
    times = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 60.0:
            first += 1
        most = max(most, last - first + 1)
    return most


class Cluster:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.processes: list[subprocess.Popen[bytes]] = []
        self.conninfo = scratch_url()
        self.url = as_url(self.conninfo)
        self.emulator_port = free_port()
        self.emulator_log = tmp / "emulator-arrivals.jsonl"
        org = json.loads((ROOT / "customers/capillary_emulator/default_org.json").read_text())
        org["rate_limits"] = {
            "enabled": True,
            "default": {"limit": 1000, "per_seconds": 60},
            "endpoints": {
                "E3": {"limit": BULK_PER_MINUTE, "per_seconds": 60},
                "E2": {"limit": EDITS_PER_MINUTE, "per_seconds": 60},
            },
        }
        self.org = tmp / "org.json"
        self.org.write_text(json.dumps(org))

    def env(self, home: Path) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("CAPILLARY_", "DJANGO_"))}
        return {
            **keep,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "membercare.settings",
            "DEBUG": "false",
            "SECRET_KEY": "two-hosts-" + "k" * 50,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "AUDIT_HMAC_KEY": "two-hosts-audit-key-" + "h" * 32,
            "LOG_LEVEL": "warning",
            "DATABASE_URL": self.url,
            "CAPILLARY_BASE_URL": f"http://127.0.0.1:{self.emulator_port}",
            "CAPILLARY_TILL_CODE": "membercare.till",
            "CAPILLARY_TILL_PASSWORD": "membercare123",
            "CAPILLARY_ORG_CATALOGUE": str(self.org),
            # Each host's own file: were it used, each host would believe it owns the quota.
            "CAPILLARY_RATE_LIMIT_STATE": str(home / "rate-limit.sqlite3"),
            "CAPILLARY_RATE_LIMITS": json.dumps(
                {BULK_KEY: BULK_PER_MINUTE, EDIT_KEY: EDITS_PER_MINUTE}
            ),
            "IMPORT_BATCH_SIZE": str(BATCH),
            "IMPORT_WORKERS_PER_JOB": "2",
        }

    def start(self, name: str, args: list[str], home: Path) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"{name}.log").open("wb")
        process = subprocess.Popen(
            args, cwd=home, env=self.env(home), stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        return process

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=self.tmp,
            env=self.env(self.tmp),
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    def host(self, name: str) -> str:
        home = self.tmp / name
        home.mkdir()
        port = free_port()
        self.start(
            f"{name}-web",
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "membercare.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "4",
            ],
            home,
        )
        self.start(
            f"{name}-worker",
            [sys.executable, str(ROOT / "manage.py"), "db_worker", "--queue-name", "*"],
            home,
        )
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        for process in self.processes:
            with suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()

    def sql(self, query: str, *params: object) -> list[tuple[object, ...]]:
        import psycopg

        with psycopg.connect(self.conninfo) as connection:
            return list(connection.execute(query, params).fetchall())


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    made = Cluster(tmp_path)
    recreate(made.conninfo)
    try:
        yield made
    finally:
        made.stop()
        recreate(made.conninfo, drop_only=True)


def test_two_hosts_share_the_quota_split_one_import_and_keep_the_history_whole(
    cluster: Cluster,
) -> None:
    started = time.monotonic()
    cluster.manage("migrate", "--noinput", "-v", "0")
    # DEBUG is off, as on real hosts: pages need the static files' manifest.
    cluster.manage("collectstatic", "--noinput", "-v", "0")
    emulator = cluster.start(
        "emulator",
        [
            sys.executable,
            "-c",
            EMULATOR,
            str(cluster.tmp / "emulator.sqlite3"),
            str(cluster.org),
            str(cluster.emulator_port),
            str(cluster.emulator_log),
        ],
        cluster.tmp,
    )
    wait_for(f"http://127.0.0.1:{cluster.emulator_port}/v2/customers")
    assert emulator.poll() is None
    members = json.loads(
        cluster.manage("shell", "-c", SETUP % (PASSWORD, 2 * EDITS_PER_HOST)).splitlines()[-1]
    )
    hosts = [cluster.host("host-a"), cluster.host("host-b")]
    for base in hosts:
        wait_for(f"{base}/healthz/")

    uploader = signed_in(hosts[0], "ana")
    form = uploader.get("/imports/new/")
    uploaded = uploader.post(
        "/imports/new/",
        data={
            "csrfmiddlewaretoken": CSRF.search(form.text).group(1),  # type: ignore[union-attr]
            "reason": "Two hosts",
            "batch_size": str(BATCH),
        },
        files={"file": ("members.csv", members_csv(ROWS), "text/csv")},
    )
    assert uploaded.status_code == 302, uploaded.text[:500]
    detail = uploaded.headers["location"]
    job_id = int(detail.rstrip("/").rsplit("/", 1)[-1])
    # A task worker checks the upload first; Start is offered once it is validated.
    checked_by = time.monotonic() + 60
    while time.monotonic() < checked_by:
        ((status,),) = cluster.sql("SELECT status FROM customers_importjob WHERE id = %s", job_id)
        if status != "uploaded":
            break
        time.sleep(0.5)
    assert status == "validated"
    page = uploader.get(detail)
    started_import = uploader.post(
        detail,
        data={"csrfmiddlewaretoken": CSRF.search(page.text).group(1), "action": "start"},  # type: ignore[union-attr]
    )
    assert started_import.status_code in (200, 302)

    # Hand edits through both hosts while the import runs.
    answers: list[str] = []
    lock = threading.Lock()

    def edit(base: str, username: str, mine: list[list[object]]) -> None:
        staff = signed_in(base, username)
        for customer_id, mobile in mine:
            url = f"/customers/{customer_id}/edit/?source=INSTORE"
            form = staff.get(url)
            token = CSRF.search(form.text)
            answer = staff.post(
                url,
                data={
                    "csrfmiddlewaretoken": token.group(1) if token else "",
                    "first_name": "Edited",
                    "last_name": f"On {username}",
                    "reason": "hand edit during an import",
                    "channels-TOTAL_FORMS": "1",
                    "channels-INITIAL_FORMS": "0",
                    "channels-0-type": "mobile",
                    "channels-0-value": mobile,
                    "channels-0-primary": "on",
                },
                headers={"HX-Request": "true"},
            )
            with lock:
                answers.append(f"{answer.status_code} {answer.text}")
            time.sleep(0.5)

    editors = [
        threading.Thread(target=edit, args=(hosts[0], "ana", members[:EDITS_PER_HOST])),
        threading.Thread(target=edit, args=(hosts[1], "ben", members[EDITS_PER_HOST:])),
    ]
    for thread in editors:
        thread.start()
    import_started = time.monotonic()
    deadline = import_started + 100
    while time.monotonic() < deadline:
        ((status,),) = cluster.sql("SELECT status FROM customers_importjob WHERE id = %s", job_id)
        if status in ("done", "failed", "cancelled"):
            break
        time.sleep(1)
    import_seconds = time.monotonic() - import_started
    for thread in editors:
        thread.join(timeout=60)

    # The import: done, every row once, in one final state, sent by both workers.
    ((status, done, failed, unknown),) = cluster.sql(
        "SELECT status, done_rows, failed_rows, unknown_rows FROM customers_importjob "
        "WHERE id = %s",
        job_id,
    )
    assert (status, done, failed, unknown) == ("done", ROWS, 0, 0)
    assert cluster.sql(
        "SELECT status, count(*) FROM customers_importrow WHERE job_id = %s GROUP BY status",
        job_id,
    ) in ([("ok", ROWS)], [("warning", ROWS)])
    # One applied attempt per row. A batch the console's own limiter held back past
    # its short wait is recorded as a failed attempt (nothing sent) and sent again.
    assert cluster.sql(
        "SELECT count(*), count(DISTINCT import_row) FROM customers_auditentry "
        "WHERE import_job_id = %s AND outcome <> 'failed'",
        job_id,
    ) == [(ROWS, ROWS)]
    assert cluster.sql(
        "SELECT DISTINCT response::jsonb->>'error' FROM customers_auditentry "
        "WHERE import_job_id = %s AND outcome = 'failed'",
        job_id,
    ) in ([], [("RateLimited",)])
    ((checked,),) = cluster.sql(
        "SELECT status FROM django_tasks_database_dbtaskresult WHERE task_path LIKE %s",
        "%.check_upload",
    )
    assert checked == "SUCCESSFUL"
    tasks = cluster.sql(
        "SELECT status, worker_ids FROM django_tasks_database_dbtaskresult WHERE task_path LIKE %s",
        "%.run_import",
    )
    assert [task[0] for task in tasks] == ["SUCCESSFUL", "SUCCESSFUL"]
    assert len({json.dumps(task[1]) for task in tasks}) == 2  # one task per host's worker

    # Capillary (the emulator) never received more than its quota in any minute.
    arrivals = [json.loads(line) for line in cluster.emulator_log.read_text().splitlines()]
    bulk = [at for at, method, path, _ in arrivals if path.endswith("/upsert/bulk")]
    edits = [
        at
        for at, method, path, _ in arrivals
        if method == "PUT" and re.fullmatch(r"/v2/customers/\d+", path)
    ]
    assert len(bulk) == ROWS // BATCH
    assert most_in_any_minute(bulk) <= BULK_PER_MINUTE
    assert most_in_any_minute(edits) <= EDITS_PER_MINUTE
    assert not [entry for entry in arrivals if entry[3] == 429]

    # Staff saw their edits saved: no rate limit reached them as an error.
    assert len(answers) == 2 * EDITS_PER_HOST
    assert all(a.startswith("200 ") and "Saved in Capillary" in a for a in answers), answers

    # The history is whole: both chains verify after two hosts appended at once.
    cluster.manage("verify_history")
    # Bounded: the import itself (50 batches at 40 a minute) ends well within two minutes.
    assert import_seconds < 100
    print(f"import {import_seconds:.0f} s, whole test {time.monotonic() - started:.0f} s")
