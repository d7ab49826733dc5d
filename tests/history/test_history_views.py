"""The auditors' screens: filters, keyset pages, the diff, the CSV export, the admin."""

import csv
import io
import re
from base64 import urlsafe_b64encode
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.console.roles import ROLES, STORE_MANAGER, SUPPORT
from customers.history import queries
from customers.history.audit import entries_for_member
from customers.history.queries import Cursor
from customers.models import AuditEntry
from tests.conftest import make_staff
from tests.history_factories import AFTER, BEFORE, read, tamper, write

HISTORY = reverse("history")
EXPORT = reverse("history_export")


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 3)


def listed(client: Client, query: str = "", **headers: str) -> list[int]:
    response = client.get(f"{HISTORY}?{query}", headers=headers)
    assert response.status_code == 200
    page = response.context["page"]
    return [entry.pk for entry in page.entries] if page else []


def at(moment: datetime, monkeypatch, make, **fields):
    with monkeypatch.context() as patched:
        patched.setattr(timezone, "now", lambda: moment)
        return make(**fields)


def test_it_lists_the_newest_entries_first(auditor_client):
    entries = [write(), read(), write(outcome="rejected", error_codes=("8015",))]
    assert listed(auditor_client) == [e.pk for e in reversed(entries)]


@pytest.mark.parametrize("member", ["100", "919000000001"])
def test_it_filters_by_member_id_or_identifier(auditor_client, member):
    mine = write(customer_id="100", identifier=("mobile", "919000000001"))
    write(customer_id="200", identifier=("mobile", "919000000002"))
    assert listed(auditor_client, f"member={member}") == [mine.pk]


def test_it_filters_by_staff_user(auditor_client):
    sam = make_staff(SUPPORT)
    mine = write(sam)
    write(make_staff(SUPPORT, "sue"))
    assert listed(auditor_client, "staff=sam") == [mine.pk]


def test_it_filters_by_role(auditor_client):
    registered = write(make_staff(STORE_MANAGER), action="register")
    write(make_staff(SUPPORT))
    assert listed(auditor_client, "role=Store+manager") == [registered.pk]


def test_it_filters_by_action(auditor_client):
    status = write(action="change_status")
    write(action="update_profile")
    read(action="search")
    assert listed(auditor_client, "action=change_status") == [status.pk]


def test_it_filters_by_outcome(auditor_client):
    unknown = write(outcome="unknown")
    write(outcome="ok")
    assert listed(auditor_client, "outcome=unknown") == [unknown.pk]


def test_it_filters_by_error_or_warning_code(auditor_client):
    rejected = write(outcome="rejected", error_codes=("8015",))
    warned = write(outcome="ok_with_warnings", warning_codes=("8107", "8015"))
    write(outcome="ok_with_warnings", warning_codes=("8055",))
    assert listed(auditor_client, "code=8015") == [warned.pk, rejected.pk]
    assert listed(auditor_client, "code=8107") == [warned.pk]
    assert listed(auditor_client, "code=8107&outcome=rejected") == []


def test_it_filters_by_code_within_one_member(auditor_client):
    mine = write(customer_id="100", outcome="rejected", error_codes=("8015",))
    write(customer_id="200", outcome="rejected", error_codes=("8015",))
    write(customer_id="100", outcome="rejected", error_codes=("8009",))
    assert listed(auditor_client, "code=8015&member=100") == [mine.pk]


def test_it_filters_by_date_range_inclusive_of_both_days(auditor_client, monkeypatch):
    noon = timezone.make_aware(datetime(2025, 3, 10, 12))
    early = at(noon - timedelta(days=2), monkeypatch, write)
    first_day = at(noon - timedelta(days=1), monkeypatch, write)
    last_day = at(noon, monkeypatch, write)
    at(noon + timedelta(days=1), monkeypatch, write)
    query = "date_from=2025-03-09&date_to=2025-03-10"
    assert listed(auditor_client, query) == [last_day.pk, first_day.pk]
    assert listed(auditor_client, "date_to=2025-03-08") == [early.pk]


