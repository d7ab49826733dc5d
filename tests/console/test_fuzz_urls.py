"""Every URL of the console, random query strings: never a 500.

Hypothesis draws query strings from the parameter names the views read, mixed
with values that broke them before (unknown sources, superscript digits that
pass str.isdigit(), dates past the year 9999 arithmetic allows) and arbitrary
text. Requests run as a superuser, who may open every screen, with and without
htmx. An exception inside a view would come back as a 500 here.
"""

from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PASSWORD
from tests.console import test_access
from tests.console.test_access import PUBLIC, URL_CASES, console_url_names, resolved

seeded = test_access.seeded  # a member, an audit entry and an import job to point URLs at

PARAMETERS = [
    "source", "account_id", "before", "after", "problems_after", "q", "kind", "index",
    "cursor", "outcome", "action", "member", "staff", "role", "code", "date_from", "date_to",
    "mobile", "email", "status", "page", "filter",
]  # fmt: skip
NASTY = [
    "BOGUS", "instore", "ALL", "²", "¹²³", "٣", "-1", "0", "99999999999999999999999", "1e9",
    "9999-12-31", "0001-01-01", "2026-02-30", "\x00", "%", "' OR 1=1 --", "<script>",
    "x;=cmd|' /C calc'!A0", "", " ", "o:2026-01-01T00:00:00+00:00:1", "mobile", "id",
]  # fmt: skip
# Mostly names the views read and values known to hurt, some arbitrary ones.
names = st.one_of(st.sampled_from(PARAMETERS), st.text(min_size=1, max_size=8))
values = st.one_of(
    st.sampled_from(NASTY), st.text(max_size=30), st.integers().map(str), st.dates().map(str)
)
queries = st.dictionaries(names, values, min_size=1, max_size=4)


@pytest.fixture
def admin(db, seeded):
    from django.contrib.auth.models import User

    client = Client(raise_request_exception=False)
    client.force_login(User.objects.create_superuser("root", password=PASSWORD))
    return client


def test_every_url_is_fuzzed():
    assert console_url_names() - PUBLIC == set(URL_CASES)


@pytest.mark.parametrize("name", sorted([*URL_CASES, "login", "health"]))
def test_no_query_string_makes_a_url_answer_500(admin, seeded, name):
    kwargs = URL_CASES[name][1] if name in URL_CASES else {}
    path = reverse(name, kwargs=resolved(kwargs, seeded))

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(query=queries, htmx=st.booleans())
    def request(query, htmx):
        response = admin.get(
            f"{path}?{urlencode(query)}", headers={"HX-Request": "true"} if htmx else {}
        )
        assert response.status_code < 500, (path, query, htmx)

    request()
