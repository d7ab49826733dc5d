"""A bulk import at scale: N rows through the real console processes, against the emulator.

    .venv/bin/python -m bench.bulk_import --rows 100000 --rate 300 --batch 100
    .venv/bin/python -m bench.bulk_import --rows 100000 --rate 600 --workers 2 \
        --database-url postgres://membercare:membercare@127.0.0.1:5432/membercare_bench

Everything runs as it does under `make run`, in a temporary directory: the web
process (`runserver`), `--workers` task workers (`db_worker`, each joining the one
import: IMPORT_WORKERS_PER_JOB), and the emulator served on a socket
(`capillary_emulator`, as a remote Capillary would be) with its own state file.
The emulator allows `--rate` bulk-upsert requests a minute, and the console's
shared limiter is configured to the same quota (on PostgreSQL, the limiter is
PostgreSQL's too, as settings choose by default).

The console's database is a SQLite file in the temporary directory, or with
`--database-url` a PostgreSQL database that the script DROPS and creates afresh
(name a scratch database; the role needs CREATEDB).

Every process runs with DEBUG off, as in production. The script signs in,
uploads the file, waits for the worker's check of it, opens the preview, starts
the import and watches the job until it ends, then downloads the result CSV.
It reports:

- throughput as a fraction of rate x batch rows a minute, over the whole run
  and after the first minute (the first minute may use a burst the quotas allow),
  and as a share of what the sliding minute allowed in the run's time;
- CPU per batch of the worker(s), the emulator, the web process and (on
  PostgreSQL) the database's backends, each process's own user + system time;
- peak RSS (VmHWM) of the web process after the upload and preview, and after
  the result download; and of the worker at the end of the job;
- time from the start button to the first progress the page can show.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import platform
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ORG = ROOT / "customers" / "capillary_emulator" / "default_org.json"
BULK_KEY = "POST /v2/integrations/customer/upsert/bulk"
# The console's limiter lengthens its minute by this margin (CAPILLARY_RATE_LIMIT_MARGIN_MS).
QUOTA_MARGIN_SECONDS = 0.25
PASSWORD = "bench-password-1234"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else float("nan")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (other load on the machine aside)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def members_file(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["mobile", "email", "first_name", "last_name", "loyalty_type", "sms_bulk", "ext:city"]
    )
    for index in range(rows):
        writer.writerow(
            [
                f"9199{index:08d}",
                f"member{index}@example.com",
                f"First{index}",
                "Bench",
                "loyalty",
                "OPTIN",
                "Pune",
            ]
        )
    return out.getvalue().encode()


class Console:
    """The console's processes in one temporary directory."""

    def __init__(
        self,
        workdir: Path,
        rate: int,
        batch: int,
        database_url: str = "",
        workers: int = 1,
        latency_ms: int = 0,
    ) -> None:
        self.workdir = workdir
        org = json.loads(DEFAULT_ORG.read_text())
        org["rate_limits"]["endpoints"]["E3"] = {"limit": rate, "per_seconds": 60}
        (workdir / "org.json").write_text(json.dumps(org))
        self.database = workdir / "console.sqlite3"
        self.database_url = database_url or f"sqlite:///{self.database}"
        if database_url:
            recreate_database(database_url)
        self.emulator_port = free_port()
        self.web_port = free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "membercare.settings",
            # As in production: with DEBUG on, Django keeps every query's SQL in
            # memory and formats it, which costs the worker CPU per statement.
            "DEBUG": "false",
            "SECRET_KEY": "bench-" + "x" * 60,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "LOG_LEVEL": "warning",
            "DATABASE_URL": self.database_url,
            "CAPILLARY_BASE_URL": f"http://127.0.0.1:{self.emulator_port}",
            "CAPILLARY_TILL_CODE": "membercare.till",
            "CAPILLARY_TILL_PASSWORD": "membercare123",
            "CAPILLARY_EMULATOR_STATE": str(workdir / "emulator.sqlite3"),
            "CAPILLARY_EMULATOR_ORG": str(workdir / "org.json"),
            "CAPILLARY_RATE_LIMIT_STATE": str(workdir / "rate-limit.sqlite3"),
            "CAPILLARY_RATE_LIMITS": json.dumps({BULK_KEY: rate}),
            "CAPILLARY_RATE_LIMIT_MARGIN_MS": str(round(QUOTA_MARGIN_SECONDS * 1000)),
            "IMPORT_BATCH_SIZE": str(batch),
            "IMPORT_WORKERS_PER_JOB": str(workers),
            # Capillary's own time to answer a bulk request (0: the emulator's only).
            "CAPILLARY_EMULATOR_FAULTS": json.dumps(
                {"latency": {"fixed_ms": latency_ms, "endpoint": "E3"}}
            ),
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._backends: dict[int, float] = {}

    def manage(self, *args: str) -> None:
        # Their chatter goes to stderr: stdout is the JSON report.
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            stdout=sys.stderr,
        )

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes[name] = process
        return process

    def wait_for_port(self, port: int, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                return
            time.sleep(0.1)
        raise SystemExit(f"nothing listens on port {port}; see the logs in {self.workdir}")

    def job(self, job_id: int) -> dict[str, object]:
        if self.database_url.startswith("postgres"):
            import psycopg
            from psycopg.rows import dict_row

            with psycopg.connect(self.database_url, row_factory=dict_row) as pg:
                found = pg.execute(
                    "SELECT * FROM customers_importjob WHERE id = %s", (job_id,)
                ).fetchone()
            assert found is not None
            return dict(found)
        with sqlite3.connect(self.database, timeout=30) as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM customers_importjob WHERE id = ?", (job_id,)).fetchone()
        return dict(row)

    def database_cpu(self, since: dict[int, float] | None = None) -> dict[int, float] | None:
        """CPU seconds of the PostgreSQL backends serving this database, by process id.

        With `since`, the seconds added since then (backends seen since then
        count whole). Backends that came and went between two samples are missed,
        as is the server's own background work (WAL writer, checkpointer): call it
        often (the progress loop does) and read the figure as a lower bound.
        None on SQLite, which runs inside the console's processes.
        """
        if not self.database_url.startswith("postgres"):
            return None
        from psycopg.conninfo import conninfo_to_dict

        name = conninfo_to_dict(self.database_url).get("dbname")
        seen = self._backends
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with suppress(OSError, IndexError, ValueError):
                command = (entry / "cmdline").read_bytes()
                if command.startswith(b"postgres: ") and f" {name} ".encode() in command:
                    seen[int(entry.name)] = cpu_seconds(int(entry.name))
        if since is None:
            return dict(seen)
        return {0: sum(cpu - since.get(pid, 0.0) for pid, cpu in seen.items())}

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def recreate_database(url: str) -> None:
    """Drop and create the PostgreSQL database the URL names (a scratch database)."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"--database-url must be a PostgreSQL URL, not {url!r}")
    name = str(conninfo_to_dict(url).get("dbname") or "")
    if not name:
        raise SystemExit("--database-url must name a database")
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def csrf(client: httpx.Client, url: str) -> str:
    client.get(url).raise_for_status()
    return client.cookies["csrftoken"]


def run(args: argparse.Namespace) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="bulk-import-bench-"))
    console = Console(
        workdir, args.rate, args.batch, args.database_url, args.workers, args.latency_ms
    )
    try:
        console.manage("migrate", "--noinput", "-v", "0")
        # DEBUG is off, as in production: pages use the static files' manifest.
        console.manage("collectstatic", "--noinput", "-v", "0")
        console.manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import Group, User; "
            f"u = User.objects.create_user('bench', password='{PASSWORD}'); "
            "u.groups.add(Group.objects.get(name='Support staff'))",
        )
        console.start(
            "emulator", "capillary_emulator", "--port", str(console.emulator_port), "--reset"
        )
        web = console.start("web", "runserver", f"127.0.0.1:{console.web_port}", "--noreload")
        workers = [
            console.start(f"worker{n}", "db_worker", "--queue-name", "*", "--no-reload")
            for n in range(args.workers)
        ]
        console.wait_for_port(console.emulator_port)
        console.wait_for_port(console.web_port)

        base = f"http://127.0.0.1:{console.web_port}"
        client = httpx.Client(base_url=base, timeout=600, follow_redirects=False)
        token = csrf(client, "/login/")
        signed_in = client.post(
            "/login/",
            data={"username": "bench", "password": PASSWORD, "csrfmiddlewaretoken": token},
        )
        if signed_in.status_code != 302:
            raise SystemExit(f"sign-in refused ({signed_in.status_code})")
        data = members_file(args.rows)

        token = csrf(client, "/imports/new/")
        started = time.monotonic()
        uploaded = client.post(
            "/imports/new/",
            data={
                "csrfmiddlewaretoken": token,
                "reason": "Benchmark import",
                "batch_size": str(args.batch),
            },
            files={"file": ("members.csv", data, "text/csv")},
        )
        upload_seconds = time.monotonic() - started
        if uploaded.status_code != 302:
            raise SystemExit(f"upload refused ({uploaded.status_code}); see {workdir}")
        detail = uploaded.headers["location"]
        job_id = int(detail.rstrip("/").rsplit("/", 1)[-1])
        # A task worker checks the upload into rows; Start is offered once it is validated.
        started = time.monotonic()
        while (status := console.job(job_id)["status"]) == "uploaded":
            if time.monotonic() - started > args.timeout:
                raise SystemExit(f"the upload was not checked in time; see {workdir}")
            time.sleep(0.2)
        check_seconds = time.monotonic() - started
        if status != "validated":
            raise SystemExit(f"the upload's check ended {status}; see {workdir}")
        started = time.monotonic()
        client.get(detail).raise_for_status()
        preview_seconds = time.monotonic() - started
        web_after_preview = peak_rss_mb(web.pid)

        token = client.cookies["csrftoken"]
        emulator = console.processes["emulator"]
        cpu_before = {
            "worker": sum(cpu_seconds(worker.pid) for worker in workers),
            "emulator": cpu_seconds(emulator.pid),
            "web": cpu_seconds(web.pid),
        }
        database_before = console.database_cpu()
        load_before = os.getloadavg()[0]
        clicked = time.monotonic()
        client.post(detail, data={"csrfmiddlewaretoken": token, "action": "start"})
        if console.job(job_id)["status"] not in ("queued", "running", "done"):
            raise SystemExit(f"the import did not start; see {workdir}")
        first_progress = None
        samples: list[tuple[float, int]] = []
        deadline = clicked + args.timeout
        while True:
            job = console.job(job_id)
            answered = sum(
                int(str(job[key])) for key in ("done_rows", "failed_rows", "unknown_rows")
            )
            now = time.monotonic()
            samples.append((now - clicked, answered))
            if answered and first_progress is None:
                first_progress = now - clicked
            console.database_cpu()
            if job["status"] in ("done", "failed", "cancelled"):
                break
            if now > deadline:
                raise SystemExit(f"the import did not end within {args.timeout} s; see {workdir}")
            time.sleep(0.2)
        worker_peak = max(peak_rss_mb(worker.pid) for worker in workers)
        worker_cpu = sum(cpu_seconds(worker.pid) for worker in workers) - cpu_before["worker"]
        emulator_cpu = cpu_seconds(emulator.pid) - cpu_before["emulator"]
        web_cpu = cpu_seconds(web.pid) - cpu_before["web"]
        database_added = console.database_cpu(database_before)
        database_cpu = None if database_added is None else database_added[0]
        load_after = os.getloadavg()[0]

        started = time.monotonic()
        with client.stream("GET", f"{detail}results.csv") as response:
            lines = sum(chunk.count(b"\n") for chunk in response.iter_bytes())
        download_seconds = time.monotonic() - started
        web_after_download = peak_rss_mb(web.pid)
        progress_page = client.get(detail, headers={"HX-Request": "true", "HX-Target": "progress"})
        assert f'data-count="done">{job["done_rows"]}<' in progress_page.text
    finally:
        console.stop()

    job_started = _timestamp(job["started_at"])
    job_finished = _timestamp(job["finished_at"])
    run_seconds = job_finished - job_started
    quota = args.rate * args.batch
    answered = samples[-1][1]
    batches = answered / args.batch
    after_minute = [s for s in samples if s[0] >= 60]
    steady = None
    if after_minute and samples[-1][0] - after_minute[0][0] > 30:
        steady = (answered - after_minute[0][1]) / (samples[-1][0] - after_minute[0][0]) * 60
    result = {
        "database": "postgresql" if args.database_url else "sqlite",
        "workers": args.workers,
        "capillary_latency_ms": args.latency_ms,
        "rows": args.rows,
        "rate_per_minute": args.rate,
        "batch": args.batch,
        "status": job["status"],
        "done": job["done_rows"],
        "failed": job["failed_rows"],
        "unknown": job["unknown_rows"],
        "upload_seconds": round(upload_seconds, 1),
        "check_seconds": round(check_seconds, 1),
        "preview_seconds": round(preview_seconds, 2),
        "run_seconds": round(run_seconds, 1),
        "rows_per_minute": round(answered / run_seconds * 60),
        "fraction_of_quota": round(answered / run_seconds * 60 / quota, 3),
        "steady_rows_per_minute": round(steady) if steady else None,
        "steady_fraction_of_quota": round(steady / quota, 3) if steady else None,
        # A sliding minute lets R requests through in any 60 s, so a run of T seconds
        # may send up to R x ceil(T / 60) at once-a-minute bursts: fractions of R x B
        # over 1 then mean the quota, not the console, set the pace. This one is the
        # share of what the quota allowed in the run's time, at most 1.
        "fraction_of_quota_allowed": round(
            answered / (quota * math.ceil(run_seconds / (60 + QUOTA_MARGIN_SECONDS))), 3
        ),
        "first_progress_seconds": round(first_progress or float("nan"), 2),
        "web_peak_rss_mb_after_upload_and_preview": round(web_after_preview),
        "web_peak_rss_mb_after_result_download": round(web_after_download),
        "worker_peak_rss_mb": round(worker_peak),
        "worker_cpu_seconds": round(worker_cpu, 1),
        "worker_cpu_ms_per_batch": round(worker_cpu / batches * 1000),
        "emulator_cpu_seconds": round(emulator_cpu, 1),
        "emulator_cpu_ms_per_batch": round(emulator_cpu / batches * 1000),
        "web_cpu_ms_per_batch": round(web_cpu / batches * 1000),
        "postgresql_cpu_ms_per_batch": (
            round(database_cpu / batches * 1000) if database_cpu is not None else None
        ),
        "load_average_1min_at_start_and_end": [round(load_before, 2), round(load_after, 2)],
        "result_csv_lines": lines,
        "result_csv_seconds": round(download_seconds, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }
    if args.keep:
        print(f"kept {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def _timestamp(value: object) -> float:
    from datetime import datetime

    return datetime.fromisoformat(str(value)).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=300, help="bulk requests a minute (R)")
    parser.add_argument("--batch", type=int, default=100, help="rows per request (B)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds the run may take")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--database-url",
        default="",
        help="a scratch PostgreSQL database (dropped and created again); default SQLite",
    )
    parser.add_argument("--workers", type=int, default=1, help="task workers sharing the import")
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=0,
        help="how long the emulator takes over each bulk request, as Capillary would",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="run today's path first (SQLite, one worker), then the configuration asked for",
    )
    args = parser.parse_args()
    if args.workers < 1:
        raise SystemExit("--workers must be at least 1")
    results = []
    if args.compare:
        results.append(run(argparse.Namespace(**{**vars(args), "database_url": "", "workers": 1})))
    results.append(run(args))
    if len(results) == 2 and results[0]["rows_per_minute"]:
        results[1]["ratio_to_sqlite_one_worker"] = round(
            int(results[1]["rows_per_minute"]) / int(results[0]["rows_per_minute"]), 2
        )
    print(json.dumps(results if len(results) > 1 else results[0], indent=2))


if __name__ == "__main__":
    main()
