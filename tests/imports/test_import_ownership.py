"""An import is its uploader's: who may act on it, and who is recorded doing so (12.6)."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from customers.console.roles import SUPPORT
from customers.imports import jobs, tasks
from customers.models import AuditEntry, ImportJob
from tests.conftest import make_staff
from tests.imports_support import importer, make_job, members_csv


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def job(db) -> ImportJob:
    return make_job(importer(), members_csv(3))


@pytest.fixture
def colleague(db) -> User:
    return make_staff(SUPPORT, "colleague")


@pytest.mark.parametrize("action", ["start", "cancel", "resume"])
def test_a_colleague_may_not_act_on_someone_elses_import(job, colleague, action):
    response = client_for(colleague).post(
        reverse("import_detail", args=[job.pk]), {"action": action}
    )
    assert response.status_code == 403
    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED
    assert (job.started_by, job.cancelled_by) == (None, None)


@pytest.mark.parametrize("download", ["import_results_csv", "import_failed_csv"])
def test_a_colleague_may_not_download_someone_elses_import(job, colleague, download):
    assert client_for(colleague).get(reverse(download, args=[job.pk])).status_code == 403
    assert client_for(job.owner).get(reverse(download, args=[job.pk])).status_code == 200


def test_a_colleague_sees_the_import_read_only(job, colleague):
    html = client_for(colleague).get(reverse("import_detail", args=[job.pk])).content.decode()
    assert "only they (or an administrator) can start" in html
    assert 'value="start"' not in html


def test_the_uploader_starts_the_import_and_is_recorded_as_starter_and_actor(job):
    client_for(job.owner).post(reverse("import_detail", args=[job.pk]), {"action": "start"})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert job.started_by == job.owner
    actors = set(AuditEntry.objects.filter(import_job_id=job.pk).values_list("actor", flat=True))
    assert actors == {job.owner.pk}


def test_an_administrator_may_start_anothers_import_and_its_entries_name_them(job):
    admin = User.objects.create_superuser("admin", "admin@example.com", "x")
    response = client_for(admin).post(reverse("import_detail", args=[job.pk]), {"action": "start"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.started_by == admin
    entries = AuditEntry.objects.filter(import_job_id=job.pk)
    assert set(entries.values_list("actor_username", flat=True)) == {"admin"}


def test_a_cancel_records_who_cancelled(job):
    client_for(job.owner).post(reverse("import_detail", args=[job.pk]), {"action": "cancel"})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED
    assert job.cancelled_by == job.owner
    page = client_for(job.owner).get(reverse("import_detail", args=[job.pk])).content.decode()
    assert "cancelled by importer" in page


def test_the_services_refuse_a_colleague_too(job, colleague):
    with pytest.raises(jobs.NotYourImport):
        tasks.start_job(job, by=colleague)
    with pytest.raises(jobs.NotYourImport):
        jobs.cancel_job(job, by=colleague)