def test_it_filters_by_import_job(auditor_client):
    row = write(action="upsert", import_job_id=42, import_row=7)
    write(action="upsert", import_job_id=43, import_row=7)
    assert listed(auditor_client, "import_job=42") == [row.pk]


def test_it_pages_through_everything_once_in_order(auditor_client, small_pages):
    entries = [write() for _ in range(7)]
    seen, query = [], ""
    while True:
        response = auditor_client.get(f"{HISTORY}?{query}")
        page = response.context["page"]
        seen += [entry.pk for entry in page.entries]
        if page.older is None:
            break
        query = f"cursor={page.older.encode()}"
    assert seen == [e.pk for e in reversed(entries)]


def test_newer_goes_back_and_the_newest_page_is_always_full(auditor_client, small_pages):
    entries = [write() for _ in range(7)]
    newest_first = [e.pk for e in reversed(entries)]
    second = auditor_client.get(HISTORY).context["page"].older.encode()
    third_page = auditor_client.get(f"{HISTORY}?cursor={second}").context["page"]
    last = auditor_client.get(f"{HISTORY}?cursor={third_page.older.encode()}").context["page"]
    assert [e.pk for e in last.entries] == newest_first[6:]
    back = auditor_client.get(f"{HISTORY}?cursor={last.newer.encode()}").context["page"]
    assert [e.pk for e in back.entries] == newest_first[3:6]
    top = auditor_client.get(f"{HISTORY}?cursor={back.newer.encode()}").context["page"]
    assert [e.pk for e in top.entries] == newest_first[:3]
    assert top.is_newest


def test_pages_stay_put_while_new_entries_arrive(auditor_client, small_pages):
    entries = [write() for _ in range(6)]
    older = auditor_client.get(HISTORY).context["page"].older.encode()
    write()
    write()
    assert listed(auditor_client, f"cursor={older}") == [e.pk for e in reversed(entries[:3])]


def test_entries_written_in_the_same_microsecond_are_not_skipped(
    auditor_client, small_pages, monkeypatch
):
    now = timezone.now()
    entries = [at(now, monkeypatch, write) for _ in range(5)]
    first = auditor_client.get(HISTORY).context["page"]
    rest = listed(auditor_client, f"cursor={first.older.encode()}")
    assert [e.pk for e in first.entries] + rest == [e.pk for e in reversed(entries)]


def test_code_filtered_pages_page_through_the_code_index(auditor_client, small_pages):
    coded = [write(outcome="rejected", error_codes=("8015",)) for _ in range(5)]
    write()
    page = auditor_client.get(f"{HISTORY}?code=8015").context["page"]
    rest = listed(auditor_client, f"code=8015&cursor={page.older.encode()}")
    assert [e.pk for e in page.entries] + rest == [e.pk for e in reversed(coded)]


def test_a_page_never_counts_the_table(auditor_client):
    write()
    with CaptureQueriesContext(connection) as queries:
        auditor_client.get(f"{HISTORY}?outcome=ok")
    assert not any("COUNT(" in query["sql"].upper() for query in queries.captured_queries)


def test_htmx_gets_only_the_results(auditor_client):
    write()
    response = auditor_client.get(f"{HISTORY}?outcome=ok", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"')
    assert "<html" not in html


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("date_from=2025-13-45", "date_from", "Enter a date like 2025-03-31."),
        ("date_from=2025-03-10&date_to=2025-03-01", "date_to", "The end date is before"),
        ("import_job=abc", "import_job", "Import jobs are numbered"),
        ("import_job=0", "import_job", "greater than or equal to 1"),
        ("staff=nobody", "staff", "No member of staff has a username starting with “nobody”."),
        ("code=80%2715", "code", "Codes are numbers, like 8014."),
        ("outcome=fine", "outcome", "Select a valid choice"),
    ],
)
def test_bad_filters_are_explained_at_their_field(auditor_client, query, field, message):
    for headers in ({}, {"HX-Request": "true"}):
        response = auditor_client.get(f"{HISTORY}?{query}", headers=headers)
        assert response.status_code == 200
        html = response.content.decode()
        widget = re.search(rf'<(input|select)[^>]*id="id_{field}"[^>]*>', html)
        assert widget is not None
        assert 'aria-invalid="true"' in widget.group(0)
        assert message in html[widget.end() : widget.end() + 600]
        assert "Correct the filters above to see the history." in html


