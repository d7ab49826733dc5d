"""How much time the console adds on top of Capillary, and how many profiles it serves.

Part 1, in-process: with the emulator answering every call after a fixed
latency (150 ms by default), the server-side time of the profile view and of
an edit submit, each divided by the time spent waiting on Capillary inside it.
Target: a median ratio of at most 1.10.

Part 2, over HTTP with Locust (bench/locustfile.py, headless): signed-in
support staff search, open profiles, edit and save, and read the history, on
gunicorn hosts (2 gthread workers each) against the emulator on its own socket
with the same latency. Runs one host on SQLite (today's single-host set-up),
then with --database-url one and two hosts on one PostgreSQL; requests a second
and p50/p95/p99 per page, with the machine's load averages.

    .venv/bin/python bench/pages.py [--latency-ms 150] [--samples 30] [--users 20]
        [--seconds 30] [--database-url postgres://.../membercare_bench_pages]

Everything runs against temporary files; nothing outside a temp dir is touched.
"""

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def prepare_environment(workdir: Path, latency_ms: int) -> dict[str, str]:
    org = json.loads((ROOT / "customers/capillary_emulator/default_org.json").read_text())
    # The load test measures the console, not the emulator's own per-minute quota.
    org["rate_limits"]["enabled"] = False
    org_path = workdir / "org.json"
    org_path.write_text(json.dumps(org))
    env = {
        "DJANGO_SETTINGS_MODULE": "membercare.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + "x" * 60,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "DATABASE_URL": f"sqlite:///{workdir / 'console.sqlite3'}",
        "CAPILLARY_EMULATOR_STATE": str(workdir / "emulator.sqlite3"),
        "CAPILLARY_EMULATOR_ORG": str(org_path),
        "CAPILLARY_RATE_LIMIT_STATE": str(workdir / "limits.sqlite3"),
        "CAPILLARY_RATE_LIMITS": json.dumps({"default": 1_000_000}),
        "CAPILLARY_EMULATOR_FAULTS": json.dumps({"latency": {"fixed_ms": latency_ms}}),
        "LOG_LEVEL": "error",
    }
    os.environ.update(env)
    return env


class TimingTransport(httpx.BaseTransport):
    """Adds up the time spent inside Capillary (here: the emulator).

    Part 1 sends one page at a time, so one total serves, whichever thread of
    the view made the call.
    """

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.spent = 0.0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = self.inner.handle_request(request)
            response.read()
            return response
        finally:
            with self.lock:
                self.spent += time.perf_counter() - started

    def take(self) -> float:
        with self.lock:
            spent, self.spent = self.spent, 0.0
        return spent


def in_process(samples: int) -> dict[str, object]:
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client

    from customers import gateway
    from customers.capillary.client import CapillaryClient
    from customers.capillary.schemas import AddCustomerRequest
    from customers.members import services

    call_command("migrate", verbosity=0)
    # DEBUG is off, as in production: static files come from the manifest.
    call_command("collectstatic", interactive=False, verbosity=0)
    user = User.objects.create_user("bench", first_name="Bench")
    user.groups.add(Group.objects.get(name="Support staff"))
    emulator = gateway.get_emulator()
    timing = TimingTransport(emulator.transport())
    gateway._client = CapillaryClient(gateway.EMULATOR_BASE_URL, gateway._auth(), transport=timing)
    member = services.register_member(
        actor=user,
        request=AddCustomerRequest.model_validate(
            {
                "profiles": [
                    {
                        "firstName": "Bench",
                        "identifiers": [{"type": "mobile", "value": "919900000001"}],
                        "source": "INSTORE",
                    }
                ]
            }
        ),
    ).customer_id
    client = Client()
    client.force_login(user)
    profile_url = f"/customers/{member}/?source=INSTORE"
    edit_url = f"/customers/{member}/edit/?source=INSTORE"
    client.get(edit_url)  # warms the extended-field cache, as any running console has
    results: dict[str, list[tuple[float, float]]] = {"profile": [], "edit_submit": []}
    for number in range(samples):
        timing.take()
        started = time.perf_counter()
        response = client.get(profile_url)
        total = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        results["profile"].append((total, timing.take()))
        form = {
            "first_name": "Bench",
            "last_name": f"Run {number}",
            "reason": "benchmark",
            "channels-TOTAL_FORMS": "1",
            "channels-INITIAL_FORMS": "0",
            "channels-0-type": "mobile",
            "channels-0-value": "919900000001",
            "channels-0-primary": "on",
        }
        timing.take()
        started = time.perf_counter()
        # As the browser sends it: htmx, answered with the answer alone.
        response = client.post(edit_url, form, headers={"HX-Request": "true"})
        total = time.perf_counter() - started
        assert b"Saved in Capillary" in response.content, response.content[:500]
        results["edit_submit"].append((total, timing.take()))
    report: dict[str, object] = {}
    for name, pairs in results.items():
        ratios = sorted(total / spent for total, spent in pairs)
        report[name] = {
            "median_ratio": round(statistics.median(ratios), 3),
            "p90_ratio": round(ratios[int(len(ratios) * 0.9) - 1], 3),
            "median_total_ms": round(statistics.median(t for t, _ in pairs) * 1000, 1),
            "median_capillary_ms": round(statistics.median(s for _, s in pairs) * 1000, 1),
            "median_overhead_ms": round(statistics.median(t - s for t, s in pairs) * 1000, 1),
        }
    report["member"] = member
    report["session"] = _session_cookie(user)
    return report


