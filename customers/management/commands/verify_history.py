"""Check the change history's hash chain from the first entry to the last.

Rows are read in id order in batches (keyset on id), so memory stays constant
at millions of entries. The first broken entry is named and the command exits
non-zero; an intact chain prints the count, the time taken and the head hash.
"""

import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from customers.history.chain import GENESIS, HASHED_FIELDS, find_problem
from customers.models import AuditCode, AuditEntry

ROW_FIELDS = ("id", *HASHED_FIELDS, "previous_hash", "entry_hash", "completion_hash")
STALE_PENDING_AFTER = timedelta(hours=1)


class Command(BaseCommand):
    help = "Verify the change history's hash chain; name the first broken entry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=5000, help="entries read per query")
        parser.add_argument(
            "--head",
            default="",
            help="a head hash printed by an earlier run; fails if that entry is gone, "
            "which is how removing the newest entries shows",
        )

    def handle(self, *args: Any, batch: int, head: str, **options: Any) -> None:
        started = time.monotonic()
        previous_hash = GENESIS
        count = 0
        last_id = 0
        head_seen = not head
        while True:
            rows = list(
                AuditEntry.objects.filter(id__gt=last_id).order_by("id").values(*ROW_FIELDS)[:batch]
            )
            if not rows:
                break
            codes = _codes_by_entry(rows[0]["id"], rows[-1]["id"])
            for row in rows:
                problem = find_problem(row, previous_hash) or _codes_problem(
                    row, codes.pop(row["id"], {})
                )
                if problem:
                    raise CommandError(
                        f"Entry #{row['id']} (created {_when(row['created_at'])}) is broken: "
                        f"{problem}. {_intact_before(count)}"
                    )
                previous_hash = row["entry_hash"]
                head_seen = head_seen or previous_hash == head
                count += 1
            if codes:
                stray = min(codes)
                raise CommandError(
                    f"Audit codes point at entry #{stray}, which is not in the chain: "
                    "an entry was removed, or codes were added by hand."
                )
            last_id = rows[-1]["id"]
        if not head_seen:
            raise CommandError(
                f"The head {head} noted earlier is no longer in the chain: "
                "entries were removed from its end."
            )
        seconds = time.monotonic() - started
        self.stdout.write(
            f"Verified {count:,} entries in {seconds:.1f} s: the chain is intact.\n"
            f"Head: {previous_hash} (note it; --head checks later that no entry after it was "
            "removed)."
        )
        self._report_stale_pending()

    def _report_stale_pending(self) -> None:
        stale = AuditEntry.objects.filter(
            outcome=AuditEntry.Outcome.PENDING, created_at__lt=timezone.now() - STALE_PENDING_AFTER
        ).order_by("created_at", "id")
        first = stale.values_list("id", flat=True).first()
        if first is not None:
            self.stdout.write(
                f"Note: {stale.count():,} writes are still pending after an hour, the oldest "
                f"#{first}. Capillary's answer for them never arrived (a crash mid-call), so "
                "check each member in Capillary."
            )


def _codes_by_entry(first_id: int, last_id: int) -> dict[int, dict[str, datetime]]:
    codes: dict[int, dict[str, datetime]] = defaultdict(dict)
    rows = AuditCode.objects.filter(entry_id__gte=first_id, entry_id__lte=last_id)
    for entry_id, code, created_at in rows.values_list("entry_id", "code", "created_at"):
        codes[entry_id][code] = created_at
    return codes


def _codes_problem(row: dict[str, Any], indexed: dict[str, datetime]) -> str | None:
    signed = {c for c in f"{row['error_codes']},{row['warning_codes']}".split(",") if c}
    if set(indexed) != signed or any(at != row["created_at"] for at in indexed.values()):
        return "its rows in the code index disagree with its signed codes"
    return None


def _intact_before(count: int) -> str:
    if count == 1:
        return "The 1 entry before it is intact."
    return f"The {count:,} entries before it are intact."


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")
