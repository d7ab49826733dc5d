"""The sign-in form: Django's, throttled by django-axes, refusing demo accounts in production."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from customers.console.roles import DEMO_GROUP

THROTTLED = (
    "Too many failed sign-in attempts for this username from your address. Wait {minutes} "
    "minutes and try again, or ask an administrator to unlock your account."
)


class ThrottledLoginForm(AuthenticationForm):
    """Django's login form. django-axes counts the failures (AxesStandaloneBackend) and,
    past the limit for one username from one address, `locked_out` answers instead."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "demo_account": (
            "Demo accounts cannot sign in when DEBUG is off. Ask an administrator for "
            "an account of your own."
        ),
    }

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if not settings.DEBUG and user.groups.filter(name=DEMO_GROUP).exists():
            raise forms.ValidationError(self.error_messages["demo_account"], code="demo_account")


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the sign-in page again, saying why, with status 429."""
    # Unbound: a bound form would authenticate again, and count one more failure.
    form = ThrottledLoginForm(request, initial={"username": request.POST.get("username", "")})
    minutes = max(1, int(settings.LOGIN_FAILURE_WINDOW_SECONDS) // 60)
    context = {
        "form": form,
        "next": request.POST.get("next", ""),
        "lockout": THROTTLED.format(minutes=minutes),
    }
    return render(request, "registration/login.html", context, status=429)
