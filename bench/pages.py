"""How much time the console adds on top of Capillary, and how many profiles it serves.

Part 1, in-process: with the emulator answering every call after a fixed
latency (150 ms by default), the server-side time of the profile view and of
an edit submit, each divided by the time spent waiting on Capillary inside it.
Target: a median ratio of at most 1.10.

Part 2, over HTTP: gunicorn with 2 workers serving the profile page to N
concurrent users for a fixed time, beside a trivial view (/healthz/) on the
same server; requests per second and latency percentiles.

    .venv/bin/python bench/pages.py [--latency-ms 150] [--samples 30]
                                    [--users 20] [--seconds 15] [--worker-class sync|gthread]

Everything runs against temporary files; nothing outside a temp dir is touched.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def prepare_environment(workdir: Path, latency_ms: int) -> dict[str, str]:
    org = json.loads((ROOT / "customers/capillary/emulator/default_org.json").read_text())
    # The load test measures the console, not the emulator's own per-minute quota.
    org["rate_limits"]["enabled"] = False
    org_path = workdir / "org.json"
    org_path.write_text(json.dumps(org))
    env = {
        "DJANGO_SETTINGS_MODULE": "membercare.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + "x" * 60,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "DATABASE_URL": f"sqlite:///{workdir / 'console.sqlite3'}",
        "CAPILLARY_EMULATOR_STATE": str(workdir / "emulator.sqlite3"),
        "CAPILLARY_EMULATOR_ORG": str(org_path),
        "CAPILLARY_RATE_LIMIT_STATE": str(workdir / "limits.sqlite3"),
        "CAPILLARY_RATE_LIMITS": json.dumps({"default": 1_000_000}),
        "CAPILLARY_EMULATOR_FAULTS": json.dumps({"latency": {"fixed_ms": latency_ms}}),
        "LOG_LEVEL": "error",
    }
    os.environ.update(env)
    return env


class TimingTransport(httpx.BaseTransport):
    """Adds up the time spent inside Capillary (here: the emulator).

    Part 1 sends one page at a time, so one total serves, whichever thread of
    the view made the call.
    """

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.spent = 0.0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = self.inner.handle_request(request)
            response.read()
            return response
        finally:
            with self.lock:
                self.spent += time.perf_counter() - started

    def take(self) -> float:
        with self.lock:
            spent, self.spent = self.spent, 0.0
        return spent


def in_process(samples: int) -> dict[str, object]:
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client

    from customers import gateway
    from customers.capillary.client import CapillaryClient
    from customers.capillary.schemas import AddCustomerRequest
    from customers.members import services

    call_command("migrate", verbosity=0)
    # DEBUG is off, as in production: static files come from the manifest.
    call_command("collectstatic", interactive=False, verbosity=0)
    user = User.objects.create_user("bench", first_name="Bench")
    user.groups.add(Group.objects.get(name="Support staff"))
    emulator = gateway.get_emulator()
    timing = TimingTransport(emulator.transport())
    gateway._client = CapillaryClient(gateway.EMULATOR_BASE_URL, gateway._auth(), transport=timing)
    member = services.register_member(
        actor=user,
        request=AddCustomerRequest.model_validate(
            {
                "profiles": [
                    {
                        "firstName": "Bench",
                        "identifiers": [{"type": "mobile", "value": "919900000001"}],
                        "source": "INSTORE",
                    }
                ]
            }
        ),
    ).customer_id
    client = Client()
    client.force_login(user)
    profile_url = f"/customers/{member}/?source=INSTORE"
    edit_url = f"/customers/{member}/edit/?source=INSTORE"
    client.get(edit_url)  # warms the extended-field cache, as any running console has
    results: dict[str, list[tuple[float, float]]] = {"profile": [], "edit_submit": []}
    for number in range(samples):
        timing.take()
        started = time.perf_counter()
        response = client.get(profile_url)
        total = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        results["profile"].append((total, timing.take()))
        form = {
            "first_name": "Bench",
            "last_name": f"Run {number}",
            "reason": "benchmark",
            "channels-TOTAL_FORMS": "1",
            "channels-INITIAL_FORMS": "0",
            "channels-0-type": "mobile",
            "channels-0-value": "919900000001",
            "channels-0-primary": "on",
        }
        timing.take()
        started = time.perf_counter()
        # As the browser sends it: htmx, answered with the answer alone.
        response = client.post(edit_url, form, headers={"HX-Request": "true"})
        total = time.perf_counter() - started
        assert b"Saved in Capillary" in response.content, response.content[:500]
        results["edit_submit"].append((total, timing.take()))
    report: dict[str, object] = {}
    for name, pairs in results.items():
        ratios = sorted(total / spent for total, spent in pairs)
        report[name] = {
            "median_ratio": round(statistics.median(ratios), 3),
            "p90_ratio": round(ratios[int(len(ratios) * 0.9) - 1], 3),
            "median_total_ms": round(statistics.median(t for t, _ in pairs) * 1000, 1),
            "median_capillary_ms": round(statistics.median(s for _, s in pairs) * 1000, 1),
            "median_overhead_ms": round(statistics.median(t - s for t, s in pairs) * 1000, 1),
        }
    report["member"] = member
    report["session"] = _session_cookie(user)
    return report


def _session_cookie(user: object) -> str:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)  # type: ignore[attr-defined]
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()  # type: ignore[attr-defined]
    session.create()
    return str(session.session_key)


def load(url: str, cookie: str, users: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def user_loop() -> None:
        nonlocal errors
        with httpx.Client(cookies={"sessionid": cookie}, timeout=30) as http:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    ok = http.get(url).status_code == 200
                except httpx.HTTPError:
                    ok = False
                with lock:
                    if ok:
                        latencies.append(time.perf_counter() - started)
                    else:
                        errors += 1

    started = time.monotonic()
    threads = [threading.Thread(target=user_loop) for _ in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else 0.0,
        "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 1) if latencies else 0.0,
        "ok": len(latencies),
        "errors": errors,
    }


def over_http(
    env: dict[str, str], member: int, cookie: str, users: int, seconds: float, worker_class: str
) -> dict[str, object]:
    port = 8765
    command = [
        str(ROOT / ".venv/bin/gunicorn"),
        "membercare.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--worker-class",
        worker_class,
        "--log-level",
        "warning",
    ]
    if worker_class == "gthread":
        command += ["--threads", "10"]
    server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        trivial = load(f"{base}/healthz/", cookie, users, seconds)
        profile = load(f"{base}/customers/{member}/?source=INSTORE", cookie, users, seconds)
    finally:
        server.terminate()
        server.wait(timeout=20)
    return {"worker_class": worker_class, "trivial_view": trivial, "profile_view": profile}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="membercare-bench-"))
    try:
        env = prepare_environment(workdir, args.latency_ms)
        report = in_process(args.samples)
        http = over_http(
            env,
            int(report.pop("member")),  # type: ignore[call-overload]
            str(report.pop("session")),
            args.users,
            args.seconds,
            args.worker_class,
        )
        print(
            json.dumps(
                {"latency_ms": args.latency_ms, "in_process": report, "http": http}, indent=2
            )
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
