"""Hostile files within the upload limit: memory and disk stay bounded (finding 1 and 2)."""

import importlib.util
import io
from pathlib import Path

from django.urls import reverse

from customers.imports import jobs
from customers.imports.csv import MAX_ROW_PROBLEMS, CsvRules, read_rows
from customers.models import ImportJob, ImportRow

WIDE_COLUMNS = 10_000
ROOT = Path(__file__).resolve().parents[2]


def wide_file(size: int = 3_000_000) -> bytes:
    """The attack file: 10,000 `field:` columns the org does not have, filled in every row."""
    out = io.StringIO()
    out.write("mobile," + ",".join(f"field:f{n}" for n in range(WIDE_COLUMNS)) + "\n")
    number = 0
    while out.tell() < size:
        out.write(f"91990{number:07d}," + ",".join("x" * WIDE_COLUMNS) + "\n")
        number += 1
    return out.getvalue().encode()


def upload(client, data: bytes, name: str = "members.csv"):
    return client.post(
        reverse("import_new"),
        {"file": io.BytesIO(data), "batch_size": 100, "reason": "hostile", "dry_run": "on"}
        | {"file": _named(data, name)},
    )


def _named(data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_the_10000_column_file_is_checked_in_under_300_mb():
    """In a fresh process (bench/csv_check.py), so the peak RSS is the check's own.

    1.5 GB and 41 s before the fix (docs/benchmarks.md)."""
    spec = importlib.util.spec_from_file_location("csv_check", ROOT / "bench" / "csv_check.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    measured = bench.measure("wide", wide_file())
    assert measured["rows"] == measured["invalid"] > 100
    assert measured["peak_mb"] < 300, measured


def test_an_unknown_column_is_reported_once_per_row_with_a_count_of_the_rest():
    rules = CsvRules(custom_fields=frozenset({"employee"}), extended_fields=frozenset())
    text = (
        "mobile,field:employee,field:a,field:b,field:c,field:d,field:e\n919900000001,y,1,2,3,4,5\n"
    )
    _, rows = read_rows(text, rules)
    (row,) = list(rows)
    assert [p.message for p in row.problems] == [
        "'a', 'b', 'c' and 2 more are not configured for this org."
    ]


def test_a_row_keeps_at_most_ten_problems_and_counts_the_rest():
    rules = CsvRules(status_labels=frozenset({"Active"}))
    columns = "mobile,sms_trans,sms_bulk,email_trans,email_bulk,loyalty_type,first_name"
    columns += ",last_name,email,source,status_label,external_id"
    cells = ["12ab", "x", "x", "x", "x", "x", "!", "!", "@", "NOPE", "x", ""]
    _, rows = read_rows(columns + "\n" + ",".join(cells) + "\n", rules)
    (row,) = list(rows)
    assert len(row.problems) == MAX_ROW_PROBLEMS
    assert row.problems[-1].message.startswith("And ")
    assert row.problems[-1].message.endswith(" more problems in this row.")


def test_past_the_cap_rows_with_problems_are_counted_not_stored(support_client, monkeypatch):
    monkeypatch.setattr(jobs, "INVALID_ROWS_KEPT", 5)
    data = ("mobile,first_name\n" + "919900000001,Asha\n" * 40).encode()
    upload(support_client, data)
    job = ImportJob.objects.get()
    assert (job.total_rows, job.invalid_rows) == (40, 39)
    assert job.rows.filter(status=ImportRow.Status.INVALID).count() == 5
    assert job.rows.count() == 6
    page = support_client.get(reverse("import_detail", args=[job.pk])).content.decode()
    assert "34 more rows with problems are counted but not listed" in page


def test_empty_cells_are_not_stored(support_client):
    upload(support_client, b"mobile,email,first_name,last_name\n919900000001,,Asha,\n")
    row = ImportRow.objects.get()
    assert row.values == {"mobile": "919900000001", "first_name": "Asha"}
