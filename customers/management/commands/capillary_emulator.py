"""Serve the embedded Capillary emulator over HTTP, for curl, other processes and tests."""

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from customers.capillary_emulator import Emulator, serve
from customers.capillary_emulator.faults import FaultConfigError
from customers.capillary_emulator.org import OrgConfigError


class Command(BaseCommand):
    help = "Serve the Capillary emulator (same API as Capillary) until interrupted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100, help="0 picks a free port")
        parser.add_argument("--state", help="SQLite state file (default: CAPILLARY_EMULATOR_STATE)")
        parser.add_argument(
            "--org", help="org configuration JSON (default: CAPILLARY_EMULATOR_ORG)"
        )
        parser.add_argument("--reset", action="store_true", help="empty the state before serving")

    def handle(self, *args: Any, **options: Any) -> None:
        state = options["state"] or getattr(
            settings, "CAPILLARY_EMULATOR_STATE", "var/capillary-emulator.sqlite3"
        )
        org = options["org"] or getattr(settings, "CAPILLARY_EMULATOR_ORG", "") or None
        try:
            emulator = Emulator(state, org)
        except (OrgConfigError, FaultConfigError) as exc:
            raise CommandError(str(exc)) from exc
        if options["reset"]:
            emulator.reset()
        server = serve(emulator, options["host"], options["port"])
        self.stdout.write(
            f"Capillary emulator on {server.base_url} (state {state}); Ctrl-C stops it."
        )
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        try:
            stop.wait()
            self.stdout.write("Stopping.")
        finally:
            server.shutdown()
            emulator.close()
