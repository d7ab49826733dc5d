"""Delete what the console no longer needs (customers/retention.py says what and when)."""

from typing import Any

from django.core.management.base import BaseCommand

from customers.retention import prune


class Command(BaseCommand):
    help = (
        "Delete dry runs and unstarted previews after a day, finished imports' rows after "
        "IMPORT_ROWS_RETENTION_DAYS, and expired failed sign-ins. The change history stays."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Deleted {prune()}.")  # counts by kind
