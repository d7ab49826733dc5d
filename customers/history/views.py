"""The auditors' screens: the change history list, one entry in detail, the CSV export."""

from tempfile import SpooledTemporaryFile

from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from customers.console import spreadsheet
from customers.console.permissions import can, requires
from customers.console.roles import Capability
from customers.history import audit
from customers.history.checkpoints import latest_check
from customers.history.diffs import describe_changes
from customers.history.exports import write_export
from customers.history.queries import (
    Cursor,
    HistoryFilterForm,
    export_rows,
    page_of_history,
    pretty_json,
    rows_for,
    signature_problem,
    staff_usernames,
)
from customers.models import AuditCompletion, AuditEntry

# An export up to this size is built in memory, a larger one in a temporary file.
EXPORT_IN_MEMORY_BYTES = 16 * 1024 * 1024


@require_GET
@requires(Capability.VIEW_HISTORY)
def history(request: HttpRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET)
    page, cursor_error = None, ""
    if form.is_valid():
        cursor = None
        if token := request.GET.get("cursor", ""):
            try:
                cursor = Cursor.decode(token)
            except ValueError:
                cursor_error = (
                    "That page link is damaged or out of date, so this shows the newest entries."
                )
        page = page_of_history(form.filters, cursor)
    context = {
        "form": form,
        "page": page,
        "rows": rows_for(page.entries) if page else [],
        "cursor_error": cursor_error,
        "can_export": can(request.user, Capability.EXPORT_HISTORY),
        "chain_check": latest_check(),
        # The newest entry's id: the banner says when entries came after the last check.
        "newest_entry_id": AuditEntry.objects.order_by("-id").values_list("id", flat=True).first(),
        "staff_usernames": staff_usernames(),
    }
    htmx = getattr(request, "htmx", False)
    template = "history/history.html#results" if htmx else "history/history.html"
    return render(request, template, context)


@require_GET
@requires(Capability.VIEW_HISTORY)
def history_detail(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(AuditEntry, pk=pk)
    changes = describe_changes(entry.before, entry.after)
    context = {
        "entry": entry,
        "changes": changes,
        # An upsert's member was not read first: its "changes" are the member after.
        "after_only": changes.no_before and entry.action != AuditEntry.Action.REGISTER,
        "before_json": pretty_json(entry.before) if entry.before is not None else "",
        "after_json": pretty_json(entry.after) if entry.after is not None else "",
        "request_json": pretty_json(entry.request),
        "response_json": pretty_json(entry.response),
        "side_effects_json": pretty_json(entry.side_effects) if entry.side_effects else "",
        "signature_problem": signature_problem(entry),
        "completion": AuditCompletion.objects.filter(entry=entry).first(),
    }
    return render(request, "history/history_detail.html", context)


class _Echo:
    """csv.writer writes into this and gets each line back, so rows stream one by one."""

    def write(self, line: str) -> str:
        return line


@require_GET
@requires(Capability.EXPORT_HISTORY)
def history_export(request: HttpRequest) -> HttpResponseBase:
    form = HistoryFilterForm(request.GET)
    if not form.is_valid():
        context = {"form": form, "page": None, "can_export": True}
        return render(request, "history/history.html", context)
    # Taking history out of the console is itself worth a line in it.
    audit.record_read(
        actor=request.user,
        action=AuditEntry.Action.EXPORT_HISTORY,
        # The form's own filters only: an arbitrary key (a NUL in it, say) has no place in
        # the history, and PostgreSQL cannot store a NUL in JSON.
        request={
            "filters": {
                key: value for key, value in request.GET.items() if value and key in form.fields
            }
        },
    )
    writer = spreadsheet.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in export_rows(form.filters)),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="change-history-{stamp}.csv"'
    return response


@require_GET
@requires(Capability.EXPORT_HISTORY)
def history_export_verifiable(request: HttpRequest) -> HttpResponseBase:
    """The export as a ZIP: the CSV and its signed manifest (customers.history.exports)."""
    form = HistoryFilterForm(request.GET)
    if not form.is_valid():
        context = {"form": form, "page": None, "can_export": True}
        return render(request, "history/history.html", context, status=400)
    # Only the form's own filters: an unknown parameter (a NUL in its name, say) is never stored.
    described = {name: str(request.GET[name]) for name in form.fields if request.GET.get(name)}
    audit.record_read(
        actor=request.user,
        action=AuditEntry.Action.EXPORT_HISTORY,
        request={"filters": described, "manifest": True},
    )
    target = SpooledTemporaryFile(max_size=EXPORT_IN_MEMORY_BYTES)  # noqa: SIM115
    write_export(target, filters=form.filters, by=request.user.get_username(), described=described)
    target.seek(0)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(
        target,
        as_attachment=True,
        filename=f"change-history-{stamp}.zip",
        content_type="application/zip",
    )
