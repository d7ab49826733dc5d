import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from customers.console.permissions import role_of


def test_it_creates_one_account_per_role_and_prints_passwords(db, settings, tmp_path, capsys):
    settings.DEBUG = True
    settings.VAR_DIR = tmp_path
    call_command("create_demo_accounts")
    printed = capsys.readouterr().out
    roles = {user.username: role_of(user) for user in User.objects.all()}
    assert roles == {
        "support": "Support staff",
        "store": "Store manager",
        "auditor": "Auditor",
        "admin": "Administrator",
    }
    password = printed.split("support")[1].split()[0]
    assert User.objects.get(username="support").check_password(password)


def test_a_second_run_keeps_the_accounts_and_shows_them_again(db, settings, tmp_path, capsys):
    settings.DEBUG = True
    settings.VAR_DIR = tmp_path
    call_command("create_demo_accounts")
    first = capsys.readouterr().out
    call_command("create_demo_accounts")
    second = capsys.readouterr().out
    assert User.objects.count() == 4
    assert first.split("password):")[1].strip() in second


def test_it_refuses_when_debug_is_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("create_demo_accounts")
    assert not User.objects.exists()


def test_the_accounts_are_marked_as_demo_accounts_even_when_made_before_the_mark(
    db, settings, tmp_path
):
    from django.contrib.auth.models import Group

    from customers.console.roles import DEMO_GROUP

    settings.DEBUG = True
    settings.VAR_DIR = tmp_path
    call_command("create_demo_accounts")
    assert set(User.objects.filter(groups__name=DEMO_GROUP).values_list("username", flat=True)) == {
        "support",
        "store",
        "auditor",
        "admin",
    }
    Group.objects.get(name=DEMO_GROUP).user_set.clear()
    call_command("create_demo_accounts")
    assert User.objects.filter(groups__name=DEMO_GROUP).count() == 4
