"""The change history's read side: filters, keyset pages, the before/after diff, CSV rows.

Every list is ordered by (created_at, id), newest first, and paged by keyset: a
page starts where the cursor points instead of at an OFFSET, so page 20,000 costs
what page 1 costs, and entries appended meanwhile never shift a page. Nothing
counts the whole table.
"""

import binascii
import json
from base64 import urlsafe_b64decode, urlsafe_b64encode
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from django import forms
from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from customers.console.roles import ROLES
from customers.console.spreadsheet import safe_cell
from customers.history import verification
from customers.history.verification import broken_among
from customers.models import AuditCode, AuditEntry

PAGE_SIZE = 50
EXPORT_BATCH = 2000
# A page shows these; the JSON snapshots stay in the database until the detail page.
LIST_FIELDS = (
    "id",
    "created_at",
    "actor_username",
    "actor_role",
    "action",
    "customer_id",
    "identifier_type",
    "identifier_value",
    "outcome",
    "error_codes",
    "warning_codes",
    "reason",
    "import_job_id",
    "import_row",
)


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: just past this (created_at, id), towards older or newer entries."""

    created_at: datetime
    id: int
    towards: Literal["older", "newer"]

    @classmethod
    def after(cls, entry: AuditEntry, towards: Literal["older", "newer"]) -> "Cursor":
        return cls(entry.created_at, entry.pk, towards)

    def encode(self) -> str:
        moment = self.created_at.astimezone(UTC).isoformat()
        raw = f"{self.towards[0]}|{moment}|{self.id}".encode()
        return urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> "Cursor":
        """Raises ValueError for anything this class did not encode."""
        try:
            raw = urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            direction, moment, entry_id = raw.split("|")
            created_at = datetime.fromisoformat(moment)
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise ValueError("not a history cursor") from exc
        if (
            direction not in ("o", "n")
            or created_at.tzinfo is None
            or not (entry_id.isascii() and entry_id.isdigit())
        ):
            raise ValueError("not a history cursor")
        return cls(created_at, int(entry_id), "older" if direction == "o" else "newer")


@dataclass(frozen=True)
class HistoryFilters:
    member: str = ""
    # Staff matched by the filter: one exact username, or every username with its prefix.
    actor_ids: tuple[int, ...] | None = None
    role: str = ""
    action: str = ""
    outcome: str = ""
    code: str = ""
    since: datetime | None = None
    until: datetime | None = None
    import_job_id: int | None = None


@dataclass(frozen=True)
class HistoryPage:
    entries: list[AuditEntry]
    newer: Cursor | None
    older: Cursor | None
    is_newest: bool


FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)
# A prefix matching more staff than this is not a filter anyone means.
STAFF_PREFIX_LIMIT = 200


def staff_usernames() -> list[str]:
    """Every member of staff who may appear in the history, for the filter's suggestions."""
    return list(User.objects.order_by("username").values_list("username", flat=True)[:2000])


