import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from customers.console.roles import AUDITOR, STORE_MANAGER, SUPPORT

# Fixtures of the import and upsert tests (emulator spies, recorded client waits).
pytest_plugins = ["tests.imports_support", "tests.browser_support"]

ROLE_USERNAMES = {SUPPORT: "sam", STORE_MANAGER: "maya", AUDITOR: "ari"}
PASSWORD = "correct horse battery staple"


def make_staff(role: str | None, username: str | None = None) -> User:
    username = username or (ROLE_USERNAMES[role] if role else "nobody")
    user = User.objects.create_user(username, password=PASSWORD, first_name=username.title())
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def staff_client(db):
    """A logged-in test client for a role: staff_client(SUPPORT)."""

    def login(role: str | None) -> Client:
        client = Client()
        client.force_login(make_staff(role))
        return client

    return login


@pytest.fixture
def support_client(staff_client) -> Client:
    return staff_client(SUPPORT)


@pytest.fixture
def store_client(staff_client) -> Client:
    return staff_client(STORE_MANAGER)


@pytest.fixture
def auditor_client(staff_client) -> Client:
    return staff_client(AUDITOR)


@pytest.fixture(autouse=True)
def fresh_capillary():
    """Every test starts with an empty in-memory emulator and a new client."""
    from customers import gateway

    gateway.reset()
    yield
    gateway.reset()


@pytest.fixture
def emulator():
    from customers import gateway

    return gateway.get_emulator()
