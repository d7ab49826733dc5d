"""Resume bulk imports whose worker died: queue them again, or run them here.

A job whose heartbeat is older than --stale-after seconds has lost its worker
(a worker reports after every batch and before every wait). The task resolves
the rows the dead worker left `sent` before sending anything, so no row
Capillary acknowledged is sent twice (customers.imports.tasks). Run it after a crash or
from cron; --stale-after 0 right after a restart, when no worker runs yet.
"""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from customers.imports import jobs
from customers.imports.tasks import process_import, resume_job


class Command(BaseCommand):
    help = "Queue again (or run here) the bulk imports whose worker stopped reporting."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stale-after",
            type=float,
            default=jobs.STALE_AFTER.total_seconds(),
            help="seconds without a heartbeat after which a job's worker counts as dead",
        )
        parser.add_argument(
            "--in-process",
            action="store_true",
            help="run the jobs in this process instead of queueing them for the worker",
        )

    def handle(self, *args: Any, stale_after: float, in_process: bool, **options: Any) -> None:
        stale = jobs.stale_jobs(timedelta(seconds=stale_after))
        if not stale:
            self.stdout.write("No import needs resuming.")
            return
        for job in stale:
            resume_job(job, stale_after=timedelta(seconds=stale_after), enqueue=not in_process)
            if in_process:
                self.stdout.write(f"Resuming import #{job.pk} ({job.file_name}) here.")
                process_import(job.pk)
            else:
                self.stdout.write(f"Queued import #{job.pk} ({job.file_name}) again.")
            job.refresh_from_db()
            self.stdout.write(
                f"Import #{job.pk}: {job.get_status_display()}, {job.processed_rows} of "
                f"{job.sendable_rows} rows answered, {job.remaining_rows} remaining."
            )
