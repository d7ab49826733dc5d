"""A worker dies mid-job: the next resolves what it left, sends nothing twice, loses nothing."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from customers.capillary_emulator.transport import EmulatorTransport
from customers.history import audit
from customers.imports.tasks import Importer
from customers.members import services
from customers.models import AuditEntry, ImportJob, ImportRow
from tests.imports_support import (
    applied_entries_per_row,
    assert_every_row_accounted_for,
    make_job,
    members_csv,
    queue,
)

ROOT = Path(__file__).resolve().parents[2]


class WorkerDied(BaseException):
    """A SIGKILL, as far as the code running in the worker can tell: nothing more happens."""


class Death:
    """Kills the worker at one point of the second batch; after that it writes nothing."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
        self.where = where
        self.dead = False
        self.calls = 0
        finish_write, finish_writes = audit.finish_write, audit.finish_writes

        def no_writes_when_dead(*args, **kwargs):
            if self.dead:
                raise WorkerDied
            return finish_write(*args, **kwargs)

        def no_batch_writes_when_dead(*args, **kwargs):
            if self.dead:
                raise WorkerDied
            return finish_writes(*args, **kwargs)

        monkeypatch.setattr(audit, "finish_write", no_writes_when_dead)
        monkeypatch.setattr(audit, "finish_writes", no_batch_writes_when_dead)
        handle = EmulatorTransport.handle_request

        def transport(transport_self, request):
            if "/upsert/bulk" in request.url.path:
                self.calls += 1
                if self.calls == 2 and self.where == "before Capillary applied the batch":
                    self.die()
                answer = handle(transport_self, request)
                if self.calls == 2 and self.where == "after Capillary applied the batch":
                    self.die()
                return answer
            return handle(transport_self, request)

        monkeypatch.setattr(EmulatorTransport, "handle_request", transport)
        send = services.upsert_members

        def upsert(**kwargs):
            if self.calls == 1 and self.where == "before the audit entries were written":
                self.die()
            return send(**kwargs)

        monkeypatch.setattr(services, "upsert_members", upsert)
        record = Importer._record

        def record_then_die(importer, job, rows, results):
            if self.calls == 2 and self.where == "after the answer was audited":
                self.die()
            return record(importer, job, rows, results)

        monkeypatch.setattr(Importer, "_record", record_then_die)

    def die(self) -> None:
        self.dead = True
        raise WorkerDied

    def revive(self) -> None:
        self.dead = False
        self.where = "nowhere"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("where", "second_batch"),
    [
        ("before the audit entries were written", ImportRow.Status.OK),
        ("before Capillary applied the batch", ImportRow.Status.OK),
        ("after Capillary applied the batch", ImportRow.Status.UNKNOWN),
        ("after the answer was audited", ImportRow.Status.OK),
    ],
)
def test_a_resumed_job_sends_no_row_twice_and_loses_none(monkeypatch, applied, where, second_batch):
    death = Death(monkeypatch, where)
    job = queue(make_job(text=members_csv(25), batch_size=10))
    with pytest.raises(WorkerDied):
        Importer(job.pk).run()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING
    assert job.rows.filter(status=ImportRow.Status.SENT).count() == 10

    death.revive()
    call_command("resume_imports", "--stale-after", "0", "--in-process", verbosity=0)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert_every_row_accounted_for(job)
    assert {row.status for row in job.rows.filter(number__in=range(11, 21))} == {second_batch}
    assert {row.status for row in job.rows.exclude(number__in=range(11, 21))} == {"ok"}
    # Capillary saw every row, and none twice.
    assert len(applied) == 25
    assert set(applied.values()) == {1}
    assert set(applied_entries_per_row(job).values()) == {1}
    assert not AuditEntry.objects.filter(outcome=AuditEntry.Outcome.PENDING).exists()
    if second_batch == ImportRow.Status.UNKNOWN:
        row = job.rows.get(number=11)
        assert row.customer_id.isdigit()
        assert "may have been applied" in row.messages


@pytest.mark.django_db
def test_resume_imports_leaves_a_job_alone_while_its_worker_reports(capsys):
    job = queue(make_job(text=members_csv(3)))
    Importer(job.pk)._claim()
    call_command("resume_imports")
    assert "No import needs resuming." in capsys.readouterr().out
    job.refresh_from_db()
    assert job.rows.filter(status=ImportRow.Status.PENDING).count() == 3


def _job_state(database: Path, job_id: int) -> tuple[str, int, int]:
    with sqlite3.connect(database, timeout=5) as db:
        status, done, batches = db.execute(
            "SELECT status, done_rows, batches_sent FROM customers_importjob WHERE id = ?",
            (job_id,),
        ).fetchone()
    return status, done, batches


def test_a_killed_worker_process_is_finished_by_the_next_without_double_sends(tmp_path):
    database = tmp_path / "console.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "membercare.settings",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{database}",
        "CAPILLARY_EMULATOR_STATE": str(tmp_path / "emulator.sqlite3"),
        "CAPILLARY_RATE_LIMIT_STATE": str(tmp_path / "rate-limit.sqlite3"),
        # Each bulk call takes a while, so the kill lands in the middle of one.
        "CAPILLARY_EMULATOR_FAULTS": json.dumps({"latency": {"fixed_ms": 300, "endpoint": "E3"}}),
        "LOG_LEVEL": "error",
    }

    def console(*args: str, timeout: float = 60) -> str:
        done = subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        return done.stdout

    job_id = int(console("-m", "tests.import_process", "setup", "60", "10").split()[-1])
    worker = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--batch",
            "--no-startup-delay",
            "--no-reload",
            "--interval",
            "0",
            "-v",
            "0",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while _job_state(database, job_id)[1] < 10:
            assert worker.poll() is None, "the worker ended before its first batch"
            assert time.monotonic() < deadline, "no batch finished within 30 s"
            time.sleep(0.02)
        # Into the next calls: a later batch has been marked sent.
        while _job_state(database, job_id)[2] < 3:
            time.sleep(0.01)
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.kill()
        worker.wait(timeout=10)
    status, done, _ = _job_state(database, job_id)
    assert status == "running"
    assert done < 60
    with sqlite3.connect(database) as db:
        left_sent = db.execute(
            "SELECT COUNT(*) FROM customers_importrow WHERE job_id = ? AND status = 'sent'",
            (job_id,),
        ).fetchone()[0]
    # Two batches are in flight at a time: the kill lands while one or two are.
    assert left_sent in (10, 20)

    console("manage.py", "resume_imports", "--stale-after", "0", "--in-process", "-v", "0")

    report = json.loads(console("-m", "tests.import_process", "report", str(job_id)))
    assert report["status"] == "done"
    assert report["total"] == 60
    assert sum(report["statuses"].values()) == 60
    assert report["done"] + report["unknown"] == 60
    assert report["statuses"].get("ok", 0) == report["done"]
    assert report["statuses"].get("unknown", 0) == report["unknown"]
    assert report["failed"] == 0
    # Each row reached Capillary once: one member per row, one applied attempt per row.
    assert report["customers_in_capillary"] == 60
    assert sorted(report["applied_entries_per_row"]) == [
        str(n) for n in sorted(range(1, 61), key=str)
    ]
    assert set(report["applied_entries_per_row"].values()) == {1}
