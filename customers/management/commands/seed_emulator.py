"""Fill the Capillary emulator with realistic members."""

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from customers.capillary_emulator import Emulator, seed_members
from customers.capillary_emulator.faults import FaultConfigError
from customers.capillary_emulator.org import OrgConfigError


class Command(BaseCommand):
    help = "Create N realistic members in the emulator's state."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--members", type=int, default=200)
        parser.add_argument("--if-empty", action="store_true", help="do nothing when members exist")
        parser.add_argument("--state", help="SQLite state file (default: CAPILLARY_EMULATOR_STATE)")
        parser.add_argument(
            "--org", help="org configuration JSON (default: CAPILLARY_EMULATOR_ORG)"
        )
        parser.add_argument(
            "--seed", type=int, default=42, help="random seed (same seed, same members)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        state = options["state"] or getattr(
            settings, "CAPILLARY_EMULATOR_STATE", "var/capillary-emulator.sqlite3"
        )
        org = options["org"] or getattr(settings, "CAPILLARY_EMULATOR_ORG", "") or None
        try:
            emulator = Emulator(state, org)
        except (OrgConfigError, FaultConfigError) as exc:
            raise CommandError(str(exc)) from exc
        try:
            existing = emulator.store.db.execute("SELECT count(*) FROM customers").fetchone()[0]
            if options["if_empty"] and existing:
                self.stdout.write(f"The emulator already has {existing} members; not seeding.")
                return
            started = time.perf_counter()
            ids = seed_members(emulator, options["members"], rng_seed=options["seed"])
            elapsed = time.perf_counter() - started
            span = f" (ids {ids[0]} to {ids[-1]})" if ids else ""
            self.stdout.write(f"Seeded {len(ids)} members in {elapsed:.1f}s{span}.")
        finally:
            emulator.close()
