"""Queue the background task that checkpoints the change history, once.

`make run` calls it before starting the worker; each run of the task queues the
next one AUDIT_CHECKPOINT_EVERY_MINUTES later, so running this again adds nothing.
"""

from typing import Any

from django.core.management.base import BaseCommand

from customers.history.checkpoints import schedule_next_checkpoint


class Command(BaseCommand):
    help = "Queue the history checkpoint task unless it is queued already."

    def handle(self, *args: Any, **options: Any) -> None:
        if schedule_next_checkpoint(now=True):
            self.stdout.write("Queued the history checkpoint task.")
        else:
            self.stdout.write(
                "The history checkpoint task is queued already (or tasks run inline)."
            )
