from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from customers.models import LoginFailure
from tests.conftest import PASSWORD, make_staff


def post_login(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_it_signs_staff_in_and_out(db):
    make_staff("Support staff")
    client = Client()
    response = post_login(client, "sam", PASSWORD)
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_it_refuses_even_the_right_password_after_repeated_failures(db, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    make_staff("Support staff")
    client = Client()
    for _ in range(3):
        assert post_login(client, "sam", "wrong").status_code == 200
    response = post_login(client, "Sam", PASSWORD)
    assert response.status_code == 200
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_success_clears_earlier_failures(db, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    make_staff("Support staff")
    client = Client()
    post_login(client, "sam", "wrong")
    post_login(client, "sam", "wrong")
    assert post_login(client, "sam", PASSWORD).status_code == 302
    assert not LoginFailure.objects.filter(username="sam").exists()


def test_one_address_spraying_many_usernames_is_throttled(db, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    User.objects.create_user("victim", password=PASSWORD)
    client = Client()
    for number in range(8):
        post_login(client, f"guess{number}", "wrong")
    response = post_login(client, "victim", PASSWORD)
    assert "Too many failed sign-in attempts" in response.content.decode()


def test_failures_older_than_the_window_do_not_count(db, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 60
    make_staff("Support staff")
    client = Client()
    post_login(client, "sam", "wrong")
    post_login(client, "sam", "wrong")
    LoginFailure.objects.update(created_at="2000-01-01T00:00:00Z")
    assert post_login(client, "sam", PASSWORD).status_code == 302
