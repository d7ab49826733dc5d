"""Checkpoints, the chain status on the history page, and the verifiable export (12, new)."""

import io
import json
import zipfile
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.history import audit, checkpoints
from customers.models import AuditCheckpoint, ChainCheck
from tests.history_factories import read, remove_entry, tamper, verify, write

HISTORY = reverse("history")
EXPORT = reverse("history_export_verifiable")


def test_the_history_page_says_where_the_chain_stands(auditor_client):
    assert "has not been verified yet" in auditor_client.get(HISTORY).content.decode()
    last = write()
    assert verify()[0]
    html = auditor_client.get(HISTORY).content.decode()
    assert f"Chain verified up to entry #{last.pk}" in html


def test_the_history_page_links_the_first_broken_entry(auditor_client):
    write()
    broken = write()
    tamper("UPDATE customers_auditentry SET reason = 'edited' WHERE id = %s", (broken.pk,))
    assert not verify()[0]
    html = auditor_client.get(HISTORY).content.decode()
    assert "Chain broken" in html
    assert f'href="{reverse("history_detail", args=[broken.pk])}"' in html


def test_a_tampered_entry_is_marked_in_the_list_before_any_verification(auditor_client):
    fine = write(reason="Member asked")
    changed = write(reason="Member asked too")
    tamper("UPDATE customers_auditentry SET reason = 'edited' WHERE id = %s", (changed.pk,))
    rows = auditor_client.get(HISTORY).context["rows"]
    assert {row.pk: bool(row.broken) for row in rows} == {fine.pk: False, changed.pk: True}
    assert "data-tampered" in auditor_client.get(HISTORY).content.decode()


def test_a_reverted_completion_is_marked_in_the_list(auditor_client):
    entry = write()
    tamper(
        "UPDATE customers_auditentry SET outcome = 'pending', http_status = NULL, "
        "request_id = '', response = NULL, side_effects = NULL, duration_ms = NULL "
        "WHERE id = %s",
        (entry.pk,),
    )
    (row,) = auditor_client.get(HISTORY).context["rows"]
    assert "the completion was reverted" in row.broken


def test_the_checkpoint_task_checkpoints_what_was_appended(db):
    write()
    read()
    checkpoints.record_checkpoint_task.enqueue()
    checkpoint = AuditCheckpoint.objects.get()
    assert checkpoint.entry_count == 2
    assert ChainCheck.objects.get().intact


