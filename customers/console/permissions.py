"""Enforcing the permission matrix of customers.console.roles on every view."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.contrib.auth.views import redirect_to_login
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from customers.console.roles import CAPABILITY_LABELS, ROLE_CAPABILITIES, ROLES, Capability

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def sync_roles(using: str = "default") -> None:
    """Create the capability permissions and make each role group hold exactly its own."""
    from customers.models import StaffCapability

    content_type = ContentType.objects.db_manager(using).get_for_model(
        StaffCapability, for_concrete_model=False
    )
    permissions = {}
    for capability, label in CAPABILITY_LABELS.items():
        permission, _ = Permission.objects.db_manager(using).update_or_create(
            content_type=content_type, codename=capability.value, defaults={"name": label}
        )
        permissions[capability] = permission
    for role, capabilities in ROLE_CAPABILITIES.items():
        group, _ = Group.objects.db_manager(using).get_or_create(name=role)
        group.permissions.set([permissions[c] for c in capabilities])


class MissingCapability(PermissionDenied):
    """A signed-in member of staff asked for something their role may not do."""

    def __init__(self, capability: Capability) -> None:
        self.capability = capability
        super().__init__(f"Your role may not {CAPABILITY_LABELS[capability].lower()}.")


def can(user: User | AnonymousUser, capability: Capability) -> bool:
    return bool(user.is_authenticated and user.has_perm(capability.perm))


def role_of(user: User | AnonymousUser) -> str:
    if not user.is_authenticated:
        return ""
    cached: str | None = getattr(user, "_staff_role", None)
    if cached is not None:
        return cached
    if getattr(user, "is_superuser", False):
        role = "Administrator"
    else:
        names = set(user.groups.values_list("name", flat=True))
        role = ", ".join(r for r in ROLES if r in names) or "No role"
    # Asked by the navigation and by every audit entry of a request: once is enough.
    user._staff_role = role  # type: ignore[attr-defined]
    return role


def _to_login(request: HttpRequest) -> HttpResponse:
    if getattr(request, "htmx", False):
        # Not a 302: the browser would follow it inside the XMLHttpRequest and htmx would
        # swap the login form into the fragment. A 200 with HX-Redirect moves the page.
        # The page itself is the one to come back to, not the fragment's URL.
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        back = current.path + (f"?{current.query}" if current.query else "")
        back = back if back.startswith("/") else request.get_full_path()
        target = redirect_to_login(back)["Location"]
        response = HttpResponse(status=200)
        response["HX-Redirect"] = target
        return response
    return redirect_to_login(request.get_full_path())


def requires(capability: Capability) -> Callable[[View], View]:
    """Let the view run only for signed-in staff holding `capability`.

    Anonymous users go to the login page; htmx requests get HX-Redirect, so the
    whole page moves instead of a login form landing inside a fragment.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return _to_login(request)
            if not can(request.user, capability):
                raise MissingCapability(capability)
            return view(request, *args, **kwargs)

        wrapper.required_capability = capability  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def signed_in(view: View) -> View:
    """For pages every member of staff may open (home, logout)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return _to_login(request)
        return view(request, *args, **kwargs)

    wrapper.required_capability = None  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
