import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

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
    # The JSON columns are text holding the signed JSON (chain.SignedJSONField): shown
    # as JSON, not as the Python value Django's read-only display would print.
    exclude = ("request", "before", "response", "side_effects", "after")
    readonly_fields = (
        "request_json",
        "before_json",
        "response_json",
        "side_effects_json",
        "after_json",
    )

    @admin.display(description="request")
    def request_json(self, obj: AuditEntry) -> str:
        return _pretty(obj.request)

    @admin.display(description="before")
    def before_json(self, obj: AuditEntry) -> str:
        return _pretty(obj.before)

    @admin.display(description="response")
    def response_json(self, obj: AuditEntry) -> str:
        return _pretty(obj.response)

    @admin.display(description="side effects")
    def side_effects_json(self, obj: AuditEntry) -> str:
        return _pretty(obj.side_effects)

    @admin.display(description="after")
    def after_json(self, obj: AuditEntry) -> str:
        return _pretty(obj.after)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False


def _pretty(value: Any) -> str:
    if value is None:
        return "-"
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))
