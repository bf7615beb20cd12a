"""Webhook URLs may only reach the public internet.

A URL is refused when its host is, or resolves to, a loopback, private, link-local (cloud
metadata), multicast, reserved or otherwise non-global address, in any notation: dotted,
decimal (``2130706433``), octal (``0177.0.0.1``), hex (``0x7f.1``), short (``127.1``),
IPv6 and IPv4-mapped IPv6 (``::ffff:127.0.0.1``), or a DNS name resolving there. It is
checked when saved and again when sent; the request then goes to the very address that was
checked (no second lookup a DNS rebinding could change), and redirects are never followed.

``OPENCEM_WEBHOOKS_ALLOW_LOOPBACK`` (a setting for tests only, never read from the
environment) lets loopback through so that tests can run a receiver on this machine.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

from opencem.core.errors import invalid

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _literal(host: str) -> Address | None:
    """The address a host names literally, in any notation inet_aton and IPv6 accept."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        # inet_aton reads the historic forms: 2130706433, 0177.0.0.1, 0x7f.1, 127.1.
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _refused(ip: Address) -> bool:
    mapped = getattr(ip, "ipv4_mapped", None) or getattr(ip, "sixtofour", None)
    if mapped is not None:
        ip = mapped
    if ip.is_loopback and getattr(settings, "OPENCEM_WEBHOOKS_ALLOW_LOOPBACK", False):
        return False
    return not ip.is_global or ip.is_multicast


def parse_url(url: str) -> SplitResult:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(["url"], "must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise invalid(["url"], "must not carry a user name or password")
    try:
        _ = parts.port
    except ValueError as exc:
        raise invalid(["url"], "has an invalid port") from exc
    return parts


def resolve_public(url: str) -> tuple[SplitResult, str]:
    """The URL's parts and one public address of its host to connect to; refuses (422) a
    host that is, or resolves to, any address that is not public."""
    parts = parse_url(url)
    host = parts.hostname or ""
    literal = _literal(host)
    if literal is not None:
        addresses: list[Address] = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise invalid(["url"], f"the host {host!r} does not resolve") from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses or any(_refused(ip) for ip in addresses):
        raise invalid(["url"], "must point at a public internet address, not a loopback, "
                               "private, link-local or metadata one")
    return parts, str(addresses[0])