class HistoryFilterForm(forms.Form):
    member = forms.CharField(
        label="Member id or identifier",
        required=False,
        max_length=255,
        help_text="A Capillary customer id, mobile number, email or external id, exactly.",
    )
    staff = forms.CharField(
        label="Staff username",
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"list": "staff-usernames", "autocomplete": "off"}),
        help_text="The start of a username is enough; the list suggests staff.",
    )
    role = forms.ChoiceField(
        label="Role",
        required=False,
        choices=[
            ("", "Any role"),
            *((role, role) for role in ROLES),
            ("Administrator", "Administrator"),
        ],
    )
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any action"), *AuditEntry.Action.choices]
    )
    outcome = forms.ChoiceField(
        label="Outcome", required=False, choices=[("", "Any outcome"), *AuditEntry.Outcome.choices]
    )
    code = forms.RegexField(
        label="Error or warning code",
        required=False,
        regex=r"^\d{1,16}$",
        error_messages={"invalid": "Codes are numbers, like 8014."},
    )
    date_from = forms.DateField(
        label="From",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a date like 2025-03-31."},
    )
    date_to = forms.DateField(
        label="To",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Inclusive.",
        error_messages={"invalid": "Enter a date like 2025-03-31."},
    )
    import_job = forms.IntegerField(
        label="Import job",
        required=False,
        min_value=1,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        error_messages={"invalid": "Import jobs are numbered: enter a whole number, like 42."},
    )

    def clean_staff(self) -> tuple[int, ...] | None:
        """Staff whose username is the text typed, or else starts with it (any case)."""
        username = self.cleaned_data["staff"].strip()
        if not username:
            return None
        exact = User.objects.filter(username=username).values_list("id", flat=True).first()
        if exact is not None:
            return (exact,)
        found = tuple(
            User.objects.filter(username__istartswith=username)
            .order_by("username")
            .values_list("id", flat=True)[:STAFF_PREFIX_LIMIT]
        )
        if not found:
            raise forms.ValidationError(
                f"No member of staff has a username starting with “{username}”."
            )
        return found

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        for name, day in (("date_from", date_from), ("date_to", date_to)):
            # The day after 9999-12-31 cannot be computed; a date before 1970 is a typo.
            if day and not FIRST_DAY <= day <= LAST_DAY:
                self.add_error(name, f"Enter a date between {FIRST_DAY} and {LAST_DAY}.")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    @property
    def filters(self) -> HistoryFilters:
        data = self.cleaned_data
        return HistoryFilters(
            member=data["member"].strip(),
            actor_ids=data["staff"],
            role=data["role"],
            action=data["action"],
            outcome=data["outcome"],
            code=data["code"],
            since=_start_of(data["date_from"]) if data["date_from"] else None,
            until=_start_of(data["date_to"] + timedelta(days=1)) if data["date_to"] else None,
            import_job_id=data["import_job"],
        )


def page_of_history(
    filters: HistoryFilters, cursor: Cursor | None = None, size: int | None = None
) -> HistoryPage:
    """One page, newest first, starting at `cursor` (None: the newest entries)."""
    size = size or PAGE_SIZE
    if cursor is not None and cursor.towards == "newer":
        rows = list(select_entries(filters, after=cursor, limit=size + 1).only(*LIST_FIELDS))
        if len(rows) <= size:
            # Nothing newer than a full page: show the newest page whole instead of a stub.
            return page_of_history(filters, None, size)
        rows = rows[:size][::-1]
        return HistoryPage(
            rows, Cursor.after(rows[0], "newer"), Cursor.after(rows[-1], "older"), False
        )
    rows = list(select_entries(filters, after=cursor, limit=size + 1).only(*LIST_FIELDS))
    older = Cursor.after(rows[size - 1], "older") if len(rows) > size else None
    rows = rows[:size]
    newer = Cursor.after(rows[0], "newer") if cursor is not None and rows else None
    return HistoryPage(rows, newer, older, cursor is None)


@dataclass(frozen=True)
class HistoryRow:
    """One line of the list, formatted once in Python.

    Rendering fifty entries through template filters (date, url, get_FOO_display,
    truncatechars) cost about half a millisecond per row, most of a page's time.
    """

    pk: int
    url: str
    when: str
    staff: str
    role: str
    action: str
    job: str
    member: str
    identifier: str
    outcome: str
    tone: str
    codes: str
    reason: str
    # Why this entry fails its own signature or its completion's; empty when it does not.
    broken: str = ""


OUTCOME_TONES: dict[str, str] = {
    AuditEntry.Outcome.OK: "pill-ok",
    AuditEntry.Outcome.OK_WITH_WARNINGS: "pill-warn",
    AuditEntry.Outcome.REJECTED: "pill-bad",
    AuditEntry.Outcome.FAILED: "pill-bad",
}
_ACTION_LABELS = dict(AuditEntry.Action.choices)
_PLACEHOLDER_ID = 987_654_321
_OUTCOME_LABELS = dict(AuditEntry.Outcome.choices)


