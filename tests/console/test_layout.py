import pytest
from django.contrib import messages
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path, reverse

from customers.console.roles import AUDITOR, STORE_MANAGER, SUPPORT
from tests.conftest import make_staff


def flash_view(request):
    messages.success(request, "Saved the member.")
    return HttpResponse("<p>fragment</p>", content_type="text/html; charset=utf-8")


urlpatterns = [
    path("flash/", flash_view, name="flash"),
    path("", include("membercare.urls")),
]

NAV = {"Search", "Register", "Import", "History"}


def nav_items(html: str) -> set[str]:
    return {item for item in NAV if f'data-nav="{item.lower()}"' in html}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (SUPPORT, {"Search", "Register", "Import", "History"}),
        (STORE_MANAGER, {"Search", "Register"}),
        (AUDITOR, {"Search", "History"}),
        (None, set()),
    ],
)
def test_navigation_shows_what_the_role_may_open(db, role, expected):
    client = Client()
    client.force_login(make_staff(role))
    html = client.get(reverse("home")).content.decode()
    assert nav_items(html) == expected
    assert (role or "No role") in html


def test_the_emulator_banner_shows_only_when_talking_to_the_emulator(db, settings):
    client = Client()
    client.force_login(make_staff(SUPPORT))
    settings.CAPILLARY_BASE_URL = ""
    assert "embedded Capillary emulator" in client.get(reverse("home")).content.decode()
    settings.CAPILLARY_BASE_URL = "https://eu.api.capillarytech.com"
    assert "embedded Capillary emulator" not in client.get(reverse("home")).content.decode()


def test_every_input_on_the_login_page_has_a_label(db):
    html = Client().get(reverse("login")).content.decode()
    assert 'for="id_username"' in html
    assert 'for="id_password"' in html


@pytest.mark.urls("tests.console.test_layout")
def test_messages_reach_the_page_after_an_htmx_request(db):
    client = Client()
    client.force_login(make_staff(SUPPORT))
    fragment = client.get("/flash/", headers={"HX-Request": "true"}).content.decode()
    assert 'id="messages"' in fragment
    assert 'hx-swap-oob="true"' in fragment
    assert "Saved the member." in fragment
    assert "Saved the member." not in client.get(reverse("home")).content.decode()


@pytest.mark.urls("tests.console.test_layout")
def test_messages_after_a_plain_request_wait_for_the_next_page(db):
    client = Client()
    client.force_login(make_staff(SUPPORT))
    assert "Saved the member." not in client.get("/flash/").content.decode()
    assert "Saved the member." in client.get(reverse("home")).content.decode()


def test_htmx_is_served_from_static_not_a_cdn(db):
    html = Client().get(reverse("login")).content.decode()
    assert "/static/vendor/htmx.min.js" in html
    assert "://" not in html.split("htmx.min.js")[0].rsplit("<script", 1)[1]


def test_unknown_pages_get_a_friendly_404_without_a_stack_trace(db):
    response = Client().get("/no/such/page/")
    assert response.status_code == 404
    assert "There is no page at this address" in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_the_health_check_answers_without_signing_in(db):
    response = Client().get(reverse("health"))
    assert response.status_code == 200
    assert response.content == b"ok"
