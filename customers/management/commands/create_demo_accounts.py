"""One demo account per role, for trying the console locally (never with DEBUG off)."""

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError

from customers.console.roles import AUDITOR, DEMO_GROUP, STORE_MANAGER, SUPPORT

DEMO_ACCOUNTS = (
    ("support", "Sam", "Support", SUPPORT),
    ("store", "Maya", "Manager", STORE_MANAGER),
    ("auditor", "Ari", "Auditor", AUDITOR),
    ("admin", "Ada", "Admin", None),
)


class Command(BaseCommand):
    help = "Create one demo account per role and print the passwords (DEBUG only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("Demo accounts are refused when DEBUG is off.")
        record = Path(settings.VAR_DIR) / "demo-accounts.txt"
        demo, _ = Group.objects.get_or_create(name=DEMO_GROUP)
        existing = User.objects.filter(username__in=[a[0] for a in DEMO_ACCOUNTS])
        if existing.exists():
            # Accounts made before the mark existed get it too (a no-op afterwards).
            demo.user_set.add(*existing)
            if record.exists():
                self.stdout.write("Demo accounts (created earlier):\n" + record.read_text())
            else:
                self.stdout.write("Demo accounts exist already; their passwords were printed then.")
            return
        lines = []
        for username, first, last, role in DEMO_ACCOUNTS:
            password = secrets.token_urlsafe(9)
            user = User.objects.create_user(
                username,
                password=password,
                first_name=first,
                last_name=last,
                is_staff=role is None,
                is_superuser=role is None,
            )
            user.groups.add(demo)
            if role:
                user.groups.add(Group.objects.get(name=role))
            lines.append(f"  {role or 'Administrator':<14} {username:<8} {password}")
        text = "\n".join(lines) + "\n"
        record.write_text(text)
        record.chmod(0o600)
        self.stdout.write(self.style.SUCCESS("Demo accounts (role, username, password):"))
        self.stdout.write(text)
