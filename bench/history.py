"""Change history at scale: seed N entries, then time the auditors' screens.

    DJANGO_SETTINGS_MODULE=membercare.settings .venv/bin/python bench/history.py \
        --entries 1000000 [--database-url postgres://...] [--repeat 40] [--verify]

Without --database-url it uses its own SQLite file, var/bench/history.sqlite3,
never the console's database; a PostgreSQL database named in the URL is
created when missing. Seeding tops the table up to --entries and is skipped
when it already holds that many, so a second run only measures.

Server time is measured in-process with Django's test Client: routing,
middleware, queries and template rendering, without a network in between.
Wall-clock time is what a user waits for; this process's CPU time is printed
beside it because on a shared machine the wall clock also measures the
neighbours (PostgreSQL's own work is in the wall clock only).
Prints a Markdown report for docs/benchmarks.md.
"""

import argparse
import os
import platform
import statistics
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--export-rows", type=int, default=100_000)
    parser.add_argument("--verify", action="store_true", help="also time verify_history")
    args = parser.parse_args()

    database_url = args.database_url or f"sqlite:///{ROOT / 'var' / 'bench' / 'history.sqlite3'}"
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "membercare.settings")
    sys.path.insert(0, str(ROOT))
    if database_url.startswith("postgres"):
        _create_postgres_database(database_url)

    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_test_environment

    settings.DEBUG = False  # no query log growing during the runs
    warnings.filterwarnings("ignore", message="No directory at")  # collectstatic is not needed
    setup_test_environment()
    Bench(args).run()


