"""The console's side of the worker-kill test, run in separate processes.

    python -m tests.import_process setup ROWS BATCH   migrate, upload, start; prints the job id
    python -m tests.import_process report JOB         the job's rows and audit, as JSON

The environment names a file database and emulator state, so the test, the
worker it kills and the worker that resumes share them.
"""

import io
import json
import os
import sys
from collections import Counter


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "membercare.settings")
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from customers import gateway
    from customers.imports import jobs, tasks
    from customers.models import AuditEntry, ImportJob
    from tests.imports_support import members_csv

    command, *args = argv
    if command == "setup":
        rows, batch = int(args[0]), int(args[1])
        call_command("migrate", verbosity=0)
        job = jobs.create_job(
            owner=User.objects.create_user("importer"),
            upload=io.BytesIO(members_csv(rows).encode()),
            file_name="members.csv",
            dry_run=False,
            skip_change_identifier=False,
            reason="Worker kill test",
            batch_size=batch,
        )
        tasks.start_job(job)
        print(job.pk)
        return
    job = ImportJob.objects.get(pk=int(args[0]))
    applied = (
        AuditEntry.objects.filter(import_job_id=job.pk)
        .exclude(outcome=AuditEntry.Outcome.FAILED)
        .values_list("import_row", flat=True)
    )
    with gateway.get_emulator().store.read() as db:
        customers = db.execute("SELECT COUNT(*) FROM customers").fetchone()[0]
    report = {
        "status": job.status,
        "total": job.total_rows,
        "done": job.done_rows,
        "failed": job.failed_rows,
        "unknown": job.unknown_rows,
        "statuses": Counter(job.rows.values_list("status", flat=True)),
        "applied_entries_per_row": Counter(applied),
        "customers_in_capillary": customers,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
