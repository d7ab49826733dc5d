"""Every URL, every role: anonymous → login, forbidden → 403 page, allowed → 200.

URL_CASES pins each URL of the console to the capability it needs. A URL added
without a row here fails `test_every_console_url_has_a_case`, so the matrix in
the README and the code cannot drift apart silently.
"""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from customers.console.roles import ROLE_CAPABILITIES, ROLES, Capability
from tests.conftest import make_staff

PUBLIC = {"login", "logout", "health"}
# Placeholders for ids that exist only once `seeded` has registered a member.
MEMBER = "<member>"
ENTRY = "<entry>"
JOB = "<job>"
RECEIPT = "<receipt>"


@pytest.fixture
def seeded(db):
    """A member in the emulator, the audit entry of its registration, and an import job."""
    from django.contrib.auth.models import User

    from customers.capillary.schemas import AddCustomerRequest
    from customers.members import services
    from customers.models import ImportJob

    registrar = User.objects.create_user("registrar")
    result = services.register_member(
        actor=registrar,
        request=AddCustomerRequest.model_validate(
            {
                "profiles": [
                    {
                        "identifiers": [{"type": "mobile", "value": "919900000001"}],
                        "source": "INSTORE",
                    }
                ]
            }
        ),
    )
    job = ImportJob.objects.create(owner=registrar, file_name="members.csv", columns=["mobile"])
    receipt = services.receipt_token(result.entry)
    return {MEMBER: result.customer_id, ENTRY: result.entry.pk, JOB: job.pk, RECEIPT: receipt}


def resolved(kwargs: dict[str, object], seeded: dict[str, object]) -> dict[str, object]:
    return {key: seeded.get(value, value) for key, value in kwargs.items()}  # type: ignore[call-overload]


# Pages that are their owner's and, for anyone else, need this capability; the seeded
# one belongs to no role (tests/members/test_receipts.py covers the owner).
SOMEONE_ELSES = {"register_receipt": Capability.VIEW_HISTORY}

# url name -> (capability or None for "any signed-in staff", kwargs, query string)
URL_CASES: dict[str, tuple[Capability | None, dict[str, object], str]] = {
    "home": (None, {}, ""),
    "history": (Capability.VIEW_HISTORY, {}, "?outcome=ok"),
    "history_detail": (Capability.VIEW_HISTORY, {"pk": ENTRY}, ""),
    "search": (Capability.SEARCH, {}, "?q=919900000099&source=INSTORE"),
    "search_suggest": (Capability.SEARCH, {}, "?q=pri"),
    "member": (Capability.VIEW_PROFILE, {"customer_id": MEMBER}, "?source=INSTORE"),
    "register": (Capability.REGISTER, {}, ""),
    "register_check": (Capability.REGISTER, {}, "?mobile=919900000001&source=INSTORE"),
    "register_receipt": (None, {"token": RECEIPT}, ""),
    "member_edit": (Capability.EDIT_PROFILE, {"customer_id": MEMBER}, "?source=INSTORE"),
    "member_channel_row": (Capability.EDIT_PROFILE, {"customer_id": MEMBER}, "?index=2"),
    "member_enroll": (Capability.ENROLL, {"customer_id": MEMBER}, "?source=INSTORE"),
    "member_identifiers": (
        Capability.CHANGE_IDENTIFIERS,
        {"customer_id": MEMBER},
        "?source=INSTORE",
    ),
    "member_subscriptions": (
        Capability.CHANGE_SUBSCRIPTIONS,
        {"customer_id": MEMBER},
        "?source=INSTORE",
    ),
    "member_status": (Capability.CHANGE_STATUS, {"customer_id": MEMBER}, "?source=INSTORE"),
    "member_card": (
        Capability.VIEW_PROFILE,
        {"customer_id": MEMBER},
        "?source=INSTORE&number=MC-0001",
    ),
    "member_capillary_audit": (
        Capability.VIEW_HISTORY,
        {"customer_id": MEMBER},
        "?source=INSTORE",
    ),
    "history_export": (Capability.EXPORT_HISTORY, {}, "?action=search"),
    "history_export_verifiable": (Capability.EXPORT_HISTORY, {}, "?action=search"),
    "upsert": (Capability.UPSERT, {}, ""),
    "imports": (Capability.UPSERT, {}, ""),
    "import_new": (Capability.UPSERT, {}, ""),
    "import_template": (Capability.UPSERT, {}, ""),
    "import_example": (Capability.UPSERT, {}, ""),
    "import_detail": (Capability.UPSERT, {"job_id": JOB}, ""),
    "import_results_csv": (Capability.UPSERT, {"job_id": JOB}, ""),
    "import_failed_csv": (Capability.UPSERT, {"job_id": JOB}, ""),
}


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
    view = (
        get_resolver()
        .resolve(
            reverse(name, kwargs=resolved(kwargs, {MEMBER: 1, ENTRY: 1, JOB: 1, RECEIPT: "r"}))
        )
        .func
    )
    view = getattr(view, "view_class", view)
    assert getattr(view, "required_capability", "missing") == capability


@pytest.mark.parametrize("name", sorted(URL_CASES))
def test_anonymous_users_are_sent_to_login(seeded, name):
    _, kwargs, query = URL_CASES[name]
    url = reverse(name, kwargs=resolved(kwargs, seeded)) + query
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    htmx = Client().get(url, headers={"HX-Request": "true"})
    assert htmx.status_code == 200
    assert htmx["HX-Redirect"].startswith(reverse("login"))


@pytest.mark.parametrize("role", [*ROLES, None])
@pytest.mark.parametrize("name", sorted(URL_CASES))
def test_each_role_gets_exactly_what_the_matrix_allows(seeded, name, role):
    from customers.models import ImportJob

    capability, kwargs, query = URL_CASES[name]
    client = Client()
    user = make_staff(role)
    client.force_login(user)
    # An import's files are its uploader's (tests/imports/test_import_ownership.py covers
    # colleagues); here the job is the signed-in user's, so only the capability decides.
    ImportJob.objects.filter(pk=seeded[JOB]).update(owner=user)
    capability = SOMEONE_ELSES.get(name, capability)
    allowed = capability is None or (role is not None and capability in ROLE_CAPABILITIES[role])
    for headers in ({}, {"HX-Request": "true"}):
        url = reverse(name, kwargs=resolved(kwargs, seeded)) + query
        response = client.get(url, headers=headers)
        if allowed:
            assert response.status_code == 200, (name, role, headers)
        else:
            assert response.status_code == 403, (name, role, headers)
            assert "Not allowed" in response.content.decode()


def test_superusers_hold_every_capability(db):
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("root", password="x")
    assert all(admin.has_perm(capability.perm) for capability in Capability)
