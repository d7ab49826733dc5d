"""Who is calling: Basic till credentials or an OAuth token (reference §1.2, E12).

Tokens are HS256 JWTs signed with the API client's secret, so every process
sharing the org config can check them without shared state; ``jti`` makes each
one different, as Capillary's are.
"""

import base64
import binascii
import hashlib
import hmac
import json
import random
from dataclasses import dataclass
from typing import Any

from .context import iso
from .org import OAuthClient, OrgConfig, Till

TOKEN_HEADER = "x-cap-api-oauth-token"  # noqa: S105 - a header name


class AuthFailure(Exception):
    """401 / 403 / 498 in the v1.1-style status body the reference records (§1.2)."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {
            "response": {"status": {"success": "false", "code": str(code), "message": message}}
        }


@dataclass(frozen=True)
class Principal:
    name: str  # the quota key: one API client or one till
    till: Till
    access: frozenset[str]
    via: str  # "basic" or "oauth"
    key: str  # the API key as the org file names it: the till's code or the client's key


def authenticate(org: OrgConfig, headers: dict[str, str], now: float) -> Principal:
    token = headers.get(TOKEN_HEADER)
    if token:
        client = verify_token(org, token, now)
        return Principal(
            f"oauth:{client.key}",
            _acting_till(org, headers, client),
            client.access,
            "oauth",
            client.key,
        )
    authorization = headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "basic":
        till = _basic_till(org, credentials.strip())
        if till is not None:
            return Principal(f"till:{till.code}", till, till.access, "basic", till.code)
        raise AuthFailure(401, 401, "Authentication failed")
    raise AuthFailure(401, 401, "Unauthorized")


def authorize(principal: Principal, endpoint: str) -> None:
    if "*" in principal.access or endpoint in principal.access:
        return
    if principal.via == "oauth":
        raise AuthFailure(403, 403, "Client doesn't have access to the requested resource")
    raise AuthFailure(403, 4000, "Not authorized. Access is denied!")


def _basic_till(org: OrgConfig, credentials: str) -> Till | None:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    code, _, password_md5 = decoded.partition(":")
    till = org.tills.get(code)
    if till is None or not hmac.compare_digest(password_md5.lower(), till.password_md5):
        return None
    return till


def _acting_till(org: OrgConfig, headers: dict[str, str], client: OAuthClient) -> Till:
    """The attribution headers pick another till; only the TILL entity type is modelled."""
    kind = headers.get("x-cap-api-attribution-entity-type", "TILL").upper()
    code = headers.get("x-cap-api-attribution-entity-code") or headers.get(
        "x-cap-api-attribution-till-code"
    )
    if kind == "TILL" and code in org.tills:
        return org.tills[code]
    return org.tills[client.till]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, signing_input: str) -> str:
    return _b64(hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest())


def issue_token(client: OAuthClient, now: float, rng: random.Random) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {
        "sub": client.key,
        "iat": int(now),
        "exp": int(now) + client.ttl_seconds,
        "jti": f"{rng.getrandbits(64):016x}",
    }
    payload = _b64(json.dumps(claims).encode())
    return f"{header}.{payload}.{_sign(client.secret, header + '.' + payload)}"


def verify_token(org: OrgConfig, token: str, now: float) -> OAuthClient:
    try:
        header, payload, signature = token.split(".")
        claims: dict[str, Any] = json.loads(_unb64(payload))
        client = org.oauth_clients[claims["sub"]]
        expires = float(claims["exp"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise AuthFailure(401, 401, "Unauthorized") from None
    if not hmac.compare_digest(signature, _sign(client.secret, header + "." + payload)):
        raise AuthFailure(401, 401, "Unauthorized")
    if now >= expires:
        raise AuthFailure(498, 498, f"Token expired at {iso(expires)}")
    return client
