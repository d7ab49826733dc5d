"""Check the change history's two hash chains (entries and completions).

Rows are read in id order in batches (keyset on id), so memory stays constant
at millions of entries. The first broken entry is named and the command exits
non-zero; intact chains print the counts, the time taken and the heads.
"""

import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from customers.history.verification import verify_chains
from customers.models import AuditEntry

STALE_PENDING_AFTER = timedelta(hours=1)


class Command(BaseCommand):
    help = "Verify the change history's hash chains; name the first broken entry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=5000, help="entries read per query")
        parser.add_argument(
            "--head",
            default="",
            help="an entry head hash printed by an earlier run; fails if that entry is gone, "
            "which is how removing the newest entries shows",
        )

    def handle(self, *args: Any, batch: int, head: str, **options: Any) -> None:
        if batch < 1:
            raise CommandError("--batch must be at least 1.")
        started = time.monotonic()
        verification = verify_chains(batch=batch)
        problem = verification.problem
        if problem is not None:
            count = verification.checked_entries
            raise CommandError(
                f"{problem.message[:1].upper()}{problem.message[1:]}. {_intact_before(count)}"
            )
        state = verification.state
        if head and not AuditEntry.objects.filter(entry_hash=head).exists():
            raise CommandError(
                f"The head {head} noted earlier is no longer in the chain: "
                "entries were removed from its end."
            )
        seconds = time.monotonic() - started
        self.stdout.write(
            f"Verified {state.entry_count:,} entries and {state.completion_count:,} "
            f"completions in {seconds:.1f} s: the chain is intact.\n"
            f"Head: {state.entry_head} (note it; --head checks later that no entry after it was "
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


def _intact_before(count: int) -> str:
    if count == 1:
        return "The 1 entry before it is intact."
    return f"The {count:,} entries before it are intact."
