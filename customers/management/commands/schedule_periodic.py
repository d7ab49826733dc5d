"""Queue the first run of each periodic job on the task worker (customers/periodic.py)."""

from typing import Any

from django.core.management.base import BaseCommand

from customers.periodic import ensure_scheduled, registered


class Command(BaseCommand):
    help = "Queue each periodic job that has no run waiting (safe to run on every start)."

    def handle(self, *args: Any, **options: Any) -> None:
        queued = ensure_scheduled()
        waiting = sorted(set(registered()) - set(queued))
        if queued:
            self.stdout.write(f"Periodic jobs queued: {', '.join(queued)}.")
        if waiting:
            self.stdout.write(f"Periodic jobs already waiting: {', '.join(waiting)}.")