@override_settings(AUDIT_CHECKPOINT_EVERY_ENTRIES=3)
def test_appending_past_a_multiple_of_n_entries_queues_a_checkpoint(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        write()
        read()
    assert not AuditCheckpoint.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        read()
    assert AuditCheckpoint.objects.get().entry_id == 3


def export_file(client, query: str = "") -> bytes:
    response = client.get(EXPORT + query)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    return b"".join(response.streaming_content)


def verify_export(data: bytes, tmp_path) -> tuple[bool, str]:
    path = tmp_path / "export.zip"
    path.write_bytes(data)
    out = StringIO()
    try:
        call_command("verify_export", str(path), stdout=out)
    except CommandError as error:
        return False, str(error)
    return True, out.getvalue()


def rewrite(data: bytes, name: str, change) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w") as archive:
        for item in source.namelist():
            content = source.read(item)
            archive.writestr(item, change(content) if item == name else content)
    return target.getvalue()


def test_an_export_with_its_manifest_verifies_offline(auditor_client, tmp_path):
    first = write()
    assert verify()[0]
    write(reason="after the checkpoint")
    data = export_file(auditor_client, "?action=update_profile")
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    assert manifest["range"]["count"] == 2
    by_id = {row["id"]: row for row in manifest["rows"]}
    assert by_id[first.pk]["checkpoint"] == AuditCheckpoint.objects.get().pk
    assert by_id[first.pk]["entry_hash"] == first.entry_hash
    intact, said = verify_export(data, tmp_path)
    assert intact, said
    assert "2 rows" in said
    assert "1 fall under a signed checkpoint" in said


def test_verify_export_names_a_changed_csv(auditor_client, tmp_path):
    write(reason="Member asked")
    data = export_file(auditor_client)
    forged = rewrite(data, "history.csv", lambda csv: csv.replace(b"Member asked", b"Nobody asked"))
    intact, said = verify_export(forged, tmp_path)
    assert not intact
    assert "The CSV is not the one the manifest was signed for" in said


def test_verify_export_names_a_manifest_changed_to_match(auditor_client, tmp_path):
    write(reason="Member asked")
    data = export_file(auditor_client)

    def drop_a_row(content: bytes) -> bytes:
        manifest = json.loads(content)
        manifest["rows"] = manifest["rows"][:-1]
        return json.dumps(manifest).encode()

    intact, said = verify_export(rewrite(data, "manifest.json", drop_a_row), tmp_path)
    assert not intact
    assert "manifest's signature does not match" in said


def test_an_export_names_a_tampered_row_in_its_manifest(auditor_client, tmp_path):
    entry = write()
    tamper("UPDATE customers_auditentry SET reason = 'edited' WHERE id = %s", (entry.pk,))
    data = export_file(auditor_client)
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    (row,) = [row for row in manifest["rows"] if row["id"] == entry.pk]
    assert "changed after writing" in row["broken"]
    intact, said = verify_export(data, tmp_path)
    assert intact
    assert "found 1 of these entries broken" in said


def test_verify_export_refuses_a_file_that_is_not_an_export(tmp_path):
    intact, said = verify_export(b"id,when\n1,today\n", tmp_path)
    assert not intact
    assert "not a history export" in said


@pytest.mark.parametrize("role_client", ["support_client", "store_client"])
def test_only_auditors_download_the_verifiable_export(request, role_client):
    client = request.getfixturevalue(role_client)
    assert client.get(EXPORT).status_code == 403


def test_the_write_api_starts_and_finishes_a_batch_in_one_go(db):
    writes = [
        audit.Write(actor=None, action="upsert", reason="import", request={"n": n})
        for n in range(3)
    ]
    entries = audit.start_writes(writes)
    audit.finish_writes([(entry, audit.Answer(outcome="ok", response={})) for entry in entries])
    assert [e.pk for e in entries] == [entries[0].pk + n for n in range(3)]
    assert verify("--full")[0]


def test_the_checkpoint_is_a_periodic_job_queued_once_and_run_by_it(db, settings):
    from django_tasks_db.models import DBTaskResult

    from customers import periodic

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert "checkpoint" in periodic.ensure_scheduled()
    assert "checkpoint" not in periodic.ensure_scheduled()
    queued = DBTaskResult.objects.filter(task_path=periodic.run_periodic.module_path)
    assert [r.args_kwargs["args"] for r in queued].count(["checkpoint"]) == 1
    write()
    before = AuditCheckpoint.objects.count()
    periodic.registered()["checkpoint"].run()
    assert AuditCheckpoint.objects.count() == before + 1


def test_verify_history_checks_import_counters_against_the_chain(db):
    from customers.imports.tasks import start_job
    from tests.history_factories import tamper, verify
    from tests.imports_support import make_job, members_csv

    job = make_job(text=members_csv(3))
    start_job(job)
    job.refresh_from_db()
    assert job.done_rows == 3
    assert verify()[0]
    tamper("UPDATE customers_importjob SET done_rows = 0 WHERE id = %s", (job.pk,))
    intact, said = verify()
    assert not intact
    assert f"Import #{job.pk}'s results disagree with its audit entries: done 0 shown, 3 in" in said


def test_the_verifiable_export_stores_only_the_forms_own_filters(auditor_client):
    write()
    export_file(auditor_client, "?action=update_profile&na%00me=x")
    from customers.models import AuditEntry

    recorded = AuditEntry.objects.filter(action="export_history").get()
    assert recorded.request["filters"] == {"action": "update_profile"}


def checkpoint_after(entries: int) -> None:
    """Write entries, then verify, which checkpoints them."""
    for _ in range(entries):
        write()
    assert verify()[0]


def test_an_entry_removed_inside_the_newest_checkpoint_is_caught_incrementally(db):
    checkpoint_after(2)
    removed = write()
    after = write()
    assert verify()[0]  # the newest checkpoint covers the two entries above
    remove_entry(removed.pk)
    # Its count gives the newest checkpoint away, so the walk starts at the one before.
    assert "counted 4 entries up to #4; there are 3 now" in str(
        checkpoints.checkpoint_problem(full=False)[0]
    )
    intact, said = verify()
    assert not intact
    assert f"Entry #{after.pk} is broken: its link" in said


def test_an_entry_removed_under_an_older_checkpoint_is_left_to_a_full_run(db):
    removed = write()
    checkpoint_after(1)
    checkpoint_after(1)
    checkpoint_after(1)
    remove_entry(removed.pk)
    # An incremental run does not re-read below the newest checkpoint (documented) ...
    assert verify()[0]
    # ... --full walks it and counts every checkpoint's segment.
    intact, said = verify("--full")
    assert not intact
    assert f"Entry #{removed.pk + 1} is broken: its link to the entry before it" in said


def test_an_incremental_run_counts_one_segment_however_many_checkpoints_there_are(db):
    for _ in range(6):
        checkpoint_after(1)
    assert AuditCheckpoint.objects.count() == 6
    write()
    with CaptureQueriesContext(connection) as incremental:
        assert verify()[0]
    with CaptureQueriesContext(connection) as full:
        assert verify("--full")[0]

    def counts(context: CaptureQueriesContext) -> int:
        return sum("COUNT(" in query["sql"].upper() for query in context.captured_queries)

    assert counts(incremental) == 1
    # A full run counts each of the 7 segments once, not each checkpoint from the start.
    assert counts(full) == 7


def test_an_empty_history_is_said_to_be_verified_with_no_entries_then(auditor_client):
    assert verify()[0]
    html = auditor_client.get(HISTORY).content.decode()
    assert "Chain verified at" in html
    assert "no entries then." in html
    assert "not checked yet" not in html
    assert "entry #0" not in html
    write()
    html = auditor_client.get(HISTORY).content.decode()
    assert "The entries since are not checked yet" in html


def test_a_full_run_leaves_a_checkpoint_at_each_multiple_it_passes(db, settings):
    for _ in range(10):
        write()
    settings.AUDIT_CHECKPOINT_EVERY_ENTRIES = 3
    checkpoints.verify_history(full=True, batch=2)
    # Batches of 2 end at 2, 4, 6, 8, 10 entries; those past 3, 6 and 9 are kept.
    assert list(AuditCheckpoint.objects.order_by("id").values_list("entry_count", flat=True)) == [
        4,
        6,
        10,
    ]
    assert verify("--full")[0]
    write()
    with CaptureQueriesContext(connection) as incremental:
        intact, said = verify()
    assert intact, said
    # The newest checkpoint's segment (entries 7 to 10) is all an incremental run counts.
    (count,) = [q["sql"] for q in incremental.captured_queries if "COUNT(" in q["sql"].upper()]
    below = AuditCheckpoint.objects.order_by("id")[1].entry_id
    assert f'"id" > {below} AND' in count


def test_the_banner_says_which_entries_came_after_the_last_check(auditor_client):
    checked = write()
    assert verify()[0]
    html = auditor_client.get(HISTORY).content.decode()
    assert "not checked yet" not in html
    write()
    html = auditor_client.get(HISTORY).content.decode()
    assert f"Entries after #{checked.pk} are not checked yet" in html


def test_a_break_found_by_a_full_run_stands_until_a_full_run_passes(auditor_client):
    altered = write(reason="Member asked")
    write()
    assert verify()[0]  # checkpointed past the entry about to be altered
    tamper("UPDATE customers_auditentry SET reason = 'edited' WHERE id = %s", (altered.pk,))
    write()
    # An incremental run starts at the checkpoint, above the altered entry (documented) ...
    assert verify()[0]
    checkpoints_before = AuditCheckpoint.objects.count()
    intact, said = verify("--full")
    assert not intact
    # ... but once a full run has found it, a plain run re-reads everything and says so.
    intact, said = verify()
    assert not intact
    assert f"Entry #{altered.pk} is broken" in said
    assert "re-read it all" in said
    assert AuditCheckpoint.objects.count() == checkpoints_before  # none signed over it
    assert "Chain broken" in auditor_client.get(HISTORY).content.decode()
    # Put right, a plain run (full again) passes and the banner follows.
    tamper("UPDATE customers_auditentry SET reason = 'Member asked' WHERE id = %s", (altered.pk,))
    assert verify()[0]
    assert "Chain verified up to entry" in auditor_client.get(HISTORY).content.decode()


def test_a_noted_head_that_is_not_in_the_chain_is_recorded_as_a_failed_check(auditor_client):
    write()
    intact, said = verify("--head", "deadbeef")
    assert not intact
    assert "The head deadbeef noted earlier is not in the chain: it was mistyped" in said
    check = ChainCheck.objects.order_by("-id").first()
    assert not check.intact
    html = auditor_client.get(HISTORY).content.decode()
    assert "Chain broken" in html
    assert "deadbeef" in html
