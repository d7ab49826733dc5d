"""Upsert screens: one member by hand, or a CSV of many with preview, progress and results.

One URL, one view, one template; htmx requests get the partial their target
names (the polled progress, the results table, the upsert form). Every control
is a plain form too, so the screens work without JavaScript.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods
from pydantic import ValidationError

from customers.capillary import errors as cap
from customers.capillary.schemas import UpsertEntry
from customers.console.permissions import requires
from customers.console.roles import Capability
from customers.gateway import catalogue, extended_field_specs
from customers.imports import jobs, tasks
from customers.imports.csv import COLUMN_GUIDE, header_csv, template_csv
from customers.imports.forms import ImportUploadForm, UpsertForm
from customers.members import answers, services
from customers.models import ImportJob, ImportRow

UPSERT_FIELD_MAP = {
    "identifiers": "mobile",
    "card": "card_number",
    "comm_channels": "mobile_channel",
}
UPSERT_VALIDATION_MAP = {
    "firstName": "first_name",
    "lastName": "last_name",
    "statusLabel": "status_label",
    "commChannels": "mobile_channel",
    "identifiers": "mobile",
}
JOBS_PER_PAGE = 50
ROWS_PER_PAGE = 100
PROBLEMS_PER_PAGE = 200
# The rows table's filters, in the progress bar's words and groups, so both
# always give the same numbers: "Done" counts accepted rows with or without
# warnings, "Remaining" the rows waiting for a batch or for its answer.
RowStatus = ImportRow.Status
ROW_FILTERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("", "All", ()),
    ("done", "Done", (RowStatus.OK, RowStatus.WARNING)),
    ("failed", "Failed", (RowStatus.FAILED,)),
    ("warning", "With warnings", (RowStatus.WARNING,)),
    ("unknown", "Outcome unknown", (RowStatus.UNKNOWN,)),
    ("remaining", "Remaining", (RowStatus.PENDING, RowStatus.SENT)),
    ("invalid", "Not sent (problems)", (RowStatus.INVALID,)),
    ("ok", "OK", (RowStatus.OK,)),
)
FILTER_STATUSES = {value: statuses for value, _label, statuses in ROW_FILTERS}


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], partials: dict[str, str]
) -> HttpResponse:
    """The whole page, or for htmx the partial named for the element the request targets."""
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.boosted and htmx.target in partials:
        template = f"{template}#{partials[htmx.target]}"
    return render(request, template, context)


# --- one member ---------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@requires(Capability.UPSERT)
def upsert(request: HttpRequest) -> HttpResponse:
    form = UpsertForm(
        request.POST or None,
        catalogue=catalogue(),
        extended_fields=extended_field_specs(),
        initial={"source": settings.CAPILLARY_SOURCE},
    )
    context: dict[str, Any] = {"form": form}
    if request.method == "POST" and form.is_valid():
        confirm = _delete_confirmation(form)
        if confirm and request.POST.get("delete_member") != confirm["token"]:
            # Deleting cannot be undone: as on the member's Status page, a second,
            # explicit step that names the member, before anything is sent.
            context["confirm_delete"] = confirm
        else:
            _send_one(request, form, context)
    return _page(request, "imports/upsert.html", context, {"upsert-form": "form"})


def _delete_confirmation(form: UpsertForm) -> dict[str, Any] | None:
    """What to confirm when the chosen status label deletes the member, else None."""
    data = form.cleaned_data
    label = data.get("status_label") or ""
    if not label or form.catalogue.status_of(label) != "DELETED":
        return None
    identifiers = [
        (kind, str(data[name]))
        for name, kind in (
            ("mobile", "mobile"),
            ("email", "email"),
            ("external_id", "external id"),
            ("card_number", "card"),
        )
        if data.get(name)
    ]
    # The confirmation holds for this label and these identifiers only: change either
    # and the console asks again.
    token = "|".join([label, *(value for _kind, value in identifiers)])
    return {"label": label, "identifiers": identifiers, "token": token}


def _send_one(request: HttpRequest, form: UpsertForm, context: dict[str, Any]) -> None:
    try:
        entry = UpsertEntry.model_validate(form.to_entry())
    except ValidationError as invalid:
        answers.validation_failure(invalid, form, UPSERT_VALIDATION_MAP)
        return
    try:
        [result] = services.upsert_members(
            actor=request.user,
            entries=[entry],
            skip_change_identifier=form.cleaned_data["skip_change_identifier"],
            reason=form.cleaned_data["reason"],
        )
    except cap.CapillaryError as error:
        context["answer"] = answers.failure(error, form, field_map=UPSERT_FIELD_MAP)
        return
    if result.errors:
        # The entry's own refusal; a bad status label (3017) still keeps the other changes.
        refused = cap.Rejected("entry refused", errors=result.errors, warnings=result.warnings)
        answer = answers.failure(refused, form, field_map=UPSERT_FIELD_MAP)
    else:
        answer = answers.success(result)
    answer.customer_id = result.customer_id
    context["answer"] = answer
    context["member"] = _member_summary(result.entry.after, result.customer_id)


def _member_summary(document: Any, customer_id: int | None) -> dict[str, Any] | None:
    """Capillary's record of the member after the upsert, as the form shows it."""
    if not isinstance(document, dict) or customer_id is None:
        return None
    profiles = [p for p in document.get("profiles") or [] if isinstance(p, dict)]
    first = profiles[0] if profiles else {}
    return {
        "id": customer_id,
        "url": reverse("member", kwargs={"customer_id": customer_id}),
        "name": " ".join(filter(None, [first.get("firstName"), first.get("lastName")])),
        "identifiers": [
            (i.get("type"), i.get("value"))
            for p in profiles
            for i in p.get("identifiers") or []
            if isinstance(i, dict)
        ],
        "loyalty_type": (document.get("loyaltyInfo") or {}).get("loyaltyType", ""),
    }