def rows_for(entries: list[AuditEntry]) -> list[HistoryRow]:
    # One reverse() per page, not per row: the id is swapped into a placeholder.
    detail = reverse("history_detail", args=[_PLACEHOLDER_ID])
    # Each row's signatures are checked as it is shown, so a tampered entry is marked
    # in the list at once, whenever the chain was last verified.
    broken = broken_among(entry.pk for entry in entries)
    return [
        HistoryRow(
            pk=entry.pk,
            url=detail.replace(str(_PLACEHOLDER_ID), str(entry.pk)),
            when=timezone.localtime(entry.created_at).strftime("%Y-%m-%d %H:%M:%S"),
            staff=entry.actor_username or "system",
            role=entry.actor_role,
            action=_ACTION_LABELS.get(entry.action, entry.action),
            job=f"job {entry.import_job_id}, row {entry.import_row}" if entry.import_job_id else "",
            member=entry.customer_id or "—",
            identifier=f"{entry.identifier_type} {entry.identifier_value}"
            if entry.identifier_value
            else "",
            outcome=_OUTCOME_LABELS.get(entry.outcome, entry.outcome),
            tone=OUTCOME_TONES.get(entry.outcome, ""),
            codes=", ".join(entry.codes),
            reason=entry.reason if len(entry.reason) <= 80 else f"{entry.reason[:79]}…",
            broken=broken.get(entry.pk, ""),
        )
        for entry in entries
    ]


def iter_history(filters: HistoryFilters, batch: int | None = None) -> Iterator[AuditEntry]:
    """Every matching entry, newest first, one keyset batch at a time: constant memory."""
    batch = batch or EXPORT_BATCH
    cursor = None
    while True:
        last = None
        for last in select_entries(filters, after=cursor, limit=batch).iterator(chunk_size=batch):
            yield last
        if last is None:
            return
        cursor = Cursor.after(last, "older")


def select_entries(
    filters: HistoryFilters, *, after: Cursor | None, limit: int
) -> QuerySet[AuditEntry]:
    """Up to `limit` entries past `after`, in the cursor's direction, as one query.

    A code filter reads the code index in page order and joins each entry by its
    key, which stays fast however rare or common the code is. With a member
    filter too, the member's few entries are the smaller set to start from.
    """
    sign = "" if after is not None and after.towards == "newer" else "-"
    order = (f"{sign}created_at", f"{sign}id")
    if filters.code and not filters.member:
        code_rows = (
            AuditCode.objects.filter(code=filters.code)
            .filter(_matching(filters, prefix="entry__"))
            .filter(_in_range(filters, after, id_field="entry_id"))
            .order_by(f"{sign}created_at", f"{sign}entry_id")
        )
        entries = AuditEntry.objects.filter(pk__in=code_rows.values("entry_id")[:limit])
        return entries.order_by(*order)
    entries = AuditEntry.objects.filter(_matching(filters, prefix="")).filter(
        _in_range(filters, after, id_field="id")
    )
    if filters.code:
        entries = entries.filter(
            Exists(AuditCode.objects.filter(entry=OuterRef("pk"), code=filters.code))
        )
    return entries.order_by(*order)[:limit]


def _matching(filters: HistoryFilters, prefix: str) -> Q:
    conditions = Q()
    if filters.member:
        conditions &= Q(**{f"{prefix}customer_id": filters.member}) | Q(
            **{f"{prefix}identifier_value": filters.member}
        )
    if filters.actor_ids is not None:
        conditions &= Q(**{f"{prefix}actor_id__in": filters.actor_ids})
    exact = {
        "actor_role": filters.role or None,
        "action": filters.action or None,
        "outcome": filters.outcome or None,
        "import_job_id": filters.import_job_id,
    }
    for field, value in exact.items():
        if value is not None:
            conditions &= Q(**{f"{prefix}{field}": value})
    return conditions


