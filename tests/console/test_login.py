import io
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from customers.console.addresses import client_address
from customers.console.roles import DEMO_GROUP
from tests.conftest import PASSWORD, make_staff

PROXY = "10.0.0.5"


def post_login(client: Client, username: str, password: str, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def test_it_signs_staff_in_and_out(db):
    make_staff("Support staff")
    client = Client()
    response = post_login(client, "sam", PASSWORD)
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_it_refuses_even_the_right_password_after_repeated_failures(db, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_staff("Support staff")
    client = Client()
    for _ in range(2):
        assert post_login(client, "sam", "wrong").status_code == 200
    assert post_login(client, "sam", "wrong").status_code == 429
    response = post_login(client, "Sam", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_success_clears_earlier_failures(db, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_staff("Support staff")
    client = Client()
    post_login(client, "sam", "wrong")
    post_login(client, "sam", "wrong")
    assert post_login(client, "sam", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    post_login(client, "sam", "wrong")
    post_login(client, "sam", "wrong")
    assert post_login(client, "sam", PASSWORD).status_code == 302


def test_failures_of_other_usernames_from_one_address_never_lock_out_the_right_password(
    db, settings
):
    settings.AXES_FAILURE_LIMIT = 2
    User.objects.create_user("victim", password=PASSWORD)
    client = Client()
    for number in range(40):
        post_login(client, f"guess{number}", "wrong")
    assert post_login(client, "victim", PASSWORD).status_code == 302


def test_behind_the_proxy_one_persons_failures_do_not_lock_out_another(db, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.TRUSTED_PROXIES = [PROXY]
    make_staff("Support staff")
    attacker, colleague = Client(REMOTE_ADDR=PROXY), Client(REMOTE_ADDR=PROXY)
    for _ in range(5):
        post_login(attacker, "sam", "wrong", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert (
        post_login(attacker, "sam", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code
        == 429
    )
    # Same username, another client behind the same proxy: its own count.
    assert (
        post_login(colleague, "sam", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.20").status_code
        == 302
    )


def test_failures_older_than_the_window_do_not_count(db, settings):
    settings.AXES_FAILURE_LIMIT = 2
    make_staff("Support staff")
    client = Client()
    post_login(client, "sam", "wrong")
    post_login(client, "sam", "wrong")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(hours=2))
    assert post_login(client, "sam", PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", "", "203.0.113.9"),
        # Not from a trusted proxy: the header is anyone's, even naming the proxy.
        ("203.0.113.9", "198.51.100.7", "203.0.113.9"),
        ("203.0.113.9", f"198.51.100.7, {PROXY}", "203.0.113.9"),
        # From the proxy: the rightmost address that is not one of ours.
        (PROXY, "198.51.100.7", "198.51.100.7"),
        (PROXY, "1.1.1.1, 198.51.100.7", "198.51.100.7"),
        (PROXY, f"198.51.100.7, {PROXY}", "198.51.100.7"),
        (PROXY, "not-an-address", PROXY),
        (PROXY, "", PROXY),
    ],
)
def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(settings, peer, forwarded, expected):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_ipware_would_believe_a_forged_header_from_anyone(settings):
    """Why axes gets our own address callable: ipware's trusted list checks the header's
    entries, not who connected, so a direct client naming the proxy is believed."""
    from ipware.ip import get_client_ip

    request = RequestFactory().get(
        "/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"198.51.100.7, {PROXY}"
    )
    forged, _ = get_client_ip(
        request,
        proxy_trusted_ips=[PROXY],
        request_header_order=["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"],
    )
    assert forged == "198.51.100.7"


def demo_account(username: str = "support") -> User:
    user = make_staff("Support staff", username)
    user.groups.add(Group.objects.get_or_create(name=DEMO_GROUP)[0])
    return user


def test_demo_accounts_are_refused_at_sign_in_when_debug_is_off(db, settings):
    settings.DEBUG = False
    demo_account()
    client = Client()
    response = post_login(client, "support", PASSWORD)
    assert response.status_code == 200
    assert "Demo accounts cannot sign in when DEBUG is off" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_demo_accounts_sign_in_under_debug(db, settings):
    settings.DEBUG = True
    demo_account()
    assert post_login(Client(), "support", PASSWORD).status_code == 302


def test_other_accounts_sign_in_with_debug_off(db, settings):
    settings.DEBUG = False
    make_staff("Support staff")
    assert post_login(Client(), "sam", PASSWORD).status_code == 302


def test_a_locked_out_person_is_told_to_ask_for_an_unlock_and_an_administrator_can_give_it(
    db, settings
):
    settings.AXES_FAILURE_LIMIT = 2
    make_staff("Support staff")
    client = Client()
    post_login(client, "sam", "wrong")
    post_login(client, "sam", "wrong")
    locked = post_login(client, "sam", PASSWORD)
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "ask an administrator to unlock your account" in page
    assert "reset your password" not in page
    call_command("axes_reset_username", "sam", stdout=io.StringIO())
    assert post_login(client, "sam", PASSWORD).status_code == 302