# --- the jobs list and the upload -------------------------------------------------


@require_GET
@requires(Capability.UPSERT)
def imports_list(request: HttpRequest) -> HttpResponse:
    jobs = ImportJob.objects.select_related("owner").order_by("-created_at", "-id")
    before = request.GET.get("before", "")
    if before.isascii() and before.isdigit():
        jobs = jobs.filter(pk__lt=int(before))
    page = list(jobs[: JOBS_PER_PAGE + 1])
    more = len(page) > JOBS_PER_PAGE
    page = page[:JOBS_PER_PAGE]
    return render(
        request,
        "imports/imports.html",
        {"jobs": page, "next_before": page[-1].pk if more else None},
    )


class _UploadLimit(FileUploadHandler):
    """Stops reading an upload once it passes the size limit: no disk or time spent on the rest.

    The request is then answered with the limit in words (connection_reset=False
    lets Django drain the body so the browser gets the page).
    """

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            self.request.upload_too_large = True  # type: ignore[union-attr]
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


# The size limit has to be in place before anything reads the body, and CSRF
# reads it, so CSRF is checked in _upload instead of by the middleware.
@csrf_exempt
@require_http_methods(["GET", "POST"])
@requires(Capability.UPSERT)
def import_new(request: HttpRequest) -> HttpResponseBase:
    if request.method == "POST":
        request.upload_handlers.insert(0, _UploadLimit(request, settings.IMPORT_MAX_UPLOAD_BYTES))
    return _upload(request)


@csrf_protect
def _upload(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "imports/import_new.html", _upload_context(ImportUploadForm()))
    form = ImportUploadForm(
        request.POST,
        request.FILES,
        too_large=getattr(request, "upload_too_large", False),
    )
    if form.is_valid():
        data = form.cleaned_data
        upload: UploadedFile[bytes] = data["file"]
        assert upload.file is not None
        # Only the bytes are kept here: the check_upload task reads them into rows,
        # with progress on the job's page (a 100,000-row file once held this request 12-33 s).
        job = jobs.receive_upload(
            owner=_staff(request),
            upload=upload.file,
            file_name=upload.name or "upload.csv",
            dry_run=data["dry_run"],
            skip_change_identifier=data["skip_change_identifier"],
            reason=data["reason"],
            batch_size=data["batch_size"],
            replaces=data.get("replaces"),
        )
        tasks.check_upload.enqueue(job.pk)
        return HttpResponseRedirect(reverse("import_detail", kwargs={"job_id": job.pk}))
    return render(request, "imports/import_new.html", _upload_context(form))


