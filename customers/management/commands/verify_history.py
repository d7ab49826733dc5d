"""Check the change history's two hash chains (entries and completions) and its checkpoints.

By default the walk starts at the newest signed checkpoint that still matches the
database (customers.history.checkpoints), so a nightly run reads only what was
appended since; `--full` walks from the first entry and checks every checkpoint
against it. Either way a cut-off tail shows against the checkpoints. The first
broken entry is named and the command exits non-zero; an intact chain prints the
counts, the time taken and the heads, and is checkpointed.
"""

import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from customers.history.checkpoints import full_check_broken, verify_history
from customers.imports.jobs import counter_problems
from customers.models import AuditCheckpoint, AuditEntry

STALE_PENDING_AFTER = timedelta(hours=1)


class Command(BaseCommand):
    help = "Verify the change history's hash chains; name the first broken entry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=5000, help="entries read per query")
        parser.add_argument(
            "--full", action="store_true", help="walk from the first entry, not the last checkpoint"
        )
        parser.add_argument(
            "--head",
            default="",
            help="an entry head hash printed by an earlier run; fails if that entry is gone",
        )

    def handle(self, *args: Any, batch: int, full: bool, head: str, **options: Any) -> None:
        if batch < 1:
            raise CommandError("--batch must be at least 1.")
        started = time.monotonic()
        rereads = not full and full_check_broken()
        check = verify_history(full=full, batch=batch, head=head, more_problems=counter_problems)
        if not check.intact:
            said = f"{check.problem[:1].upper()}{check.problem[1:]}."
            if check.broken_entry_id:
                said += " " + _intact_before(check.broken_entry_id - 1, check.full)
            if rereads:
                said += " (A full check had found the chain broken, so this one re-read it all.)"
            raise CommandError(said)
        seconds = time.monotonic() - started
        checkpoint = AuditCheckpoint.objects.order_by("-id").first()
        how = "from the first entry" if check.full else f"from entry #{check.from_entry}"
        self.stdout.write(
            f"Verified {check.checked_entries:,} entries {how} in {seconds:.2f} s "
            f"({check.entry_count:,} in the chain, up to #{check.up_to_entry}): "
            "the chain is intact.\n"
            f"Head: {checkpoint.entry_head if checkpoint else '-'} "
            f"(checkpoint #{checkpoint.pk if checkpoint else '-'})."
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


def _intact_before(up_to: int, full: bool) -> str:
    if not full:
        return (
            f"Entries up to #{up_to} were intact at the last checkpoint; "
            "run --full to re-read them."
        )
    if up_to == 1:
        return "The 1 entry before it is intact."
    return f"The {up_to:,} entries before it are intact."
