from django.db import models
from django.utils import timezone


class StaffCapability(models.Model):
    """Holds no rows: it anchors the console's capability permissions (customers.roles)."""

    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = "staff capability"

    def __str__(self) -> str:
        return "staff capability"


class LoginFailure(models.Model):
    """A failed sign-in, kept for throttling guessing attempts across every process."""

    username = models.CharField(max_length=150)
    ip_address = models.GenericIPAddressField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["username", "created_at"]),
            models.Index(fields=["ip_address", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.username} from {self.ip_address} at {self.created_at:%Y-%m-%d %H:%M}"