def _upload_context(form: ImportUploadForm) -> dict[str, Any]:
    return {"form": form, "columns": COLUMN_GUIDE}


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@require_GET
@requires(Capability.UPSERT)
def import_template(request: HttpRequest) -> HttpResponse:
    return _attachment(header_csv(), "members-template.csv")


@require_GET
@requires(Capability.UPSERT)
def import_example(request: HttpRequest) -> HttpResponse:
    return _attachment(template_csv(), "members-example.csv")


def _attachment(text: str, name: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- one job: preview, progress, results -----------------------------------------------


@require_http_methods(["GET", "POST"])
@requires(Capability.UPSERT)
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("owner"), pk=job_id)
    if request.method == "POST":
        if not jobs.may_act_on(job, _staff(request)):
            raise PermissionDenied(f"This import is {job.owner.get_username()}'s.")
        _act(request, job, request.POST.get("action", ""))
        return HttpResponseRedirect(reverse("import_detail", kwargs={"job_id": job.pk}))
    context: dict[str, Any] = {
        "job": job,
        "progress": jobs.progress(job),
        "may_act": jobs.may_act_on(job, _staff(request)),
    }
    if job.status == ImportJob.Status.UPLOADED:
        context["checking"] = True
        context["check_stale"] = jobs.check_is_stale(job)
    elif job.status == ImportJob.Status.VALIDATED:
        context.update(_preview_context(request, job))
    elif job.check_failed:
        context.update(_upload_again_context(job))
    else:
        context.update(_results_context(request, job))
    htmx = getattr(request, "htmx", None)
    # Each poll of the progress also redraws the rows table's counts (out of band),
    # so the two never disagree while the job runs.
    context["refresh_filters"] = bool(htmx and htmx.target == "progress")
    response = _page(
        request,
        "imports/import_detail.html",
        context,
        {"progress": "progress", "rows": "rows", "problems": "problems"},
    )
    if htmx and htmx.target == "progress" and not (job.is_active or context.get("checking")):
        # The partial carries no poll trigger now; reloading shows the final row table.
        response["HX-Refresh"] = "true"
    return response


def _act(request: HttpRequest, job: ImportJob, action: str) -> None:
    staff = _staff(request)
    confirmed = _int(request.POST.get("confirm_deletes"))
    act: dict[str, Callable[[ImportJob], ImportJob]] = {
        "start": lambda job: tasks.start_job(job, by=staff, confirmed_deletes=confirmed),
        "start_checked": lambda job: tasks.start_job(
            job, by=staff, after_dry_run=True, confirmed_deletes=confirmed
        ),
        "cancel": lambda job: jobs.cancel_job(job, by=staff),
        "resume": lambda job: tasks.resume_job(job, by=staff),
    }
    if action not in act:
        messages.error(request, "Unknown action.")
        return
    checking = job.status == ImportJob.Status.UPLOADED
    try:
        act[action](job)
    except jobs.ImportRefused as refused:
        messages.error(request, str(refused))
        return
    done = {
        "start": "The import is queued; this page shows its progress.",
        "start_checked": "The import is queued; this page shows its progress.",
        "cancel": "The import stops after the batch being sent now.",
        "resume": "The import is queued again; rows left unfinished are checked first.",
    }
    if checking and action == "cancel":
        messages.success(request, "The check is cancelled: nothing from this file will be sent.")
        return
    messages.success(request, done[action])