def _in_range(filters: HistoryFilters, after: Cursor | None, id_field: str) -> Q:
    """The date range and the keyset condition, on the table the query walks.

    The keyset is written `created_at <= t AND (created_at < t OR id < i)`
    rather than as a plain OR, so both databases bound the index scan on
    created_at instead of filtering from the top of the table down.
    """
    conditions = Q()
    if filters.since:
        conditions &= Q(created_at__gte=filters.since)
    if filters.until:
        conditions &= Q(created_at__lt=filters.until)
    if after is not None:
        at, key = after.created_at, after.id
        if after.towards == "older":
            conditions &= Q(created_at__lte=at) & (
                Q(created_at__lt=at) | Q(**{f"{id_field}__lt": key})
            )
        else:
            conditions &= Q(created_at__gte=at) & (
                Q(created_at__gt=at) | Q(**{f"{id_field}__gt": key})
            )
    return conditions


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def signature_problem(entry: AuditEntry) -> str | None:
    """Check this one entry: its signature, its link to the entry before it, and its
    outcome against the completion record that signed it."""
    return verification.signature_problem(entry.pk)


EXPORT_HEADER = (
    "id",
    "created_at",
    "staff_username",
    "staff_role",
    "till",
    "action",
    "customer_id",
    "identifier_type",
    "identifier_value",
    "source",
    "account_id",
    "outcome",
    "http_status",
    "x_cap_requestid",
    "error_codes",
    "warning_codes",
    "duration_ms",
    "reason",
    "import_job_id",
    "import_row",
    "request",
    "response",
    "side_effects",
    "before",
    "after",
    "entry_hash",
)


def export_rows(filters: HistoryFilters) -> Iterator[list[str]]:
    """The CSV export, header first, every cell safe to open in a spreadsheet."""
    yield list(EXPORT_HEADER)
    for entry in iter_history(filters):
        cells: list[Any] = [
            entry.pk,
            entry.created_at.astimezone(UTC).isoformat(),
            entry.actor_username,
            entry.actor_role,
            entry.actor_till,
            entry.action,
            entry.customer_id,
            entry.identifier_type,
            entry.identifier_value,
            entry.source,
            entry.account_id,
            entry.outcome,
            entry.http_status,
            entry.request_id,
            entry.error_codes,
            entry.warning_codes,
            entry.duration_ms,
            entry.reason,
            entry.import_job_id,
            entry.import_row,
            *(
                "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
                for value in (
                    entry.request,
                    entry.response,
                    entry.side_effects,
                    entry.before,
                    entry.after,
                )
            ),
            entry.entry_hash,
        ]
        yield [safe_cell(cell) for cell in cells]


@dataclass(frozen=True)
class OpenedMember:
    customer_id: str
    name: str
    source: str
    account_id: str
    opened_at: datetime


def recently_opened(*, actor_id: int, limit: int = 8, scan: int = 200) -> list[OpenedMember]:
    """The members this person opened last, newest first, each once (from their profile reads).

    Reads the actor's newest profile openings off the (actor, created_at, id)
    index and stops after `scan` of them, so a long career costs no more.
    """
    rows = (
        AuditEntry.objects.filter(actor_id=actor_id, action=AuditEntry.Action.VIEW_PROFILE)
        .exclude(customer_id="")
        .order_by("-created_at", "-id")
        .values_list("customer_id", "source", "request", "created_at")[:scan]
    )
    opened: dict[str, OpenedMember] = {}
    for customer_id, source, request, created_at in rows:
        if customer_id in opened or not customer_id.isdigit():
            continue
        details: dict[str, Any] = request if isinstance(request, dict) else {}
        opened[customer_id] = OpenedMember(
            customer_id=customer_id,
            name=str(details.get("name") or ""),
            source=source or "INSTORE",
            account_id=str(details.get("account_id") or ""),
            opened_at=created_at,
        )
        if len(opened) == limit:
            break
    return list(opened.values())
