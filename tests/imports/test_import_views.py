"""The import screens after the preview: start, progress, cancel, results, and the CSV files."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from customers.console.spreadsheet import safe_cell
from customers.imports import jobs
from customers.imports.tasks import Importer
from customers.models import ImportJob, ImportRow
from tests.conftest import make_staff
from tests.imports_support import importer, make_job, members_csv, queue

PROGRESS = {"HX-Request": "true", "HX-Target": "progress"}


@pytest.fixture
def support_client(db):
    """Signed in as the uploader of the jobs these tests make: the jobs are theirs."""
    client = Client()
    client.force_login(importer())
    return client


def detail(job: ImportJob) -> str:
    return reverse("import_detail", args=[job.pk])


def read_csv(response) -> list[list[str]]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("batch_size", [100, 7])
def test_starting_an_import_runs_it_and_shows_the_results(support_client, applied, batch_size):
    job = make_job(text=members_csv(20), batch_size=batch_size)
    response = support_client.post(detail(job), {"action": "start"}, follow=True)
    page = response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert 'data-count="done">20<' in page
    assert 'data-count="remaining">0<' in page
    assert '<progress max="20" value="20"' in page
    assert "hx-trigger" not in page
    assert reverse("import_results_csv", args=[job.pk]) in page
    assert page.count('data-status="ok"') == 20
    assert len(applied) == 20


def test_a_second_start_queues_nothing_more(support_client, applied):
    job = make_job(text=members_csv(2))
    support_client.post(detail(job), {"action": "start"})
    page = support_client.post(detail(job), {"action": "start"}, follow=True).content.decode()
    assert "This import is done already." in page
    assert set(applied.values()) == {1}


def test_progress_polls_while_the_job_runs_and_stops_when_it_ends(support_client):
    job = queue(make_job(text=members_csv(30), batch_size=10))
    Importer(job.pk)._claim()
    partial = support_client.get(detail(job), headers=PROGRESS)
    body = partial.content.decode()
    assert body.lstrip().startswith('<section id="progress"')
    assert 'hx-trigger="every 2s"' in body
    assert "<html" not in body
    assert "Cancel the import" in body
    assert "HX-Refresh" not in partial

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.DONE)
    ended = support_client.get(detail(job), headers=PROGRESS)
    assert "hx-trigger" not in ended.content.decode()
    assert ended["HX-Refresh"] == "true"


def test_the_page_refreshes_itself_without_javascript_while_the_job_runs(support_client):
    job = queue(make_job(text=members_csv(3)))
    page = support_client.get(detail(job)).content.decode()
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page


def test_progress_shows_counts_and_an_eta(support_client):
    job = queue(make_job(text=members_csv(40), batch_size=10))
    now = job.created_at
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        done_rows=8,
        warning_rows=2,
        failed_rows=1,
        unknown_rows=1,
    )
    job.refresh_from_db()
    progress = jobs.progress(job, now=now + timedelta(seconds=60))
    assert (progress.processed, progress.remaining, progress.percent) == (10, 30, 25)
    assert progress.rows_per_minute == 10
    assert progress.eta == timedelta(minutes=3)
    assert progress.eta_words == "about 3 min 0 s"
    page = support_client.get(detail(job), headers=PROGRESS).content.decode()
    for name, count in (("done", 8), ("failed", 1), ("warnings", 2), ("unknown", 1)):
        assert f'data-count="{name}">{count}<' in page
    assert 'data-count="remaining">30<' in page


def test_cancel_from_the_progress_partial_stops_the_job_after_its_batch(support_client):
    job = queue(make_job(text=members_csv(30), batch_size=10))
    Importer(job.pk)._claim()
    response = support_client.post(detail(job), {"action": "cancel"}, headers=PROGRESS, follow=True)
    assert "stopping after the current batch" in response.content.decode()
    job.refresh_from_db()
    assert job.cancel_requested
    assert job.status == ImportJob.Status.RUNNING


def test_a_stale_job_can_be_resumed_from_its_page(support_client, applied):
    job = queue(make_job(text=members_csv(4)))
    Importer(job.pk)._claim()
    assert "Resume the import" not in support_client.get(detail(job)).content.decode()
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=job.created_at - jobs.STALE_AFTER)
    assert "Resume the import" in support_client.get(detail(job)).content.decode()
    support_client.post(detail(job), {"action": "resume"})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert len(applied) == 4


def test_a_running_job_cannot_be_resumed_from_a_forged_form(support_client):
    job = queue(make_job(text=members_csv(2)))
    Importer(job.pk)._claim()
    page = support_client.post(detail(job), {"action": "resume"}, follow=True).content.decode()
    assert "still reporting" in page


def finished_job_with_every_outcome(client) -> ImportJob:
    text = (
        "mobile,first_name\n"
        '919900000001,=HYPERLINK("http://evil")\n'
        "919900000002,-Asha\n"
        "12ab,Ravi\n"
        "919900000004,@Mo\n"
    )
    job = make_job(text=text)
    client.post(detail(job), {"action": "start"})
    job.refresh_from_db()
    ImportRow.objects.filter(job=job, number=4).update(
        status=ImportRow.Status.FAILED, codes="8053", messages="=cmd|' /C calc'!A0"
    )
    return job


def test_rows_can_be_filtered_to_the_failed_ones(support_client):
    job = finished_job_with_every_outcome(support_client)
    every = support_client.get(detail(job)).content.decode()
    assert every.count("<tr data-row=") == 4
    assert "Failed (1)" in every
    failed = support_client.get(
        detail(job) + "?status=failed", headers={"HX-Request": "true", "HX-Target": "rows"}
    ).content.decode()
    assert failed.lstrip().startswith('<section id="rows"')
    assert failed.count("<tr data-row=") == 1
    assert 'data-row="4" data-status="failed"' in failed


def test_while_a_job_runs_the_rows_table_counts_as_the_progress_bar_does(support_client):
    job = make_job(text=members_csv(7))
    job.rows.filter(number__lte=2).update(status=ImportRow.Status.OK)
    job.rows.filter(number=3).update(status=ImportRow.Status.SENT)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, done_rows=2)
    page = support_client.get(detail(job)).content.decode()
    assert '<dd data-count="done">2</dd>' in page
    assert '<dd data-count="remaining">5</dd>' in page
    assert 'data-filter="done" class="button">Done (2)</a>' in page
    assert 'data-filter="remaining" class="button">Remaining (5)</a>' in page
    remaining = support_client.get(detail(job) + "?status=remaining").content.decode()
    assert remaining.count("<tr data-row=") == 5
    # Each poll of the progress brings the table's counts along.
    ImportRow.objects.filter(job=job, number=3).update(status=ImportRow.Status.OK)
    ImportJob.objects.filter(pk=job.pk).update(done_rows=3)
    polled = support_client.get(
        detail(job), headers={"HX-Request": "true", "HX-Target": "progress"}
    ).content.decode()
    assert '<dd data-count="done">3</dd>' in polled
    assert 'id="row-filters" aria-label="Show rows" hx-swap-oob="true"' in polled
    assert "Done (3)" in polled
    assert "Remaining (4)" in polled


def test_rows_are_paged(support_client, settings):
    job = make_job(text=members_csv(120))
    support_client.post(detail(job), {"action": "start"})
    first = support_client.get(detail(job)).content.decode()
    assert first.count("<tr data-row=") == 100
    assert "after=100" in first
    rest = support_client.get(detail(job) + "?status=&after=100").content.decode()
    assert rest.count("<tr data-row=") == 20


def test_the_result_file_has_the_original_columns_and_each_outcome(support_client):
    job = finished_job_with_every_outcome(support_client)
    rows = read_csv(support_client.get(reverse("import_results_csv", args=[job.pk])))
    assert rows[0] == ["mobile", "first_name", "row", "outcome", "customer_id", "codes", "messages"]
    by_row = {row[2]: row for row in rows[1:]}
    assert by_row["1"][1] == '\'=HYPERLINK("http://evil")'
    assert by_row["2"][1] == "'-Asha"
    assert by_row["2"][3] == "OK"
    assert by_row["2"][4].isdigit()
    assert by_row["3"][3] == "Invalid (not sent)"
    assert "mobile: Mobile must be 8-15 digits" in by_row["3"][6]
    assert by_row["4"][1] == "'@Mo"
    assert by_row["4"][5] == "8053"
    assert by_row["4"][6].startswith("'=cmd")


def test_the_file_to_fix_holds_the_failed_and_invalid_rows_in_the_upload_format(support_client):
    job = finished_job_with_every_outcome(support_client)
    url = reverse("import_failed_csv", args=[job.pk])
    response = support_client.get(url)
    assert "attachment" in response["Content-Disposition"]
    rows = read_csv(response)
    assert [row[:2] for row in rows] == [
        ["mobile", "first_name"],
        ["919900000001", '\'=HYPERLINK("http://evil")'],
        ["12ab", "Ravi"],
        ["919900000004", "'@Mo"],
    ]
    # The last column says what is wrong with each row, in words.
    what = {row[0]: row[2] for row in rows}
    assert what["mobile"] == "what_is_wrong"
    assert what["12ab"].startswith("mobile: Mobile must be 8-15 digits")
    assert what["919900000004"].startswith("Capillary refused it (8053): ")
    assert all(what.values())
    # It goes straight back into the upload form, its last column read past.
    again = make_job(text=b"".join(support_client.get(url).streaming_content))
    assert again.total_rows == 3
    assert again.rows.get(number=2).problems[0]["column"] == "mobile"
    assert not any(p["column"] == "what_is_wrong" for r in again.rows.all() for p in r.problems)


@pytest.mark.parametrize("cell", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_like_cells_are_neutralised(cell):
    assert safe_cell(cell) == f"'{cell}"


def test_plain_cells_are_left_alone():
    assert safe_cell("919900000001") == "919900000001"
    assert safe_cell(None) == ""


def test_the_jobs_list_shows_each_jobs_status_and_owner(support_client):
    first = make_job(text=members_csv(2))
    second = make_job(owner=make_staff(None, "olga"), text=members_csv(3, start=5))
    support_client.post(detail(first), {"action": "start"})
    page = support_client.get(reverse("imports")).content.decode()
    assert page.index(f'data-job="{second.pk}"') < page.index(f'data-job="{first.pk}"')
    assert "olga" in page
    assert "importer" in page
    assert "Done" in page
    assert "Ready to start" in page


def test_the_import_nav_link_leads_to_the_jobs_list(support_client):
    page = support_client.get(reverse("home")).content.decode()
    assert f'<a href="{reverse("imports")}" data-nav="import">' in page


def test_an_unknown_job_is_not_found(support_client):
    assert support_client.get(reverse("import_detail", args=[999])).status_code == 404


@pytest.mark.parametrize("role", ["auditor_client", "store_client"])
def test_roles_without_the_upsert_capability_cannot_post_either(request, role):
    client = request.getfixturevalue(role)
    job = make_job(text=members_csv(2))
    assert client.post(detail(job), {"action": "start"}).status_code == 403
    assert client.post(reverse("import_new"), {"reason": "x"}).status_code == 403
    assert client.post(reverse("upsert"), {"mobile": "919900000001"}).status_code == 403
    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED


SEMICOLON_BYPASS = "x;=cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        (SEMICOLON_BYPASS, "x;'=cmd|' /C calc'!A0"),
        ("a,-1", "a,'-1"),
        ('a; "=b', "a; \"'=b"),
        ("Asha, Rao", "Asha, Rao"),
    ],
)
def test_pieces_a_semicolon_locale_would_split_into_formulas_are_neutralised(cell, safe):
    assert safe_cell(cell) == safe


def raw_lines(response) -> list[str]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode("utf-8-sig").splitlines()


QUOTED = '"(?:[^"]|"")*"'


def every_cell_quoted(line: str) -> bool:
    return re.fullmatch(f"{QUOTED}(?:,{QUOTED})*", line) is not None


def test_every_csv_the_imports_write_quotes_every_cell_and_neutralises_the_bypass(support_client):
    text = f'mobile,first_name\n919900000001,"{SEMICOLON_BYPASS}"\n919900000002,Asha\n'
    job = make_job(text=text)
    support_client.post(detail(job), {"action": "start"})
    for name in ("import_results_csv", "import_failed_csv"):
        lines = raw_lines(support_client.get(reverse(name, args=[job.pk])))
        assert all(every_cell_quoted(line) for line in lines), (name, lines)
        assert any("\"x;'=cmd|' /C calc'!A0\"" in line for line in lines), (name, lines)
        assert not any(";=" in line for line in lines), name


def test_rows_that_delete_members_are_called_out_and_start_needs_their_count_confirmed(
    support_client, applied
):
    text = (
        "mobile,first_name,status_label\n"
        "919900000101,Asha,Deleted\n"
        "919900000102,Ravi,Deleted\n"
        "919900000103,Mina,On Hold\n"
    )
    job = make_job(text=text)
    page = support_client.get(detail(job)).content.decode()
    assert "2 rows will delete members: this cannot be undone." in page
    assert 'name="confirm_deletes" value="2"' in page
    refused = support_client.post(detail(job), {"action": "start"}, follow=True).content.decode()
    assert "2 rows of this import delete members, which cannot be undone." in refused
    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED
    assert not applied
    # A confirmation for another count does not start it either.
    support_client.post(detail(job), {"action": "start", "confirm_deletes": "1"})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED
    support_client.post(detail(job), {"action": "start", "confirm_deletes": "2"})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE


def test_an_import_that_deletes_no_one_starts_without_the_extra_confirmation(support_client):
    job = make_job(text="mobile,first_name,status_label\n919900000104,Asha,On Hold\n")
    page = support_client.get(detail(job)).content.decode()
    assert "data-deleting-rows" not in page
    assert "confirm_deletes" not in page
    support_client.post(detail(job), {"action": "start"})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE


def test_the_rows_to_fix_file_is_offered_only_when_some_rows_need_fixing(support_client):
    clean = make_job(text=members_csv(2))
    page = support_client.post(detail(clean), {"action": "start"}, follow=True).content.decode()
    assert 'data-download="results"' in page
    assert 'data-download="failed"' not in page
    assert (
        "Download the rows with problems"
        not in support_client.get(detail(make_job(text=members_csv(1, start=7)))).content.decode()
    )
    with_problem = make_job(text=members_csv(2, start=3) + "12ab,Bad\n")
    preview = support_client.get(detail(with_problem)).content.decode()
    assert "Download the rows with problems" in preview
    page = support_client.post(
        detail(with_problem), {"action": "start"}, follow=True
    ).content.decode()
    assert "Download the 1 row to fix and upload again (CSV)" in page
