"""The client's address: REMOTE_ADDR, or X-Forwarded-For when a trusted proxy sent it.

Sign-in throttling (django-axes) and the logs key on this. X-Forwarded-For is
only a header: anyone may send one. It is read only when the connection comes
from one of TRUSTED_PROXIES, and then right to left, skipping our own proxies,
so the first address found is the one the outermost trusted proxy saw. (ipware,
which axes uses by default, checks the header's last entries against the
trusted list but not the connecting address, so a direct client could forge
it; see tests/console/test_login.py.)
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _is_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_address(request: HttpRequest) -> str:
    peer = str(request.META.get("REMOTE_ADDR") or "")
    if not _is_proxy(peer):
        return peer
    header = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    hops = [hop.strip() for hop in header.split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a garbled header: the proxy itself is all we know
        if not _is_proxy(hop):
            return hop
    return peer


def axes_client_address(request: HttpRequest) -> str:
    """AXES_CLIENT_IP_CALLABLE."""
    return client_address(request)


def axes_username(request: HttpRequest, credentials: dict[str, str] | None) -> str:
    """AXES_USERNAME_CALLABLE: Sam and sam are one person's attempts."""
    raw = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(raw).strip().lower()