def _create_postgres_database(url: str) -> None:
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    with psycopg.connect(
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        user=config["USER"],
        password=config["PASSWORD"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
        ).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{config["NAME"]}"')


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    def emit(self, *lines: str) -> None:
        print(*lines, sep="\n", flush=True)

    def run(self) -> None:
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        from customers.models import AuditEntry

        have = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
        seeded = ""
        if have < self.args.entries:
            started = time.perf_counter()
            call_command("seed_history", entries=self.args.entries - have, verbosity=0)
            seeded = f"seeded {self.args.entries - have:,} entries in {_seconds(started)}"
        count = AuditEntry.objects.count()
        self.header(connection, count, seeded)
        self.screens(count)
        self.export()
        if self.args.verify:
            started = time.perf_counter()
            call_command("verify_history", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
            self.emit(f"\n`verify_history` over {count:,} entries: {_seconds(started)}.")

    def header(self, connection: Any, count: int, seeded: str) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SHOW server_version")
                version = f"PostgreSQL {cursor.fetchone()[0]}"
            else:
                cursor.execute("SELECT sqlite_version()")
                version = f"SQLite {cursor.fetchone()[0]}"
        self.emit(
            f"### {version}, {count:,} entries",
            "",
            f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
            f"{platform.python_version()}, Django {__import__('django').get_version()}."
            + (f" Setup: {seeded}." if seeded else ""),
            "",
            "| screen | p50 ms | p95 ms | CPU p50 ms | CPU p95 ms | queries |",
            "|---|---:|---:|---:|---:|---:|",
        )

    def screens(self, count: int) -> None:
        from django.contrib.auth.models import Group, User
        from django.template.loader import render_to_string
        from django.test import Client
        from django.urls import reverse

        from customers.console.roles import AUDITOR
        from customers.history.audit import entries_for_member
        from customers.history.queries import Cursor
        from customers.models import READ_ACTIONS, AuditEntry

        auditor, _ = User.objects.get_or_create(username="bench.auditor")
        auditor.groups.add(Group.objects.get(name=AUDITOR))
        admin, _ = User.objects.get_or_create(
            username="bench.admin", defaults={"is_staff": True, "is_superuser": True}
        )
        console, django_admin = Client(), Client()
        console.force_login(auditor)
        django_admin.force_login(admin)

        last_id = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
        middle = (
            AuditEntry.objects.filter(id__gte=last_id // 2)
            .exclude(action__in=READ_ACTIONS)
            .exclude(outcome="pending")
            .order_by("id")
            .first()
        )
        assert middle is not None, "seed the table first"
        deep = Cursor.after(middle, "older").encode()
        newer = Cursor.after(middle, "newer").encode()
        history = reverse("history")
        admin_list = reverse("admin:customers_auditentry_changelist")

        def page(client: Client, url: str) -> Callable[[], Any]:
            def get() -> Any:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                return response

            return get

        def timeline() -> str:
            entries = entries_for_member(middle.customer_id)
            return render_to_string(
                "members/_member_history.html",
                {"history_entries": entries, "customer_id": middle.customer_id},
            )

        cases: list[tuple[str, Callable[[], Any]]] = [
            ("history, first page", page(console, history)),
            ("history, first page (htmx partial)", self._htmx(console, history)),
            ("history, page in the middle (cursor)", page(console, f"{history}?cursor={deep}")),
            ("history, Newer from the middle", page(console, f"{history}?cursor={newer}")),
            (
                "history, action=update_profile, middle",
                page(console, f"{history}?action=update_profile&cursor={deep}"),
            ),
            (
                "history, outcome=unknown, middle",
                page(console, f"{history}?outcome=unknown&cursor={deep}"),
            ),
            (
                "history, staff + role, middle",
                page(
                    console,
                    f"{history}?staff={middle.actor_username}"
                    f"&role={middle.actor_role}&cursor={deep}",
                ),
            ),
            (
                "history, code=8107 (common), middle",
                page(console, f"{history}?code=8107&cursor={deep}"),
            ),
            ("history, code=8045 (rare), first page", page(console, f"{history}?code=8045")),
            ("history, member filter", page(console, f"{history}?member={middle.customer_id}")),
            (
                "history, date range (one day), middle of it",
                page(
                    console,
                    f"{history}?date_from={middle.created_at:%Y-%m-%d}"
                    f"&date_to={middle.created_at:%Y-%m-%d}&cursor={deep}",
                ),
            ),
            ("member timeline (partial)", timeline),
            ("entry detail", page(console, reverse("history_detail", args=[middle.pk]))),
            ("admin changelist, first page", page(django_admin, admin_list)),
            (
                "admin changelist, outcome=unknown",
                page(django_admin, f"{admin_list}?outcome__exact=unknown"),
            ),
            (
                f"admin changelist, page {count // 100:,} (the middle)",
                page(django_admin, f"{admin_list}?p={count // 100}"),
            ),
        ]
        results = {}
        for name, call in cases:
            results[name] = self.measure(name, call)
        ratio = results["admin changelist, first page"] / results["history, first page"]
        self.emit(f"\nAdmin changelist first page vs history first page (p50): {ratio:.1f}x.")

    def _htmx(self, client: Any, url: str) -> Callable[[], Any]:
        def get() -> Any:
            response = client.get(url, headers={"HX-Request": "true"})
            assert response.status_code == 200
            return response

        return get

    def measure(self, name: str, call: Callable[[], Any]) -> float:
        from django.db import connection

        for _ in range(2):
            call()
        # Counted by a wrapper: the request_started signal empties connection.queries.
        queries = []

        def count(execute: Any, sql: str, *args: Any) -> Any:
            queries.append(sql)
            return execute(sql, *args)

        with connection.execute_wrapper(count):
            call()
        wall, cpu = [], []
        for _ in range(self.args.repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            call()
            cpu.append((time.process_time() - started_cpu) * 1000)
            wall.append((time.perf_counter() - started) * 1000)
        p50, p95 = statistics.median(wall), statistics.quantiles(wall, n=20)[18]
        cpu50, cpu95 = statistics.median(cpu), statistics.quantiles(cpu, n=20)[18]
        self.emit(
            f"| {name} | {p50:.1f} | {p95:.1f} | {cpu50:.1f} | {cpu95:.1f} | {len(queries)} |"
        )
        return p50

    def export(self) -> None:
        from django.contrib.auth.models import User
        from django.test import Client
        from django.urls import reverse
        from django.utils import timezone

        from customers.models import AuditEntry

        client = Client()
        client.force_login(User.objects.get(username="bench.auditor"))
        newest = AuditEntry.objects.order_by("-id").values_list("created_at", flat=True).first()
        assert newest is not None
        self.emit(
            "",
            "| export rows | time | rows/s | CSV size | peak Python memory (tracemalloc) |",
            "|---:|---:|---:|---:|---:|",
        )
        for rows in (self.args.export_rows // 10, self.args.export_rows):
            since = (
                AuditEntry.objects.filter(created_at__lte=newest)
                .order_by("-created_at", "-id")
                .values_list("created_at", flat=True)[rows - 1 : rows]
                .first()
            )
            assert since is not None
            url = (
                f"{reverse('history_export')}?date_from={timezone.localtime(since):%Y-%m-%d}"
                f"&date_to={timezone.localtime(newest + timedelta(days=1)):%Y-%m-%d}"
            )
            started = time.perf_counter()
            written, size = _drain(client, url)
            seconds = time.perf_counter() - started
            tracemalloc.start()
            _drain(client, url)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            self.emit(
                f"| {written - 1:,} | {seconds:.1f} s | {(written - 1) / seconds:,.0f} | "
                f"{size / 1e6:.0f} MB | {peak / 1e6:.1f} MB |"
            )


def _drain(client: Any, url: str) -> tuple[int, int]:
    response = client.get(url)
    assert response.status_code == 200
    assert response.streaming
    written = size = 0
    for chunk in response.streaming_content:
        written += 1
        size += len(chunk)
    return written, size


def _seconds(started: float) -> str:
    return f"{time.perf_counter() - started:.0f} s"


if __name__ == "__main__":
    main()
