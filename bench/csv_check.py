"""Checking an uploaded CSV: peak memory and time of the web process's work.

    .venv/bin/python bench/csv_check.py [--shape wide|repeated|members] [--bytes N] [--rows N]

Each shape is checked in a fresh subprocess (so its peak RSS is its own) with
its own SQLite database under var/bench/, never the console's:

- `wide`: the attack file, 10,000 `field:` columns that the org does not have, in
  every row, up to --bytes (3 MB by default; the upload limit is 20 MiB);
- `repeated`: one row repeated up to --bytes (every row after the first a duplicate);
- `members`: --rows good members (100,000 by default).

Prints one Markdown table row per shape for docs/benchmarks.md. `--quick` uses
small sizes, for `make bench`.

`--request` measures what a person waits for instead: the upload request itself
(signed in, through the view, the task queued in the database as `make run`
does) and then, apart, the `check_upload` task that reads the file into rows.
`CODE=/path/to/checkout` runs the children on another checkout's code (the
"before" figure: there the request does the whole check itself).
"""

import argparse
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def wide_file(size: int) -> bytes:
    header = "mobile," + ",".join(f"field:f{n}" for n in range(10_000)) + "\n"
    out = io.StringIO()
    out.write(header)
    number = 0
    while out.tell() < size:
        out.write(f"91990{number:07d}," + ",".join("x" * 10_000) + "\n")
        number += 1
    return out.getvalue().encode()


