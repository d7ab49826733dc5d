"""Support staff upload a member file from `/`: the request returns at once, the page
shows the file being checked, then the preview, and they start the import.

The task backend here only queues (as a busy worker would leave it), and the test
plays the worker: the page has to show the check's progress meanwhile."""

import re

import pytest
from playwright.sync_api import expect

from customers.console.roles import SUPPORT
from customers.imports import jobs
from customers.models import ImportJob
from tests.imports_support import members_csv


@pytest.fixture
def queued_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


def upload_from_home(page, path) -> None:
    page.get_by_role("link", name="Import", exact=True).click()
    page.get_by_role("link", name="Import a CSV file").click()
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_label("Reason").fill("Quarterly member file")
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url(re.compile(r"/imports/\d+/$"))


def test_support_sees_the_file_checked_then_starts_the_import(
    page, start_as, tmp_path, queued_tasks
):
    path = tmp_path / "members.csv"
    path.write_text(members_csv(25))
    start_as(SUPPORT)
    upload_from_home(page, path)

    progress = page.locator("#progress")
    expect(progress).to_contain_text("Checking the file… 0 rows read (0 %)")
    expect(page.get_by_role("button", name="Cancel the check")).to_be_visible()

    jobs.check_upload(ImportJob.objects.get().pk)  # the worker gets to it

    # The page polls every 2 s and reloads itself into the preview.
    start = page.get_by_role("button", name="Start the import of 25 rows")
    expect(start).to_be_visible(timeout=8000)
    start.click()
    expect(page.get_by_text("The import is queued")).to_be_visible()


def test_an_unusable_file_says_what_is_wrong_and_offers_the_form_again(page, start_as, tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("first_name,last_name\nAsha,Rao\n")
    start_as(SUPPORT)
    upload_from_home(page, path)

    expect(page.get_by_role("heading", name="This file cannot be imported")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("at least one identifier column")
    expect(page.get_by_role("button", name="Upload and preview")).to_be_visible()
