"""The sign-in form: Django's, with failures throttled in the database."""

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from customers.models import LoginFailure


class ThrottledLoginForm(AuthenticationForm):
    """Django's login form, refusing to check passwords after repeated failures.

    Failures are counted per username and per address over a sliding window, in
    the database so that every web process sees the same count.
    """

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": (
            "Too many failed sign-in attempts. Wait %(minutes)d minutes and try again, "
            "or ask an administrator to reset your password."
        ),
    }

    def clean(self) -> dict[str, Any]:
        username = (self.cleaned_data.get("username") or "").strip().lower()
        address = self.request.META.get("REMOTE_ADDR") if self.request else None
        if username and self._is_throttled(username, address):
            raise forms.ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"minutes": max(1, settings.LOGIN_FAILURE_WINDOW_SECONDS // 60)},
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if username:
                LoginFailure.objects.create(username=username, ip_address=address)
            raise
        LoginFailure.objects.filter(username=username).delete()
        return cleaned

    def _is_throttled(self, username: str, address: str | None) -> bool:
        since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
        recent = LoginFailure.objects.filter(created_at__gte=since)
        limit = settings.LOGIN_FAILURE_LIMIT
        if recent.filter(username=username).count() >= limit:
            return True
        # An address may try a few accounts (a shared till), but not spray many.
        return bool(address) and recent.filter(ip_address=address).count() >= limit * 4
