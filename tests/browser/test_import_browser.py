"""A bulk import in a real browser: upload, preview, run, watch progress, download the results."""

import csv
import re
from pathlib import Path

from playwright.sync_api import expect

from customers.console.roles import SUPPORT
from customers.models import ImportJob
from tests.browser_support import screenshot
from tests.imports_support import members_csv


def test_staff_upload_a_file_see_the_preview_run_it_and_download_the_results(
    page, sign_in, tmp_path: Path
):
    sign_in(SUPPORT)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    page.get_by_role("link", name="Import a CSV file").click()
    upload = tmp_path / "members.csv"
    upload.write_text(members_csv(12) + "12ab,Broken\n919900000003,Again\n")
    page.get_by_label("CSV file").set_input_files(str(upload))
    page.get_by_label("Reason").fill("Spring member file")
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.locator('[data-count="total"]')).to_have_text("14")
    expect(page.locator('[data-count="invalid"]')).to_have_text("2")
    problems = page.locator("[data-problems]")
    expect(problems).to_contain_text("Mobile must be 8-15 digits")
    expect(problems).to_contain_text("The same mobile is on row 4 too.")
    screenshot(page, "import_preview")

    page.get_by_role("button", name=re.compile(r"Start the import of 12 rows")).click()
    expect(page.locator("[data-progress]")).to_have_attribute("data-status", "done")
    expect(page.locator('[data-count="done"]')).to_have_text("12")
    expect(page.locator("[data-rows] tbody tr")).to_have_count(14)

    page.get_by_role("link", name="Failed").first.click()
    with page.expect_download() as downloaded:
        page.get_by_role("link", name="Download the results (CSV)").click()
    rows = list(csv.reader(Path(downloaded.value.path()).read_text("utf-8-sig").splitlines()))
    assert rows[0][-5:] == ["row", "outcome", "customer_id", "codes", "messages"]
    assert [row[3] for row in rows[1:]].count("OK") == 12


def test_the_progress_page_follows_a_running_job_until_it_ends(page, sign_in):
    from datetime import timedelta

    from django.utils import timezone

    from customers.imports.tasks import process_import
    from customers.models import ImportRow
    from tests.imports_support import make_job, queue

    owner = sign_in(SUPPORT)
    job = queue(make_job(owner=owner, text=members_csv(30), batch_size=10))
    process_import(job.pk)
    # Back to the moment after the first batch: ten rows answered, twenty to go.
    now = timezone.now()
    job.rows.filter(number__gt=10).update(
        status=ImportRow.Status.PENDING, batch=None, customer_id="", audit_entry=None
    )
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING,
        started_at=now - timedelta(seconds=20),
        heartbeat_at=now,
        finished_at=None,
        done_rows=10,
        batches_sent=1,
    )
    page.goto(f"/imports/{job.pk}/")
    expect(page.locator('[data-count="remaining"]')).to_have_text("20")
    screenshot(page, "import_progress")

    ImportJob.objects.filter(pk=job.pk).update(done_rows=20, heartbeat_at=timezone.now())
    expect(page.locator('[data-count="remaining"]')).to_have_text("10", timeout=6_000)

    job.rows.filter(number__gt=10).update(status=ImportRow.Status.OK)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE, done_rows=30, finished_at=timezone.now()
    )
    expect(page.locator("[data-progress]")).to_have_attribute("data-status", "done", timeout=6_000)
    expect(page.get_by_role("link", name="Download the results (CSV)")).to_be_visible()
    expect(page.locator('[data-rows] [data-status="ok"]')).to_have_count(30)