def _token(raw: str) -> str:
    return urlsafe_b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        _token("x|y|z"),
        _token("o|2024-01-01T00:00:00|1"),
        _token("o|2024-01-01T00:00:00+00:00|-1"),
        _token("q|2024-01-01T00:00:00+00:00|1"),
    ],
)
def test_a_damaged_page_link_shows_the_newest_entries_with_a_note(auditor_client, token):
    entry = write()
    response = auditor_client.get(f"{HISTORY}?cursor={token}")
    assert response.status_code == 200
    assert [e.pk for e in response.context["page"].entries] == [entry.pk]
    assert "That page link is damaged" in response.content.decode()
    with pytest.raises(ValueError, match="not a history cursor"):
        Cursor.decode(token)


def test_cursors_round_trip():
    moment = timezone.now()
    for towards in ("older", "newer"):
        cursor = Cursor(moment, 12, towards)
        assert Cursor.decode(cursor.encode()) == cursor


def exported(client: Client, query: str = "") -> list[list[str]]:
    response = client.get(f"{EXPORT}?{query}")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="change-history-')
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_the_export_honours_the_filters(auditor_client):
    rejected = write(outcome="rejected", error_codes=("8015",))
    write(outcome="ok")
    rows = exported(auditor_client, "outcome=rejected")
    header, *body = rows
    assert header[:3] == ["id", "created_at", "staff_username"]
    assert [row[0] for row in body] == [str(rejected.pk)]
    assert body[0][header.index("error_codes")] == "8015"


def test_the_export_streams_every_entry_in_batches(auditor_client, monkeypatch):
    monkeypatch.setattr(queries, "EXPORT_BATCH", 2)
    entries = [write() for _ in range(5)]
    body = exported(auditor_client, "action=update_profile")[1:]
    assert [row[0] for row in body] == [str(e.pk) for e in reversed(entries)]


