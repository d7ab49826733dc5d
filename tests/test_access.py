"""Every URL, every role: anonymous → login, forbidden → 403 page, allowed → 200.

URL_CASES pins each URL of the console to the capability it needs. A URL added
without a row here fails `test_every_console_url_has_a_case`, so the matrix in
the README and the code cannot drift apart silently.
"""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from customers import audit
from customers.roles import ROLE_CAPABILITIES, ROLES, Capability
from tests.conftest import make_staff

PUBLIC = {"login", "logout"}

# url name -> (capability or None for "any signed-in staff", kwargs, query string)
URL_CASES: dict[str, tuple[Capability | None, dict[str, object], str]] = {
    "home": (None, {}, ""),
    "history": (Capability.VIEW_HISTORY, {}, "?outcome=ok"),
    "history_detail": (Capability.VIEW_HISTORY, {"pk": 1}, ""),
    "history_export": (Capability.EXPORT_HISTORY, {}, "?action=search"),
}


@pytest.fixture(autouse=True)
def an_audit_entry(request):
    """history_detail needs an entry to show, and its id is known only once it exists."""
    if "db" in request.fixturenames:
        request.getfixturevalue("db")
        entry = audit.record_read(actor=None, action="search", identifier_value="9190000001")
        URL_CASES["history_detail"][1]["pk"] = entry.pk


def console_url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.app_name == "admin":
                    continue
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver().url_patterns)
    return names


def test_every_console_url_has_a_case():
    assert console_url_names() - PUBLIC == set(URL_CASES)


@pytest.mark.parametrize("name", sorted(URL_CASES))
def test_the_view_declares_the_capability_the_matrix_gives_it(name):
    capability, kwargs, _ = URL_CASES[name]
    view = get_resolver().resolve(reverse(name, kwargs=kwargs)).func
    view = getattr(view, "view_class", view)
    assert getattr(view, "required_capability", "missing") == capability


@pytest.mark.parametrize("name", sorted(URL_CASES))
def test_anonymous_users_are_sent_to_login(db, name):
    _, kwargs, query = URL_CASES[name]
    url = reverse(name, kwargs=kwargs) + query
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    htmx = Client().get(url, headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"].startswith(reverse("login"))


@pytest.mark.parametrize("role", [*ROLES, None])
@pytest.mark.parametrize("name", sorted(URL_CASES))
def test_each_role_gets_exactly_what_the_matrix_allows(db, name, role):
    capability, kwargs, query = URL_CASES[name]
    client = Client()
    client.force_login(make_staff(role))
    allowed = capability is None or (role is not None and capability in ROLE_CAPABILITIES[role])
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get(reverse(name, kwargs=kwargs) + query, headers=headers)
        if allowed:
            assert response.status_code == 200, (name, role, headers)
        else:
            assert response.status_code == 403, (name, role, headers)
            assert "Not allowed" in response.content.decode()


def test_superusers_hold_every_capability(db):
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("root", password="x")
    assert all(admin.has_perm(capability.perm) for capability in Capability)
