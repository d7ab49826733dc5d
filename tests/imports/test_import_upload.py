"""Uploading a CSV: stored rows, the preview, and every bad file answered in words."""

import codecs
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.imports.csv import read_rows
from customers.imports.jobs import csv_rules
from customers.models import ImportJob, ImportRow, ImportUpload
from tests.imports_support import members_csv

NEW = reverse("import_new")


def upload(client, data: bytes, name: str = "members.csv", **fields):
    form = {
        "reason": "Quarterly member file",
        "batch_size": "100",
        **fields,
        "file": SimpleUploadedFile(name, data, content_type="text/csv"),
    }
    return client.post(NEW, form)


def preview_of(client, response):
    assert response.status_code == 302, response.content.decode()[:2000]
    return client.get(response["Location"])


def test_the_upload_page_documents_the_format_and_offers_the_template(support_client):
    page = support_client.get(NEW).content.decode()
    for column in ("mobile", "external_id", "status_label", "sms_trans", "ext:&lt;name&gt;"):
        assert column in page
    assert reverse("import_template") in page
    assert reverse("import_example") in page
    for input_id in re.findall(
        r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', page
    ):
        assert f'for="{input_id}"' in page, input_id
    assert "20.0\xa0MB" in page


def test_the_example_file_uploads_without_a_single_problem(support_client):
    example = support_client.get(reverse("import_example"))
    assert example["Content-Disposition"].startswith("attachment")
    response = upload(support_client, example.content)
    job = ImportJob.objects.get()
    assert (job.total_rows, job.invalid_rows, job.status) == (1, 0, "validated")
    page = preview_of(support_client, response).content.decode()
    assert "Start the import of 1 row" in page
    assert "No problems" in page


def test_the_template_is_the_header_line_only(support_client):
    template = support_client.get(reverse("import_template")).content.decode()
    assert template.strip().startswith("mobile,email,external_id")
    assert len(template.strip().splitlines()) == 1


def test_it_stores_every_row_and_previews_the_first_ones(support_client):
    response = upload(support_client, members_csv(45).encode())
    job = ImportJob.objects.get()
    assert job.total_rows == 45 == job.rows.count()
    assert list(job.rows.order_by("number").values_list("number", flat=True)) == list(range(1, 46))
    first = job.rows.get(number=1)
    assert first.values == {"mobile": "919900000000", "first_name": "Member0"}
    assert first.entry["profiles"][0]["identifiers"] == [
        {"type": "mobile", "value": "919900000000"}
    ]
    page = preview_of(support_client, response).content.decode()
    assert "Member19" in page  # the first twenty rows are shown
    assert "Member20" not in page
    assert 'data-count="total">45<' in page


def test_it_reads_a_byte_order_mark_and_semicolons(support_client):
    data = codecs.BOM_UTF8 + "Mobile;First_Name\n919900000002;Zoë\n".encode()
    upload(support_client, data)
    row = ImportRow.objects.get()
    assert row.values == {"mobile": "919900000002", "first_name": "Zoë"}
    assert row.status == ImportRow.Status.PENDING


def test_the_preview_names_every_problem_by_row_and_column(support_client):
    text = (
        "mobile,email,status_label\n"
        "919900000001,asha@example.com,Active\n"
        "12ab,,\n"
        ",,Active\n"
        "919900000003,,Ghost\n"
        "919900000001,,\n"
    )
    page = preview_of(support_client, upload(support_client, text.encode())).content.decode()
    job = ImportJob.objects.get()
    assert (job.total_rows, job.invalid_rows) == (5, 4)
    problems = {
        (row.number, p["column"]) for row in job.rows.filter(status="invalid") for p in row.problems
    }
    assert problems == {(2, "mobile"), (3, "mobile"), (4, "status_label"), (5, "mobile")}
    for words in (
        "8-15 digits",
        "No identifier",
        "Unknown status label",
        "The same mobile is on row 1 too.",
    ):
        assert words in page
    assert "Start the import of 1 row" in page
    assert "Upload the corrected file" in page


def test_problems_are_paged_so_that_every_one_can_be_reached(support_client):
    lines = ["mobile"] + [f"bad{index}" for index in range(250)]
    response = upload(support_client, "\n".join(lines).encode())
    first = preview_of(support_client, response).content.decode()
    assert "problems_after=200" in first
    job = ImportJob.objects.get()
    rest = support_client.get(
        reverse("import_detail", args=[job.pk]) + "?problems_after=200",
        headers={"HX-Request": "true", "HX-Target": "problems"},
    ).content.decode()
    assert rest.lstrip().startswith('<section id="problems"')
    assert rest.count("<tr><td>") == 50


def test_a_corrected_file_replaces_the_preview_it_fixes(support_client):
    upload(support_client, b"mobile\n12ab\n")
    broken = ImportJob.objects.get()
    upload(support_client, b"mobile\n919900000001\n", replaces=str(broken.pk))
    broken.refresh_from_db()
    fixed = ImportJob.objects.exclude(pk=broken.pk).get()
    assert broken.status == ImportJob.Status.CANCELLED
    assert (fixed.status, fixed.invalid_rows) == (ImportJob.Status.VALIDATED, 0)


def test_a_dry_run_is_not_started_by_a_plain_start(support_client):
    upload(support_client, members_csv(3).encode(), dry_run="on")
    job = ImportJob.objects.get()
    refused = support_client.post(
        reverse("import_detail", args=[job.pk]), {"action": "start"}, follow=True
    )
    assert "This was a dry run" in refused.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED
    assert not job.rows.exclude(status=ImportRow.Status.PENDING).exists()


