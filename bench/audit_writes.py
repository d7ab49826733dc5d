"""The audit write path of bulk imports: entries a second, and console CPU per batch.

    .venv/bin/python bench/audit_writes.py \
        --database-url postgres://membercare:membercare@127.0.0.1:5432/membercare_bench_audit \
        [--batches 40] [--batch 100] [--processes 1,4]

Each process records `--batches` batches the way an import worker does: the
batch's pending entries before the Capillary call, then their completions. Two
paths, side by side in one run:

- today's (before issue 16): one `start_write` per entry inside one transaction,
  then one `finish_write` per entry inside another, as `upsert_members` did: a
  chain-head read, an INSERT and a savepoint per entry, and per completion an
  UPDATE, a head read, an INSERT and a savepoint;
- batch: one `start_writes` and one `finish_writes` per batch (one multi-row
  INSERT of the entries, one UPDATE of their outcomes, one INSERT of their code
  rows, one INSERT of the block of completion records).

Reported per path and process count: entries a second (written and completed,
all processes together, wall clock) and the console's CPU per batch (this
process's user+system time; PostgreSQL's own work is not in it). Then
verify_history checks the whole chain. The database named is DROPPED and
created again. The machine is shared: the 1-minute load average is printed
beside each figure.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REQUEST = {
    "profiles": [
        {
            "firstName": "Bench",
            "lastName": "Member",
            "source": "INSTORE",
            "identifiers": [
                {"type": "mobile", "value": "919900000001"},
                {"type": "email", "value": "member1@example.com"},
            ],
            "fields": {"city": "Pune"},
        }
    ],
    "loyaltyInfo": {"loyaltyType": "loyalty"},
    "subscriptions": [{"channel": "SMS", "priority": "BULK", "type": "OPTIN"}],
}
RESPONSE = {
    "entityId": 123456,
    "result": None,
    "errors": [],
    "warnings": [{"code": 1102, "message": "Email already verified"}],
}


def setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "membercare.settings")
    os.environ.setdefault("LOG_LEVEL", "warning")
    # As in production: DEBUG off, so Django does not keep every statement in memory.
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-use-0123456789")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    os.environ.setdefault("AUDIT_HMAC_KEY", "bench-only-audit-key-not-for-production-0123456789")
    import django

    django.setup()


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = str(conninfo_to_dict(url).get("dbname") or "")
    if not url.startswith(("postgres://", "postgresql://")) or not name:
        raise SystemExit("--database-url must name a PostgreSQL database")
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def child(url: str, path: str, batches: int, batch: int, start_at: float) -> None:
    """One worker process: write `batches` batches, print its CPU and timings as JSON."""
    setup(url)
    from django.contrib.auth.models import User
    from django.db import transaction

    from customers.history import audit
    from customers.models import AuditEntry

    actor = User.objects.get(username="bench")
    pid = os.getpid()
    while time.time() < start_at:
        time.sleep(0.01)
    cpu_started = time.process_time()
    wall_started = time.perf_counter()
    for number in range(batches):
        writes = [
            audit.Write(
                actor=actor,
                action=AuditEntry.Action.BULK_UPSERT,
                reason="Bulk import #1",
                identifier_type="mobile",
                identifier_value=f"9199{pid % 10000:04d}{number:03d}{row:03d}",
                source="INSTORE",
                request=REQUEST,
                import_job_id=1,
                import_row=number * batch + row,
            )
            for row in range(batch)
        ]
        answer = audit.Answer(
            outcome=AuditEntry.Outcome.OK_WITH_WARNINGS,
            http_status=200,
            request_id="bench",
            response=RESPONSE,
            warning_codes=[1102],
            duration_ms=150,
            customer_id=None,
        )
        if path == "batch":
            entries = audit.start_writes(writes)
            audit.finish_writes([(entry, answer) for entry in entries])
        else:
            with transaction.atomic():
                entries = [
                    audit.start_write(
                        actor=w.actor,
                        action=w.action,
                        reason=w.reason,
                        identifier_type=w.identifier_type,
                        identifier_value=w.identifier_value,
                        source=w.source,
                        request=w.request,
                        import_job_id=w.import_job_id,
                        import_row=w.import_row,
                    )
                    for w in writes
                ]
            with transaction.atomic():
                for entry in entries:
                    audit.finish_write(
                        entry,
                        outcome=answer.outcome,
                        http_status=answer.http_status,
                        request_id=answer.request_id,
                        response=answer.response,
                        warning_codes=answer.warning_codes,
                        duration_ms=answer.duration_ms,
                    )
    print(
        json.dumps(
            {
                "wall": time.perf_counter() - wall_started,
                "cpu": time.process_time() - cpu_started,
                "ended": time.time(),
            }
        )
    )


def run_path(url: str, path: str, processes: int, batches: int, batch: int) -> dict[str, object]:
    start_at = time.time() + 3  # every process imported Django and connected before the start
    load = os.getloadavg()[0]
    children = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--child",
                path,
                "--database-url",
                url,
                "--batches",
                str(batches),
                "--batch",
                str(batch),
                "--start-at",
                str(start_at),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    results = []
    for process in children:
        out, _ = process.communicate(timeout=1800)
        if process.returncode:
            raise SystemExit(f"a {path} writer failed")
        results.append(json.loads(out.strip().splitlines()[-1]))
    elapsed = max(r["ended"] for r in results) - start_at
    entries = processes * batches * batch
    return {
        "path": path,
        "processes": processes,
        "entries": entries,
        "seconds": round(elapsed, 2),
        "entries_per_second": round(entries / elapsed),
        "cpu_ms_per_batch": round(sum(r["cpu"] for r in results) / (processes * batches) * 1000, 1),
        "load_average_1min_at_start_and_end": [round(load, 2), round(os.getloadavg()[0], 2)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--batches", type=int, default=40, help="batches per process")
    parser.add_argument("--batch", type=int, default=100, help="entries per batch")
    parser.add_argument("--processes", default="1,4", help="process counts to run, e.g. 1,4")
    parser.add_argument("--child", choices=["today", "batch"], help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.database_url, args.child, args.batches, args.batch, args.start_at)
        return

    recreate_database(args.database_url)
    setup(args.database_url)
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    User.objects.create_user("bench")
    results = []
    for processes in [int(n) for n in args.processes.split(",")]:
        pair = {}
        for path in ("today", "batch"):
            pair[path] = run_path(args.database_url, path, processes, args.batches, args.batch)
            results.append(pair[path])
        pair["batch"]["speed_ratio_to_today"] = round(
            int(pair["batch"]["entries_per_second"]) / int(pair["today"]["entries_per_second"]), 2
        )
        pair["batch"]["cpu_ratio_to_today"] = round(
            float(pair["batch"]["cpu_ms_per_batch"]) / float(pair["today"]["cpu_ms_per_batch"]), 2
        )
    started = time.perf_counter()
    call_command("verify_history", verbosity=0, stdout=io.StringIO())  # raises on a break
    verified = round(time.perf_counter() - started, 1)
    print(json.dumps({"runs": results, "verify_history_passed_seconds": verified}, indent=2))


if __name__ == "__main__":
    main()
