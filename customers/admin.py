from django.contrib import admin
from django.http import HttpRequest

from customers.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    """Read-only: history is changed by nobody, admins included.

    The changelist is kept cheap (no full-table count, exact-match search only)
    and is the reference the history screens are benchmarked against.
    """

    list_display = (
        "id",
        "created_at",
        "actor_username",
        "actor_role",
        "action",
        "customer_id",
        "outcome",
        "error_codes",
        "warning_codes",
    )
    list_filter = ("outcome", "action")
    search_fields = ("=customer_id", "=identifier_value", "=request_id")
    ordering = ("-created_at", "-id")
    show_full_result_count = False
    list_per_page = 50
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False
