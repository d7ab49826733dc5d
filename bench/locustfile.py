"""Signed-in support staff working through the console, for Locust (bench/pages.py runs it).

Each simulated person signs in once with their own account, then repeats what a
support agent does all day: search a member by mobile, open the profile, open
the edit form and save a change, and look at the change history. Requests are
named per page, so Locust reports each page's rate and percentiles apart.

Read from the environment (bench/pages.py sets them):

- BENCH_HOSTS: comma-separated base URLs of the console hosts; people are spread
  over them in turn, as a load balancer would;
- BENCH_STAFF: a JSON list of [username, password];
- BENCH_MEMBERS: a JSON list of [customer_id, mobile].

    .venv/bin/locust -f bench/locustfile.py --headless -u 20 -r 10 -t 30s --csv out
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading

from locust import HttpUser, between, task

HOSTS = [host for host in os.environ.get("BENCH_HOSTS", "").split(",") if host]
STAFF = json.loads(os.environ.get("BENCH_STAFF", "[]"))
MEMBERS = json.loads(os.environ.get("BENCH_MEMBERS", "[]"))
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

_turn = itertools.count()
_turn_lock = threading.Lock()


def _next_person() -> int:
    with _turn_lock:
        return next(_turn)


class SupportStaff(HttpUser):
    # A person reads the page before the next click; short, so the console is the bottleneck.
    wait_time = between(0.1, 0.5)
    host = HOSTS[0] if HOSTS else "http://127.0.0.1:8000"

    def on_start(self) -> None:
        number = self.person = _next_person()
        if HOSTS:
            self.client.base_url = HOSTS[number % len(HOSTS)]
        username, password = STAFF[number % len(STAFF)]
        page = self.client.get("/login/", name="sign-in")
        token = CSRF.search(page.text)
        with self.client.post(
            "/login/",
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            allow_redirects=False,
            name="sign-in",
            catch_response=True,
        ) as answer:
            if answer.status_code != 302:
                answer.failure(f"sign-in refused ({answer.status_code})")
        self.edits = 0

    def _member(self) -> tuple[int, str]:
        customer_id, mobile = random.choice(MEMBERS)
        return int(customer_id), str(mobile)

    @task(4)
    def search(self) -> None:
        _, mobile = self._member()
        # As the search box sends it: htmx, answered with the results alone.
        with self.client.get(
            "/customers/",
            params={"q": mobile, "source": "INSTORE"},
            headers={"HX-Request": "true"},
            name="search",
            catch_response=True,
        ) as answer:
            if answer.status_code != 200 or mobile[-6:] not in answer.text:
                answer.failure(f"search did not find {mobile} ({answer.status_code})")

    @task(4)
    def profile(self) -> None:
        customer_id, _ = self._member()
        with self.client.get(
            f"/customers/{customer_id}/",
            params={"source": "INSTORE"},
            name="profile",
            catch_response=True,
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"profile answered {answer.status_code}")

    @task(2)
    def edit(self) -> None:
        customer_id, mobile = self._member()
        url = f"/customers/{customer_id}/edit/?source=INSTORE"
        form = self.client.get(url, name="edit form")
        token = CSRF.search(form.text)
        self.edits += 1
        with self.client.post(
            url,
            data={
                "csrfmiddlewaretoken": token.group(1) if token else "",
                "first_name": "Load",
                # A value no other person sends, so every save changes the member.
                "last_name": f"Test {self.person} {self.edits}",
                "reason": "load test",
                "channels-TOTAL_FORMS": "1",
                "channels-INITIAL_FORMS": "0",
                "channels-0-type": "mobile",
                "channels-0-value": mobile,
                "channels-0-primary": "on",
            },
            headers={"HX-Request": "true"},
            name="edit save",
            catch_response=True,
        ) as answer:
            if answer.status_code != 200 or "Saved in Capillary" not in answer.text:
                said = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", answer.text)).strip()
                answer.failure(f"edit not saved ({answer.status_code}): {said[:160]}")

    @task(1)
    def history(self) -> None:
        with self.client.get("/history/", name="history", catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"history answered {answer.status_code}")
