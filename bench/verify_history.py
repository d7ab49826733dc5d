"""Time verify_history: a full walk over N entries, then an incremental run after 10,000 more.

    .venv/bin/python bench/verify_history.py --entries 200000 [--database-url postgres://...]

Without --database-url it uses its own SQLite file, var/bench/verify.sqlite3, never
the console's database; a PostgreSQL database named in the URL must exist. The
history is seeded with manage.py seed_history (realistic entries, their completion
records and codes), so a second run with the same --entries only measures.
Prints Markdown lines for docs/benchmarks.md.
"""

import argparse
import os
import sys
import time
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument(
        "--new", type=int, default=10_000, help="entries appended before the incremental run"
    )
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = (
        args.database_url or f"sqlite:///{ROOT / 'var' / 'bench' / 'verify.sqlite3'}"
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "membercare.settings")
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from customers.models import AuditCheckpoint, AuditEntry, ChainCheck

    settings.DEBUG = False
    every = settings.AUDIT_CHECKPOINT_EVERY_ENTRIES
    # Checkpoints come from the runs timed here, not from the seeding.
    settings.AUDIT_CHECKPOINT_EVERY_ENTRIES = 10**12
    call_command("migrate", verbosity=0)
    have = AuditEntry.objects.count()
    if have < args.entries:
        call_command("seed_history", entries=args.entries - have, stdout=StringIO())
    AuditCheckpoint.objects.all()._raw_delete(AuditCheckpoint.objects.db)
    ChainCheck.objects.all().delete()
    count = AuditEntry.objects.count()
    vendor = connection.vendor

    settings.AUDIT_CHECKPOINT_EVERY_ENTRIES = every
    started = time.perf_counter()
    call_command("verify_history", "--full", stdout=StringIO())
    settings.AUDIT_CHECKPOINT_EVERY_ENTRIES = 10**12
    full = time.perf_counter() - started
    print(f"| {vendor} | full, {count:,} entries | {full:.1f} s | {count / full:,.0f} entries/s |")

    call_command("seed_history", entries=args.new, days=1, stdout=StringIO())
    # As configured (every 10,000 by default): the full run left a checkpoint at each
    # multiple it passed, so the incremental one counts a short segment.
    settings.AUDIT_CHECKPOINT_EVERY_ENTRIES = every
    started = time.perf_counter()
    call_command("verify_history", stdout=StringIO())
    incremental = time.perf_counter() - started
    print(
        f"| {vendor} | incremental, {args.new:,} new after a checkpoint | {incremental:.2f} s | "
        f"{args.new / incremental:,.0f} entries/s |"
    )


if __name__ == "__main__":
    main()
