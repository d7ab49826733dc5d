"""Serve the emulator in-process to an ``httpx.Client`` (the console's default)."""

from typing import TYPE_CHECKING

import httpx

from .faults import InjectedDrop, InjectedTimeout

if TYPE_CHECKING:
    from .app import Emulator


class EmulatorTransport(httpx.BaseTransport):
    """Injected connection faults become the exceptions a real socket raises, so a
    client's retry logic sees exactly what it would see in production."""

    def __init__(self, emulator: "Emulator") -> None:
        self.emulator = emulator

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        try:
            status, headers, payload = self.emulator.handle(
                request.method,
                request.url.path,
                list(request.url.params.multi_items()),
                dict(request.headers.items()),
                body,
            )
        except InjectedTimeout as exc:
            raise httpx.ReadTimeout(str(exc), request=request) from exc
        except InjectedDrop as exc:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from exc
        return httpx.Response(status, headers=headers, content=payload, request=request)
