import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from membercare import settings as console_settings

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CAPILLARY_", "DJANGO_", "DATABASE_URL", "DEBUG", "SECRET_KEY"))
    }
    environment.update(env, DJANGO_SETTINGS_MODULE="membercare.settings")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("helper", "name", "raw", "words"),
    [
        (lambda e: console_settings.env_bool("DEBUG", True, e), "DEBUG", "maybe", "true or false"),
        (
            lambda e: console_settings.env_float("CAPILLARY_READ_TIMEOUT", 1.0, environ=e),
            "CAPILLARY_READ_TIMEOUT",
            "soon",
            "a number",
        ),
        (
            lambda e: console_settings.env_float("CAPILLARY_READ_TIMEOUT", 1.0, environ=e),
            "CAPILLARY_READ_TIMEOUT",
            "-2",
            "greater than 0",
        ),
        (
            lambda e: console_settings.env_int("IMPORT_BATCH_SIZE", 1, environ=e),
            "IMPORT_BATCH_SIZE",
            "ten",
            "whole number",
        ),
        (
            lambda e: console_settings.env_choice("CAPILLARY_AUTH", "basic", ("basic", "oauth"), e),
            "CAPILLARY_AUTH",
            "kerberos",
            "basic, oauth",
        ),
        (
            lambda e: console_settings.env_json_object("CAPILLARY_RATE_LIMITS", e),
            "CAPILLARY_RATE_LIMITS",
            '{"POST /v2/customers": "fast"}',
            "positive whole numbers",
        ),
    ],
)
def test_it_names_the_variable_when_a_value_is_bad(helper, name, raw, words):
    with pytest.raises(ImproperlyConfigured) as caught:
        helper({name: raw})
    assert name in str(caught.value)
    assert words in str(caught.value)


def test_it_accepts_good_values():
    assert console_settings.env_bool("DEBUG", True, {"DEBUG": "off"}) is False
    assert console_settings.env_float("T", 1.0, environ={"T": "2.5"}) == 2.5
    assert console_settings.env_choice("A", "basic", ("basic", "oauth"), {"A": "OAuth"}) == "oauth"
    assert console_settings.env_list("H", "", {"H": "a.example, b.example ,"}) == [
        "a.example",
        "b.example",
    ]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DEBUG": "nope"}, "DEBUG"),
        ({"DEBUG": "false", "ALLOWED_HOSTS": "x.example"}, "SECRET_KEY"),
        ({"CAPILLARY_CONNECT_TIMEOUT": "0"}, "CAPILLARY_CONNECT_TIMEOUT"),
        ({"CAPILLARY_BASE_URL": "eu.api.capillarytech.com"}, "CAPILLARY_BASE_URL"),
        (
            {"CAPILLARY_BASE_URL": "https://eu.api.capillarytech.com", "CAPILLARY_AUTH": "oauth"},
            "CAPILLARY_CLIENT_KEY",
        ),
        ({"CAPILLARY_EMULATOR_ORG": "/nonexistent/org.json"}, "CAPILLARY_EMULATOR_ORG"),
        ({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
    ],
)
def test_it_stops_start_up_naming_the_bad_variable(env, named):
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert named in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_check_deploy_reports_nothing_with_production_values(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "DEBUG",
        DEBUG="false",
        SECRET_KEY="p" + "rod-" * 20 + "a8Zq!x3@Lm#7wRt$Yb2^Kc9&",
        ALLOWED_HOSTS="console.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        CAPILLARY_BASE_URL="https://eu.api.capillarytech.com",
        CAPILLARY_TILL_CODE="store.server",
        CAPILLARY_TILL_PASSWORD="server123",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