def repeated_file(size: int) -> bytes:
    row = "919900000001,asha@example.com,Asha,Rao\n"
    return ("mobile,email,first_name,last_name\n" + row * (size // len(row))).encode()


def members_file(rows: int) -> bytes:
    lines = ["mobile,email,first_name,last_name"]
    lines += [f"91990{n:07d},m{n}@example.com,Member,N{n}" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def peak_rss_mb() -> float:
    """This process image's peak resident memory.

    Linux carries ru_maxrss across exec, so a child forked from a large parent
    (pytest after a thousand tests) would report the parent's size; VmHWM
    belongs to the image that runs now.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(shape: str, path: str) -> None:
    """Runs in the subprocess: migrate a fresh database, then check the file."""
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from customers.imports.jobs import create_job

    owner = User.objects.create_user(f"bench-{os.getpid()}")
    started = time.perf_counter()
    with open(path, "rb") as upload:
        job = create_job(
            owner=owner,
            upload=upload,
            file_name=f"{shape}.csv",
            dry_run=True,
            skip_change_identifier=False,
            reason="bench",
            batch_size=100,
        )
    seconds = time.perf_counter() - started
    peak_mb = peak_rss_mb()
    stored = job.rows.count()
    print(f"{job.total_rows}\t{job.invalid_rows}\t{stored}\t{seconds:.1f}\t{peak_mb:.0f}")


def child_request(shape: str, path: str) -> None:
    """Runs in the subprocess: the upload request, then the check task if it was left queued."""
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    call_command("migrate", verbosity=0)
    from customers.console.roles import SUPPORT
    from customers.models import ImportJob

    staff = User.objects.create_user(f"bench-{os.getpid()}")
    staff.groups.add(_group(SUPPORT))
    client = Client()
    client.force_login(staff)
    data = Path(path).read_bytes()
    form = {
        "reason": "bench",
        "batch_size": "100",
        "file": SimpleUploadedFile(f"{shape}.csv", data, content_type="text/csv"),
    }
    started = time.perf_counter()
    response = client.post(reverse("import_new"), form)
    request_seconds = time.perf_counter() - started
    if response.status_code != 302:
        raise RuntimeError(f"upload answered {response.status_code}")
    job = ImportJob.objects.get()
    task_seconds = 0.0
    if job.status == "uploaded":
        from customers.imports import jobs

        started = time.perf_counter()
        jobs.check_upload(job.pk)  # type: ignore[attr-defined]
        task_seconds = time.perf_counter() - started
        job.refresh_from_db()
    print(f"{job.total_rows}\t{job.status}\t{request_seconds:.2f}\t{task_seconds:.1f}")


def _group(role: str) -> Any:
    from django.contrib.auth.models import Group

    return Group.objects.get(name=role)  # the roles' groups come with the migrations


def measure_request(shape: str, data: bytes) -> dict[str, Any]:
    """The upload request's time and the check task's, in a fresh subprocess."""
    with tempfile.TemporaryDirectory(dir=ROOT / "var") as folder:
        path = Path(folder) / f"{shape}.csv"
        path.write_bytes(data)
        code = os.environ.get("CODE", "")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "membercare.settings",
            "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
            "CAPILLARY_EMULATOR_STATE": f"{folder}/emulator.sqlite3",
            "CAPILLARY_RATE_LIMIT_STATE": f"{folder}/ratelimit.sqlite3",
            "LOG_LEVEL": "warning",
            "ALLOWED_HOSTS": "testserver",  # DEBUG stays on, as `make run` serves
            "PYTHONPATH": code,
        }
        done = subprocess.run(
            [sys.executable, __file__, "--child-request", shape, str(path)],
            env=env,
            cwd=code or ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"uploading {shape} failed: {done.stderr[-2000:]}")
        rows, status, request_seconds, task_seconds = (
            done.stdout.strip().splitlines()[-1].split("\t")
        )
        return {
            "rows": int(rows),
            "status": status,
            "request": float(request_seconds),
            "task": float(task_seconds),
        }


def measure(shape: str, data: bytes) -> dict[str, float]:
    """Check `data` in a fresh subprocess: rows, invalid, stored, seconds, peak MB, disk MB."""
    with tempfile.TemporaryDirectory(dir=ROOT / "var") as folder:
        path = Path(folder) / f"{shape}.csv"
        path.write_bytes(data)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "membercare.settings",
            "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
            "CAPILLARY_EMULATOR_STATE": f"{folder}/emulator.sqlite3",
            "CAPILLARY_RATE_LIMIT_STATE": f"{folder}/ratelimit.sqlite3",
            "LOG_LEVEL": "warning",
        }
        done = subprocess.run(
            [sys.executable, __file__, "--child", shape, str(path)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"checking {shape} failed: {done.stderr[-2000:]}")
        fields = done.stdout.strip().splitlines()[-1].split("\t")
        total, invalid, stored, seconds, peak = (float(value) for value in fields)
        disk = (Path(folder) / "bench.sqlite3").stat().st_size / 1e6
        return {
            "bytes": len(data),
            "rows": total,
            "invalid": invalid,
            "stored": stored,
            "seconds": seconds,
            "peak_mb": peak,
            "disk_mb": disk,
        }


def row(shape: str, m: dict[str, float]) -> str:
    return (
        f"| {shape} | {m['bytes'] / 1e6:.1f} MB | {m['rows']:,.0f} | {m['invalid']:,.0f} "
        f"| {m['stored']:,.0f} | {m['seconds']:.1f} s | {m['peak_mb']:.0f} MB "
        f"| {m['disk_mb']:.0f} MB |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=("wide", "repeated", "members"), action="append")
    parser.add_argument("--bytes", type=int, default=3_000_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="small sizes, for make bench")
    parser.add_argument("--request", action="store_true", help="time the upload request")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--child-request", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.child_request:
        child_request(*args.child_request)
        return
    size, rows = (300_000, 2_000) if args.quick else (args.bytes, args.rows)
    (ROOT / "var").mkdir(exist_ok=True)
    if args.request:
        print("| file | rows | upload request | check task | job after |")
        print("|---|---|---|---|---|")
        m = measure_request("members", members_file(rows))
        print(
            f"| members | {m['rows']:,} | {m['request']:.2f} s | "
            f"{m['task']:.1f} s | {m['status']} |"
        )
        return
    files = {
        "wide": lambda: wide_file(size),
        "repeated": lambda: repeated_file(size),
        "members": lambda: members_file(rows),
    }
    print("| file | size | rows | invalid | rows stored | time | peak RSS | database after |")
    print("|---|---|---|---|---|---|---|---|")
    for shape in args.shape or list(files):
        print(row(shape, measure(shape, files[shape]())), flush=True)


if __name__ == "__main__":
    main()
