"""Serve the emulator over a real socket (``manage.py capillary_emulator``, tests).

A plain threaded ``http.server`` rather than wsgiref, because injected faults
must act on the socket itself: a timeout holds the request and then closes the
connection unanswered, a drop closes it at once.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .app import Emulator
from .faults import InjectedDrop, InjectedTimeout


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, emulator: Emulator, address: tuple[str, int]) -> None:
        self.emulator = emulator
        super().__init__(address, _Handler)
        self._thread: threading.Thread | None = None

    def start(self) -> "EmulatorServer":
        # A short poll keeps shutdown() quick; the loop is idle otherwise.
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="capillary-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def shutdown(self) -> None:
        super().shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


def serve(emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> EmulatorServer:
    """Start serving in a background thread; port 0 picks a free port."""
    return EmulatorServer(emulator, (host, port)).start()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one segment; otherwise Nagle plus delayed ACK add
    # ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True
    wbufsize = -1
    server: EmulatorServer

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        emulator = self.server.emulator
        try:
            status, headers, payload = emulator.handle(
                self.command,
                url.path,
                parse_qsl(url.query, keep_blank_values=True),
                dict(self.headers.items()),
                body,
            )
        except InjectedTimeout as timeout:
            emulator.sleep(timeout.hold_seconds)
            self.close_connection = True
            return
        except InjectedDrop:
            self.close_connection = True
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the console logs its own calls, with the request id."""
