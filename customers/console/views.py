"""Thin, htmx-aware views: one URL, one view, one template."""

import logging

from django.contrib.auth import views as auth_views
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.http import require_GET

from customers.console.forms import ThrottledLoginForm
from customers.console.logs import username_of
from customers.console.permissions import can, role_of, signed_in
from customers.console.roles import Capability
from customers.history.queries import recently_opened

logger = logging.getLogger("customers.access")


class LoginView(auth_views.LoginView):
    form_class = ThrottledLoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@require_GET
@signed_in
def home(request: HttpRequest) -> HttpResponse:
    recent = []
    if can(request.user, Capability.VIEW_PROFILE) and request.user.pk is not None:
        # A call-back is one click: the members this person opened last.
        recent = recently_opened(actor_id=request.user.pk)
    return render(request, "console/home.html", {"recent": recent})


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # A view's BadRequest says what was wrong in staff words; other 400s (a bad Host
    # header, say) carry details meant for the log only.
    detail = "The request could not be understood."
    if type(exception) is BadRequest and str(exception):
        detail = str(exception)
    return _error_page(request, 400, "Bad request", detail)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # One line, not django.request's traceback (dropped by logs.DropForbidden): who, what, why.
    capability = getattr(exception, "capability", None)
    missing = capability.value if capability else (str(exception) or "permission denied")
    logger.warning(
        "403 %s %s: %s (%s) lacks %s",
        request.method,
        request.get_full_path()[:200],
        username_of(request),
        role_of(request.user) if hasattr(request, "user") else "-",
        missing,
        extra={
            "status_code": 403,
            "path": request.path,
            "method": request.method,
            "capability": missing,
        },
    )
    detail = str(exception) if exception and str(exception) else "Your role may not open this page."
    return _error_page(request, 403, "Not allowed", detail)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, 404, "Not found", "There is no page at this address.")


def server_error(request: HttpRequest) -> HttpResponse:
    # No request context: whatever failed (the database, say) must not fail this page too.
    return HttpResponse(loader.render_to_string("500.html"), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _error_page(
        request,
        403,
        "Form expired",
        "This form was open too long or was sent twice. Reload the page and try again.",
    )


def _error_page(request: HttpRequest, status: int, title: str, detail: str) -> HttpResponse:
    if not hasattr(request, "user"):
        # Refused before AuthenticationMiddleware ran (a bad Host header): the page's
        # navigation must not fail looking for a user, and must not trust a session.
        request.user = AnonymousUser()
    return render(
        request, "error.html", {"status": status, "title": title, "detail": detail}, status=status
    )


@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """For load balancers and uptime checks: the process answers and its database does."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
