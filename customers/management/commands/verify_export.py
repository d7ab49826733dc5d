"""Check a downloaded history export (the ZIP with its manifest) without the database.

    manage.py verify_export change-history-20261130-0412.zip

Needs the console's AUDIT_HMAC_KEY (the manifest and checkpoints are signed with
it), nothing else. Exits non-zero naming what does not match.
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from customers.history.exports import ExportInvalid, verify_export


class Command(BaseCommand):
    help = "Verify a history export file and its manifest offline."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the downloaded .zip")

    def handle(self, *args: Any, file: str, **options: Any) -> None:
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No file at {path}.")
        try:
            with path.open("rb") as source:
                manifest = verify_export(source)
        except ExportInvalid as invalid:
            raise CommandError(f"{path.name} is NOT intact: {invalid}") from None
        span = manifest["range"]
        rows = span["count"]
        covered = sum(1 for row in manifest["rows"] if row.get("checkpoint"))
        broken = [row["id"] for row in manifest["rows"] if row.get("broken")]
        self.stdout.write(
            f"{path.name} is intact: {rows:,} rows (entries #{span['first_entry']} to "
            f"#{span['last_entry']}), exported {manifest['exported_at']} by "
            f"{manifest['exported_by']}; {covered:,} fall under a signed checkpoint."
        )
        if broken:
            self.stdout.write(
                f"Warning: the console found {len(broken)} of these entries broken when it "
                f"exported them (first #{broken[0]}); the file says so, as it did then."
            )
