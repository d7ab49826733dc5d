"""Operators follow a request through the logs: one line per 403, request id and user on each."""

import copy
import io
import json
import logging.config

import pytest

from customers.console.roles import AUDITOR, SUPPORT
from membercare import settings as console_settings
from tests.conftest import make_staff
from tests.console import test_access
from tests.console.test_access import MEMBER

seeded = test_access.seeded


@pytest.fixture
def log_lines():
    """membercare.settings.LOGGING (tests.settings replaces it with a bare one), into a buffer."""
    stream = io.StringIO()

    def configure(fmt: str = "plain"):
        config = copy.deepcopy(console_settings.LOGGING)
        config["handlers"]["console"]["formatter"] = fmt
        config["handlers"]["console"]["stream"] = stream
        logging.config.dictConfig(config)
        return lambda: stream.getvalue().splitlines()

    yield configure
    logging.config.dictConfig(
        {"version": 1, "disable_existing_loggers": False, "root": {"handlers": []}}
    )


def test_a_403_is_one_line_naming_who_what_and_the_missing_capability(client, db, log_lines):
    client.force_login(make_staff(AUDITOR))
    lines = log_lines()
    response = client.get("/upsert/?x=1")
    assert response.status_code == 403
    assert len(lines()) == 1, lines()
    assert "WARNING customers.access" in lines()[0]
    assert "403 GET /upsert/?x=1: ari (Auditor) lacks upsert" in lines()[0]
    assert "Traceback" not in "\n".join(lines())


def test_json_lines_carry_the_request_id_and_the_user(client, seeded, log_lines):
    client.force_login(make_staff(SUPPORT))
    lines = log_lines("json")
    response = client.get(
        f"/customers/{seeded[MEMBER]}/?source=INSTORE", headers={"X-Request-ID": "req-12345678"}
    )
    assert response["X-Request-ID"] == "req-12345678"
    records = [json.loads(line) for line in lines()]
    assert records, "the member page calls Capillary, which logs a line per call"
    assert {(r["request_id"], r["user"]) for r in records} == {("req-12345678", "sam")}, [
        r for r in records if r["user"] != "sam"
    ]
    assert {"time", "level", "logger", "message"} <= set(records[0])


def test_a_request_without_a_sane_id_gets_a_new_one(client, db):
    response = client.get("/healthz/", headers={"X-Request-ID": "x\nforged line"})
    assert len(response["X-Request-ID"]) == 32
    assert "\n" not in response["X-Request-ID"]