def _session_cookie(user: object) -> str:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)  # type: ignore[attr-defined]
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()  # type: ignore[attr-defined]
    session.create()
    return str(session.session_key)


STAFF_PASSWORD = "bench-password-1234"
# customers.gateway.DEFAULT_RATE_LIMITS' keys (not imported: that needs Django set up).
DEFAULT_RATE_LIMIT_KEYS = (
    "POST /v2/customers",
    "PUT /v2/customers/{userId}",
    "PUT /v2/customers/lookup",
    "POST /v1.1/customer/update",
    "POST /v2/customers/{userId}/changeIdentifier",
)
SETUP_SCRIPT = """
import json
from django.contrib.auth.models import Group, User
from customers.capillary.schemas import AddCustomerRequest
from customers.members import services

group = Group.objects.get(name="Support staff")
staff = []
for n in range({staff}):
    user = User.objects.create_user(f"agent{{n}}", password="{password}", first_name="Agent")
    user.groups.add(group)
    staff.append([user.username, "{password}"])
members = []
for n in range({members}):
    mobile = f"9199100{{n:05d}}"
    created = services.register_member(
        actor=user,
        request=AddCustomerRequest.model_validate({{"profiles": [{{
            "firstName": "Load", "lastName": f"Member {{n}}", "source": "INSTORE",
            "identifiers": [{{"type": "mobile", "value": mobile}}]}}]}}),
    )
    members.append([created.customer_id, mobile])
print(json.dumps({{"staff": staff, "members": members}}))
"""


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def _recreate_postgres(url: str) -> None:
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = str(conninfo_to_dict(url).get("dbname") or "")
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def with_locust(
    *,
    latency_ms: int,
    hosts: int,
    database_url: str,
    users: int,
    seconds: int,
    threads: int,
) -> dict[str, object]:
    """Locust's signed-in staff against `hosts` gunicorn hosts on one database.

    The emulator runs on its own socket with `latency_ms` on every call, as a
    remote Capillary would; each host is a gunicorn (2 gthread workers) with its
    own working directory, sharing the database and, through it, the rate limiter.
    """
    workdir = Path(tempfile.mkdtemp(prefix="membercare-locust-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        org = json.loads((ROOT / "customers/capillary_emulator/default_org.json").read_text())
        org["rate_limits"]["enabled"] = False  # the console is measured, not the quota
        (workdir / "org.json").write_text(json.dumps(org))
        if database_url:
            _recreate_postgres(database_url)
        emulator_port = _free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "membercare.settings",
            "DEBUG": "false",
            "SECRET_KEY": "bench-" + "x" * 60,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "DATABASE_URL": database_url or f"sqlite:///{workdir / 'console.sqlite3'}",
            "CAPILLARY_BASE_URL": f"http://127.0.0.1:{emulator_port}",
            "CAPILLARY_TILL_CODE": "membercare.till",
            "CAPILLARY_TILL_PASSWORD": "membercare123",
            "CAPILLARY_EMULATOR_STATE": str(workdir / "emulator.sqlite3"),
            "CAPILLARY_EMULATOR_ORG": str(workdir / "org.json"),
            "CAPILLARY_EMULATOR_FAULTS": json.dumps({"latency": {"fixed_ms": latency_ms}}),
            "CAPILLARY_RATE_LIMIT_STATE": str(workdir / "limits.sqlite3"),
            # Every endpoint's quota lifted, not only "default": the console's per-endpoint
            # defaults (50 edits a minute) would otherwise refuse saves under this load.
            "CAPILLARY_RATE_LIMITS": json.dumps(
                dict.fromkeys([*DEFAULT_RATE_LIMIT_KEYS, "default"], 1000000)
            ),
            "LOG_LEVEL": "error",
        }
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        subprocess.run(
            [*manage, "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        log = (workdir / "emulator.log").open("wb")
        processes.append(
            subprocess.Popen(
                [*manage, "capillary_emulator", "--port", str(emulator_port), "--reset"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        _wait_for(f"http://127.0.0.1:{emulator_port}/v2/customers")
        made = subprocess.run(
            [
                *manage,
                "shell",
                "-c",
                SETUP_SCRIPT.format(staff=users, members=50, password=STAFF_PASSWORD),
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        people = json.loads(made.stdout.strip().splitlines()[-1])
        bases = []
        for number in range(hosts):
            port = _free_port()
            home = workdir / f"host{number}"
            home.mkdir()
            processes.append(
                subprocess.Popen(
                    [
                        str(ROOT / ".venv/bin/gunicorn"),
                        "membercare.wsgi",
                        "--chdir",
                        str(ROOT),
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        "2",
                        "--worker-class",
                        "gthread",
                        "--threads",
                        str(threads),
                        "--log-level",
                        "warning",
                    ],
                    cwd=home,
                    env=env,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            _wait_for(f"{base}/healthz/")
        prefix = workdir / "locust"
        load_before = os.getloadavg()
        subprocess.run(
            [
                str(ROOT / ".venv/bin/locust"),
                "-f",
                str(ROOT / "bench/locustfile.py"),
                "--headless",
                "--users",
                str(users),
                "--spawn-rate",
                str(users),
                "--run-time",
                f"{seconds}s",
                "--stop-timeout",
                "10",
                "--csv",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "ERROR",
            ],
            cwd=workdir,
            env={
                **os.environ,
                "BENCH_HOSTS": ",".join(bases),
                "BENCH_STAFF": json.dumps(people["staff"]),
                "BENCH_MEMBERS": json.dumps(people["members"]),
            },
            check=False,
            capture_output=True,
            timeout=seconds + 120,
        )
        load_after = os.getloadavg()
        pages: dict[str, dict[str, float]] = {}
        with (workdir / "locust_stats.csv").open() as stats:
            for row in csv.DictReader(stats):
                name = row["Name"]
                pages[name] = {
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "requests_per_second": round(float(row["Requests/s"]), 1),
                    "p50_ms": float(row["50%"]),
                    "p95_ms": float(row["95%"]),
                    "p99_ms": float(row["99%"]),
                }
        failures: list[str] = []
        with (workdir / "locust_failures.csv").open() as failed:
            for row in csv.DictReader(failed):
                failures.append(f"{row['Name']}: {row['Error'][:200]} (x{row['Occurrences']})")
        return {
            "failures": failures,
            "database": "postgresql" if database_url else "sqlite",
            "hosts": hosts,
            "users": users,
            "seconds": seconds,
            "latency_ms": latency_ms,
            "pages": pages,
            "load_average_1_5_min_before": [round(x, 2) for x in load_before[:2]],
            "load_average_1_5_min_after": [round(x, 2) for x in load_after[:2]],
        }
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--users", type=int, default=20, help="signed-in staff Locust simulates")
    parser.add_argument("--seconds", type=int, default=30, help="each Locust run")
    parser.add_argument("--threads", type=int, default=10, help="gthread threads per worker")
    parser.add_argument(
        "--database-url",
        default="",
        help="a scratch PostgreSQL database (dropped and created for each run)",
    )
    parser.add_argument("--skip-in-process", action="store_true", help="only the Locust runs")
    args = parser.parse_args()
    report: dict[str, object] = {"latency_ms": args.latency_ms}
    if not args.skip_in_process:
        workdir = Path(tempfile.mkdtemp(prefix="membercare-bench-"))
        try:
            prepare_environment(workdir, args.latency_ms)
            in_proc = in_process(args.samples)
            in_proc.pop("member")
            in_proc.pop("session")
            report["in_process"] = in_proc
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    runs = [("sqlite", 1)]
    if args.database_url:
        runs += [("postgresql", 1), ("postgresql", 2)]
    report["locust"] = [
        with_locust(
            latency_ms=args.latency_ms,
            hosts=hosts,
            database_url=args.database_url if database == "postgresql" else "",
            users=args.users,
            seconds=args.seconds,
            threads=args.threads,
        )
        for database, hosts in runs
    ]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
