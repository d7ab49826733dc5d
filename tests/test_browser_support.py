"""The browser fixture leaves no connection behind on PostgreSQL.

The whole suite runs the database tests, then the browser tests, then the tests
that ask for the database late (request.getfixturevalue); from the first browser
test on, Playwright's event loop counts as running in the main thread and Django
keeps that thread's connections apart. A connection left there kept
test_membercare from being dropped at the end of every PostgreSQL run. The check
runs a small suite of that shape in a child pytest on its own database.
"""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.browser_support import chromium_path

ROOT = Path(__file__).resolve().parents[1]
TEARDOWN_FAILED = "Error when trying to teardown test databases"

CHILD_CONFTEST = 'pytest_plugins = ["tests.browser_support"]\n'
CHILD_TESTS = """
from django.contrib.auth.models import User


def test_a_database_test_before_the_browser_starts(db):
    assert not User.objects.exists()


def test_a_database_test_while_the_browser_runs(browser, db):
    assert not User.objects.exists()
"""


def test_a_run_that_used_the_browser_drops_its_test_database(tmp_path):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("Only PostgreSQL keeps a test database that a stray session can hold")
    if chromium_path() is None:
        pytest.skip("No Chromium found (CHROMIUM_PATH or /usr/bin/chromium)")
    import psycopg

    parts = urlsplit(url)
    child_database = f"{parts.path.lstrip('/')}_teardown_check"
    child_url = urlunsplit(parts._replace(path=f"/{child_database}"))
    server = {
        "host": parts.hostname,
        "port": parts.port or 5432,
        "user": parts.username,
        "password": parts.password,
        "dbname": "postgres",
        "autocommit": True,
    }

    def test_database_exists() -> bool:
        with psycopg.connect(**server) as admin:
            found = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (f"test_{child_database}",)
            )
            return found.fetchone() is not None

    (tmp_path / "pytest.ini").write_text(
        f"[pytest]\nDJANGO_SETTINGS_MODULE = tests.settings\n"
        f"filterwarnings = error:{TEARDOWN_FAILED}:pytest.PytestWarning\n"
    )
    (tmp_path / "conftest.py").write_text(CHILD_CONFTEST)
    (tmp_path / "test_child.py").write_text(CHILD_TESTS)
    env = {**os.environ, "DATABASE_URL": child_url, "PYTHONPATH": str(ROOT)}
    ini = ["--rootdir", str(tmp_path), "-c", str(tmp_path / "pytest.ini")]
    try:
        child = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *ini, str(tmp_path)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        said = child.stdout + child.stderr
        assert TEARDOWN_FAILED not in said, said
        assert child.returncode == 0, said
        assert not test_database_exists()
    finally:
        # The child has exited, so nothing holds a database it left: drop it.
        with psycopg.connect(**server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "test_{child_database}"')
