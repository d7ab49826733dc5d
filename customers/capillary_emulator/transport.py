"""Serve the emulator in-process to an ``httpx.Client`` (the console's default)."""

from collections.abc import Mapping
from typing import Protocol

import httpx

from .faults import InjectedDrop, InjectedTimeout


class Handler(Protocol):
    """What the transport needs of the emulator: one request in, status, headers and body out."""

    def handle(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> tuple[int, dict[str, str], bytes]: ...


class EmulatorTransport(httpx.BaseTransport):
    """Injected connection faults become the exceptions a real socket raises, so a
    client's retry logic sees exactly what it would see in production."""

    def __init__(self, emulator: Handler) -> None:
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
