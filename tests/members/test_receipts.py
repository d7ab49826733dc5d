"""A registration receipt is for who registered and for roles that view history (12.7)."""

import re

from django.test import Client
from django.urls import reverse

from customers.console.roles import AUDITOR, STORE_MANAGER, SUPPORT
from customers.models import AuditEntry
from tests.conftest import make_staff
from tests.members.test_member_views import registration


def register(client: Client) -> str:
    response = client.post(reverse("register"), registration(client))
    assert response.status_code == 302
    return response["Location"]


def signed_in(role: str, username: str) -> Client:
    client = Client()
    client.force_login(make_staff(role, username))
    return client


def test_the_receipt_url_names_no_sequence(db):
    url = register(signed_in(STORE_MANAGER, "till1"))
    entry = AuditEntry.objects.get(action="register")
    token = re.fullmatch(r"/customers/register/receipt/([\w-]+)/", url).group(1)
    assert str(entry.pk) != token
    assert len(token) >= 40


def test_the_registrar_reads_their_receipt(db):
    till = signed_in(STORE_MANAGER, "till1")
    url = register(till)
    response = till.get(url)
    assert response.status_code == 200
    assert response.context["entry"].actor_username == "till1"


def test_another_store_manager_is_refused_even_with_the_link(db):
    url = register(signed_in(STORE_MANAGER, "till1"))
    other = signed_in(STORE_MANAGER, "till2")
    assert other.get(url).status_code == 403


def test_roles_that_view_history_read_any_receipt(db):
    url = register(signed_in(STORE_MANAGER, "till1"))
    assert signed_in(AUDITOR, "ari").get(url).status_code == 200
    assert signed_in(SUPPORT, "sam").get(url).status_code == 200


def test_the_old_sequential_address_is_gone(db):
    register(signed_in(STORE_MANAGER, "till1"))
    entry = AuditEntry.objects.get(action="register")
    other = signed_in(STORE_MANAGER, "till2")
    assert other.get(f"/customers/register/receipt/{entry.pk}/").status_code == 404
