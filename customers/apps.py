from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Member care"

    def ready(self) -> None:
        post_migrate.connect(_sync_roles_after_migrate, sender=self)


def _sync_roles_after_migrate(**kwargs: Any) -> None:
    from customers.console.permissions import sync_roles

    sync_roles(using=kwargs.get("using", "default"))
