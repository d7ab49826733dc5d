"""Capillary's two server-to-server schemes: Basic till credentials and OAuth tokens.

Both objects hold secrets, so their `repr` never shows them, and both list the
strings that must be scrubbed from anything logged or audited (`secrets()`).
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections import deque
from collections.abc import Callable


class BasicAuth:
    """`Authorization: Basic base64(till_code:md5hex(password))` (reference section 1.2)."""

    def __init__(self, till_code: str, password: str) -> None:
        digest = hashlib.md5(password.encode(), usedforsecurity=False).hexdigest()
        credentials = base64.b64encode(f"{till_code}:{digest}".encode()).decode("ascii")
        self.till_code = till_code
        self._header = {"Authorization": f"Basic {credentials}"}
        self._secrets = (password, digest, credentials)

    def headers(self) -> dict[str, str]:
        return self._header

    def secrets(self) -> tuple[str, ...]:
        return self._secrets

    def __repr__(self) -> str:
        return f"BasicAuth(till_code={self.till_code!r})"


FetchToken = Callable[[str, str], tuple[str, int]]


class OAuthAuth:
    """A client key and secret, exchanged for a token (E12) that is cached and shared by threads.

    The token is renewed once `renew_fraction` of its ttl has passed, so a call
    never starts with a token about to expire; a 401/498 drops it early.
    """

    HEADER = "X-CAP-API-OAUTH-TOKEN"

    def __init__(self, client_key: str, client_secret: str, *, renew_fraction: float = 0.8) -> None:
        self.client_key = client_key
        self._client_secret = client_secret
        self._renew_fraction = renew_fraction
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        # Tokens handed out recently may still sit in a retried request's error
        # text, so they stay on the scrub list for a while.
        self._issued: deque[str] = deque(maxlen=8)

    def token(self, fetch: FetchToken, clock: Callable[[], float]) -> str:
        """The cached token, or a new one from `fetch(key, secret)`; one fetch at a time."""
        with self._lock:
            now = clock()
            if self._token is None or now >= self._renew_at:
                token, ttl_seconds = fetch(self.client_key, self._client_secret)
                self._issued.append(token)
                self._token = token
                self._renew_at = now + max(0.0, ttl_seconds * self._renew_fraction)
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget `token` unless another thread already replaced it."""
        with self._lock:
            if self._token == token:
                self._token = None

    def secrets(self) -> tuple[str, ...]:
        return (self._client_secret, *self._issued)

    def __repr__(self) -> str:
        return f"OAuthAuth(client_key={self.client_key!r})"