def _preview_context(request: HttpRequest, job: ImportJob) -> dict[str, Any]:
    after = _int(request.GET.get("problems_after"))
    problems = list(
        job.rows.filter(status=ImportRow.Status.INVALID, number__gt=after).order_by("number")[
            : PROBLEMS_PER_PAGE + 1
        ]
    )
    more = len(problems) > PROBLEMS_PER_PAGE
    problems = problems[:PROBLEMS_PER_PAGE]
    reupload = ImportUploadForm(
        initial={
            # The file is uploaded again to be imported, not to be checked again.
            "dry_run": False,
            "skip_change_identifier": job.skip_change_identifier,
            "reason": job.reason,
            "batch_size": job.batch_size,
            "replaces": job.pk,
        }
    )
    first_rows = list(job.rows.order_by("number")[: jobs.PREVIEW_ROWS])
    columns = [c for c in job.columns if c]
    return {
        "preview": True,
        "deleting_rows": jobs.deleting_rows(job),
        "columns": columns,
        "first_rows": [
            {"row": row, "cells": [row.values.get(c, "") for c in columns]} for row in first_rows
        ],
        "problems": problems,
        "problems_next": problems[-1].number if more else None,
        "problems_not_listed": _invalid_not_kept(job),
        "form": reupload,
        "columns_guide": COLUMN_GUIDE,
    }


def _upload_again_context(job: ImportJob) -> dict[str, Any]:
    """An unusable file: the upload form again, filled in as it was."""
    again = ImportUploadForm(
        initial={
            "dry_run": job.dry_run,
            "skip_change_identifier": job.skip_change_identifier,
            "reason": job.reason,
            "batch_size": job.batch_size,
        }
    )
    return {"check_failed": True, "form": again, "columns_guide": COLUMN_GUIDE}


def _invalid_not_kept(job: ImportJob) -> int:
    """Rows with problems counted at upload but not stored (past jobs.INVALID_ROWS_KEPT)."""
    return job.invalid_rows - job.rows.filter(status=ImportRow.Status.INVALID).count()


def _results_context(request: HttpRequest, job: ImportJob) -> dict[str, Any]:
    wanted = request.GET.get("status", "")
    if wanted not in FILTER_STATUSES:
        wanted = ""
    after = _int(request.GET.get("after"))
    rows = job.rows.filter(number__gt=after).select_related("audit_entry")
    if wanted:
        rows = rows.filter(status__in=FILTER_STATUSES[wanted])
    page = list(rows.order_by("number")[: ROWS_PER_PAGE + 1])
    more = len(page) > ROWS_PER_PAGE
    page = page[:ROWS_PER_PAGE]
    counts = jobs.status_counts(job)
    return {
        "rows_to_fix": jobs.rows_to_fix(job) if job.is_finished else 0,
        "rows": page,
        "rows_next": page[-1].number if more else None,
        "filter": wanted,
        "filters": [
            (value, label, sum(counts.get(s, 0) for s in statuses) if value else None)
            for value, label, statuses in ROW_FILTERS
        ],
    }


def _int(raw: str | None) -> int:
    # isascii: "²" passes isdigit() but not int().
    return int(raw) if raw and raw.isascii() and raw.isdigit() else 0


# --- result files -----------------------------------------------------------------------


@require_GET
@requires(Capability.UPSERT)
def import_results_csv(request: HttpRequest, job_id: int) -> StreamingHttpResponse:
    job = _own_job(request, job_id)
    return _stream(jobs.result_csv(job), f"import-{job.pk}-results.csv")


@require_GET
@requires(Capability.UPSERT)
def import_failed_csv(request: HttpRequest, job_id: int) -> StreamingHttpResponse:
    job = _own_job(request, job_id)
    return _stream(jobs.failed_csv(job), f"import-{job.pk}-to-fix.csv")


def _own_job(request: HttpRequest, job_id: int) -> ImportJob:
    """The job, when the signed-in staff member may act on it (jobs.may_act_on)."""
    job = get_object_or_404(ImportJob.objects.select_related("owner"), pk=job_id)
    if not jobs.may_act_on(job, _staff(request)):
        raise PermissionDenied(f"This import is {job.owner.get_username()}'s.")
    return job


def _stream(lines: Any, name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