def test_a_clean_dry_run_offers_start_and_a_reupload_that_is_not_a_dry_run(support_client):
    response = upload(support_client, members_csv(3).encode(), dry_run="on")
    page = preview_of(support_client, response).content.decode()
    assert "This was a dry run" in page
    assert "Start the import of 3 rows" in page
    assert 'value="start_checked"' in page
    assert 'name="dry_run"' in page
    assert not re.search(r'<input[^>]*name="dry_run"[^>]*checked', page)
    job = ImportJob.objects.get()
    started = support_client.post(
        reverse("import_detail", args=[job.pk]), {"action": "start_checked"}, follow=True
    )
    assert "The import is queued" in started.content.decode()
    job.refresh_from_db()
    assert (job.status, job.dry_run, job.done_rows) == (ImportJob.Status.DONE, False, 3)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"  \n\n", "The file is empty."),
        ("mobile\n1".encode("utf-16"), "The file is UTF-16"),
        ("mobile,first_name\n919900000001,Jos\xe9\n".encode("latin-1"), "not UTF-8"),
        (b"first_name,last_name\nAsha,Rao\n", "at least one identifier column"),
        (b"mobile,shoe_size\n919900000001,9\n", "Unknown columns: shoe_size"),
        (b'"mobile,first_name\n919900000001,Asha\n', "header line cannot be read"),
        (b"mobile,first_name\n", "has no rows"),
        (b"\x00\x01\x02\x03", "NUL character"),
    ],
)
def test_a_file_it_cannot_use_ends_with_its_message_on_the_page_and_a_form_to_upload_again(
    support_client, data, words
):
    response = upload(support_client, data)
    page = preview_of(support_client, response).content.decode()
    assert words in page
    assert "This file cannot be imported" in page
    assert 'id="upload-form"' in page
    assert "Start the import" not in page
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert words in job.error
    assert not job.rows.exists()
    assert not ImportUpload.objects.exists()  # the stored bytes go once the file is checked
    # A failed check is not an import that stopped: there is nothing to resume.
    assert "Resume the import" not in page


def test_an_empty_file_is_refused_by_the_form_itself(support_client):
    response = upload(support_client, b"")
    assert response.status_code == 200
    assert "The submitted file is empty" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_broken_quoting_inside_the_rows_becomes_a_problem_on_its_row(support_client):
    data = b'mobile,first_name\n919900000001,Asha\n919900000002,"Ravi\n919900000003,Mo\n'
    page = preview_of(support_client, upload(support_client, data)).content.decode()
    job = ImportJob.objects.get()
    assert (job.total_rows, job.invalid_rows) == (2, 1)
    assert "Broken quoting" in page


def test_a_post_without_a_file_asks_for_one(support_client):
    response = support_client.post(NEW, {"reason": "Quarterly file", "batch_size": "100"})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


def test_a_file_over_the_limit_is_refused_with_the_limit_in_words(support_client, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1024
    response = upload(support_client, members_csv(100).encode())
    assert response.status_code == 200
    page = response.content.decode()
    assert "the limit is 1.0\xa0KB" in page
    assert not ImportJob.objects.exists()


def test_a_batch_size_above_capillarys_limit_is_refused(support_client):
    response = upload(support_client, members_csv(1).encode(), batch_size="101")
    assert "less than or equal to 100" in response.content.decode()


def test_the_upload_still_checks_the_csrf_token(staff_client):
    from django.test import Client

    from customers.console.roles import SUPPORT
    from tests.conftest import make_staff

    client = Client(enforce_csrf_checks=True)
    client.force_login(make_staff(SUPPORT))
    response = upload(client, members_csv(1).encode())
    assert response.status_code == 403
    assert not ImportJob.objects.exists()


csv_cell = st.text(
    alphabet=st.characters(max_codepoint=0x24F) | st.sampled_from('";,\n\r\t=+-@'), max_size=10
)
csv_file = st.builds(
    lambda header, rows, delimiter: (
        delimiter.join(header) + "\n" + "\n".join(delimiter.join(r) for r in rows)
    ).encode(),
    st.lists(
        st.sampled_from(["mobile", "email", "external_id", "first_name", "status_label", "x"]),
        min_size=1,
        max_size=4,
    ),
    st.lists(st.lists(csv_cell, max_size=5), max_size=6),
    st.sampled_from([",", ";"]),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.one_of(csv_file, st.binary(max_size=120)))
def test_fuzzed_uploads_are_stored_row_for_row_or_refused_in_words(support_client, data):
    before = set(ImportJob.objects.values_list("pk", flat=True))
    response = upload(support_client, data)
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert 'class="error"' in response.content.decode()
        assert set(ImportJob.objects.values_list("pk", flat=True)) == before
        return
    job = ImportJob.objects.exclude(pk__in=before).get()
    if job.status == ImportJob.Status.FAILED:
        assert job.error
        assert not job.rows.exists()
        assert escape(job.error) in preview_of(support_client, response).content.decode()
        return
    _, parsed = read_rows(data.decode("utf-8-sig"), csv_rules())
    expected = list(parsed)
    assert job.total_rows == len(expected) == job.rows.count()
    for row in job.rows.all():
        assert (row.status == ImportRow.Status.INVALID) == bool(row.problems)
    assert preview_of(support_client, response).status_code == 200
