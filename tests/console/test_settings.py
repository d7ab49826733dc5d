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
        if not key.startswith(
            ("CAPILLARY_", "DJANGO_", "DATABASE_URL", "DEBUG", "SECRET_KEY", "REDIS_URL")
        )
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
        ({"CAPILLARY_RATE_LIMIT_BACKEND": "etcd"}, "CAPILLARY_RATE_LIMIT_BACKEND"),
        ({"CAPILLARY_RATE_LIMIT_BACKEND": "redis"}, "REDIS_URL"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"CAPILLARY_RATE_LIMIT_BACKEND": "postgres"}, "PostgreSQL DATABASE_URL"),
        ({"CAPILLARY_RATE_LIMIT_MARGIN_MS": "-1"}, "CAPILLARY_RATE_LIMIT_MARGIN_MS"),
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


@pytest.mark.parametrize(
    ("env", "backend"),
    [
        ({}, "sqlite"),
        ({"DATABASE_URL": "postgres://membercare:secret@db.example:5432/membercare"}, "postgres"),
        (
            {
                "DATABASE_URL": "postgres://membercare:secret@db.example:5432/membercare",
                "REDIS_URL": "redis://cache.example:6379/0",
            },
            "redis",
        ),
        ({"REDIS_URL": "redis://cache.example:6379/0"}, "redis"),
        (
            {
                "DATABASE_URL": "postgres://membercare:secret@db.example:5432/membercare",
                "CAPILLARY_RATE_LIMIT_BACKEND": "sqlite",
            },
            "sqlite",
        ),
    ],
)
def test_the_rate_limiter_backend_follows_the_database_and_redis_url(env, backend):
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.CAPILLARY_RATE_LIMIT_BACKEND)",
        **env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == backend  # after shell's import notice


@pytest.mark.parametrize(
    ("backend", "kind"),
    [
        ("sqlite", "SqliteRateLimiter"),
        ("postgres", "PostgresRateLimiter"),
        ("redis", "RedisRateLimiter"),
        ("memory", "InMemoryRateLimiter"),
    ],
)
def test_the_gateway_builds_the_limiter_the_settings_chose(backend, kind, settings, tmp_path):
    from customers import gateway

    settings.CAPILLARY_RATE_LIMIT_BACKEND = backend
    settings.CAPILLARY_RATE_LIMIT_STATE = str(tmp_path / "quota.sqlite3")
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.DATABASES = {
        **settings.DATABASES,
        "default": {
            **settings.DATABASES["default"],
            "HOST": "db.example",
            "PORT": 5433,
            "NAME": "membercare",
            "USER": "console",
            "PASSWORD": "pw",
        },
    }

    limiter = gateway._rate_limiter()  # builds only: no connection is opened yet

    assert type(limiter).__name__ == kind
    if backend == "postgres":
        assert "host=db.example" in limiter._conninfo
        assert "port=5433" in limiter._conninfo
        assert "dbname=membercare" in limiter._conninfo
