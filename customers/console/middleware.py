"""Shows Django messages after htmx requests too.

A full page renders messages in base.html. An htmx swap only replaces a
fragment, so messages queued during it would wait for the next full page.
This appends them as an out-of-band swap of the #messages region instead.
"""

from collections.abc import Callable

from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


class HtmxMessagesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not getattr(request, "htmx", False) or getattr(response, "streaming", False):
            return response
        if response.status_code in (301, 302, 303, 307, 308) or "HX-Redirect" in response:
            return response  # the messages survive to the page we are sent to
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        storage = get_messages(request)
        if not list(storage):
            return response
        response.content += render_to_string(
            "console/_messages.html", {"messages": storage, "oob": True}, request=request
        ).encode()
        return response