@pytest.mark.parametrize(
    "typed", ['=HYPERLINK("http://evil.example")', "+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]
)
def test_the_export_neutralises_spreadsheet_formulas(auditor_client, typed):
    write(identifier=("externalId", typed), reason=typed)
    header, row = exported(auditor_client, "action=update_profile")
    assert row[header.index("identifier_value")] == "'" + typed
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_the_export_itself_is_recorded(auditor_client):
    write()
    exported(auditor_client, "outcome=ok&code=")
    export = AuditEntry.objects.get(action="export_history")
    assert export.actor_username == "ari"
    assert export.request == {"filters": {"outcome": "ok"}}


def test_an_export_with_bad_filters_shows_the_page_with_the_message(auditor_client):
    response = auditor_client.get(f"{EXPORT}?date_from=yesterday")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "Enter a date like" in response.content.decode()


def test_the_detail_page_shows_the_diff_and_the_raw_exchange(auditor_client):
    entry = write(
        outcome="ok_with_warnings",
        warning_codes=("8107",),
        before=BEFORE,
        after=AFTER,
        request={"profiles": [{"firstName": "Aasha"}]},
        response={"createdId": 100, "warnings": [{"code": 8107}]},
    )
    response = auditor_client.get(reverse("history_detail", args=[entry.pk]))
    html = response.content.decode()
    assert response.context["changes"].people[1].label == "First name (INSTORE)"
    assert '<th scope="row">Status label</th>' in html
    assert "2 bookkeeping changes" in html
    assert '<tr data-change="changed">' in html
    assert "<del>Asha</del>" in html
    assert "<ins>Aasha</ins>" in html
    assert "&quot;firstName&quot;: &quot;Aasha&quot;" in html
    assert "&quot;createdId&quot;: 100" in html
    assert "Signature checked" in html


def test_the_detail_page_flags_an_entry_that_fails_its_signature(auditor_client):
    entry = write()
    tamper("UPDATE customers_auditentry SET reason = 'edited' WHERE id = %s", (entry.pk,))
    html = auditor_client.get(reverse("history_detail", args=[entry.pk])).content.decode()
    assert "fails its signature check" in html


def test_the_detail_of_a_read_has_no_diff(auditor_client):
    entry = read(customer_id="100")
    response = auditor_client.get(reverse("history_detail", args=[entry.pk]))
    assert response.status_code == 200
    assert "Changes to the member" not in response.content.decode()


def test_a_missing_entry_is_not_found(auditor_client):
    assert auditor_client.get(reverse("history_detail", args=[999_999])).status_code == 404


def test_auditors_see_no_form_that_writes(auditor_client):
    entry = write(before=BEFORE, after=AFTER)
    for url in (HISTORY, reverse("history_detail", args=[entry.pk])):
        html = auditor_client.get(url).content.decode()
        posting = re.findall(r'<form[^>]*method="post"[^>]*>', html)
        assert posting == [f'<form method="post" action="{reverse("logout")}" class="inline">']


def test_every_filter_has_a_label(auditor_client):
    html = auditor_client.get(HISTORY).content.decode()
    for name in queries.HistoryFilterForm.base_fields:
        assert f'<label for="id_{name}">' in html


@pytest.mark.parametrize(("role", "links"), [(SUPPORT, True), (STORE_MANAGER, False)])
def test_the_member_timeline_partial(db, role, links):
    entry = write(customer_id="100", reason="Typo in name")
    request = RequestFactory().get("/")
    request.user = make_staff(role)
    html = render_to_string(
        "members/_member_history.html",
        {"history_entries": entries_for_member("100"), "customer_id": "100"},
        request=request,
    )
    assert "Update profile" in html
    assert "Typo in name" in html
    assert (reverse("history_detail", args=[entry.pk]) in html) is links
    assert (f"{HISTORY}?member=100" in html) is links


def test_the_admin_shows_history_read_only(db):
    entry = write()
    admin = User.objects.create_superuser("root", password="x")
    client = Client()
    client.force_login(admin)
    listing = client.get(reverse("admin:customers_auditentry_changelist"))
    assert listing.status_code == 200
    assert listing.context["cl"].show_full_result_count is False
    assert reverse("admin:customers_auditentry_add") not in listing.content.decode()
    assert client.get(reverse("admin:customers_auditentry_add")).status_code == 403
    change = client.get(reverse("admin:customers_auditentry_change", args=[entry.pk]))
    assert change.status_code == 200
    assert 'name="_save"' not in change.content.decode()
    delete = client.get(reverse("admin:customers_auditentry_delete", args=[entry.pk]))
    assert delete.status_code == 403


def test_only_the_console_nav_history_link_points_at_history(auditor_client):
    html = auditor_client.get(reverse("home")).content.decode()
    assert f'<a href="{HISTORY}" data-nav="history">History</a>' in html


def test_the_role_filter_offers_every_role(auditor_client):
    html = auditor_client.get(HISTORY).content.decode()
    for role in (*ROLES, "Administrator"):
        assert f'<option value="{role}">' in html


def test_the_export_quotes_every_cell_and_neutralises_what_a_semicolon_locale_would_split(
    auditor_client,
):
    write(reason="x;=cmd|' /C calc'!A0")
    response = auditor_client.get(f"{EXPORT}?action=update_profile")
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    quoted = '"(?:[^"]|"")*"'
    assert all(re.fullmatch(f"{quoted}(?:,{quoted})*", line) for line in lines), lines
    assert "\"x;'=cmd|' /C calc'!A0\"" in lines[1]


def test_the_staff_filter_matches_the_start_of_usernames_and_offers_the_list(auditor_client):
    store = make_staff(STORE_MANAGER, "store7")
    support = make_staff(SUPPORT, "sam")
    by_store = read(store)
    read(support)
    response = auditor_client.get(HISTORY + "?staff=STO")
    assert [row.pk for row in response.context["rows"]] == [by_store.pk]
    html = response.content.decode()
    assert 'list="staff-usernames"' in html
    assert '<option value="store7">' in html
