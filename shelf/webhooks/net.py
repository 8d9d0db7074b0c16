"""Where a webhook may point, and the one function that sends a request there.

The provider chooses the URL, so Shelf must never become a way to reach internal services (SSRF):
the host is resolved once, every address it resolves to must be public, and the connection goes to that
checked address, so a second DNS answer cannot redirect it. Redirects are not followed and proxy or
netrc settings from the environment are ignored. Only with SHELF_WEBHOOK_ALLOW_HTTP (or DEBUG) may a
webhook use http:// on this machine or reach a private address: for development and the tests.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from shelf.errors import Violation

TIMEOUT_SECONDS = 10.0
URL_MAX_LENGTH = 500
RESPONSE_EXCERPT_BYTES = 1000
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """The request was not sent: the URL or the address it resolves to is not allowed, or did not resolve."""


@dataclass(frozen=True)
class Response:
    status_code: int
    excerpt: str


def local_targets_allowed() -> bool:
    return bool(settings.DEBUG or settings.SHELF_WEBHOOK_ALLOW_HTTP)


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, Teredo, NAT64), which is what gets reached."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    """Routable on the internet: not loopback, private, link-local (cloud metadata), shared, reserved or multicast."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None and not is_public(embedded):
        return False
    return ip.is_global and not (
        ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the host resolves to (an IP literal resolves to itself). Tests replace this."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def _is_loopback_name(host: str) -> bool:
    return host in LOOPBACK_NAMES or host.endswith(".localhost")


def url_violations(url: str, *, resolve_host: bool = True) -> list[Violation]:
    """The rules of a webhook URL, reported on the `url` field. Checked when registering and again when sending.

    When registering, a host that resolves to a non-public address is refused at once; one that does not
    resolve yet is accepted, since every request checks the addresses again.
    """

    def bad(code: str, message: str) -> list[Violation]:
        return [Violation("url", code, message)]

    if not url:
        return bad("required", _("Give the URL that receives the events."))
    if len(url) > URL_MAX_LENGTH:
        return bad("too_long", _("The URL may be at most %(max)d characters long.") % {"max": URL_MAX_LENGTH})
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return bad("invalid", _("The URL may not contain spaces or control characters."))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return bad("invalid", _("This is not a valid URL."))
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("https", "http") or not host:
        return bad("invalid", _("Give a full URL starting with https://."))
    if "@" in parts.netloc:
        return bad("credentials", _("Put no user name or password in the URL; verify requests by their signature."))
    local = local_targets_allowed()
    if scheme == "http" and not (local and _is_loopback_name(host)):
        return bad("https_required", _("The URL must start with https://."))
    if not local:
        if _is_loopback_name(host):
            return bad("private_address", _("The URL must point to a public internet address."))
        if not resolve_host:
            return []
        try:
            addresses = resolve(host, parts.port or 443)
        except (OSError, UnicodeError):
            addresses = []  # not resolvable yet: allowed now, checked again before every request
        if any(not is_public(ip) for ip in addresses):
            return bad("private_address", _("The URL must point to a public internet address."))
    return []


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Response:
    """POST body to url after the SSRF checks; at most TIMEOUT_SECONDS, no redirects, a bounded response excerpt.

    Raises Refused if the target is not allowed and httpx.HTTPError if the request fails.
    """
    violations = url_violations(url, resolve_host=False)
    if violations:
        raise Refused(violations[0].message)
    target = httpx.URL(url)
    host = target.host
    try:
        addresses = resolve(host, target.port or (443 if target.scheme == "https" else 80))
    except (OSError, UnicodeError) as exc:
        raise Refused(_("The host %(host)s did not resolve: %(error)s") % {"host": host, "error": exc}) from exc
    if not addresses:
        raise Refused(_("The host %(host)s did not resolve.") % {"host": host})
    if not local_targets_allowed():
        private = [str(ip) for ip in addresses if not is_public(ip)]
        if private:
            raise Refused(
                _("Refused: %(host)s resolves to a non-public address (%(addresses)s).")
                % {"host": host, "addresses": ", ".join(private)}
            )
    # Connect to the address just checked; the Host header and TLS (SNI and certificate) keep the name.
    request_headers = {**headers, "Host": target.netloc.decode("ascii"), "Accept-Encoding": "identity"}
    extensions = {"sni_hostname": host} if target.scheme == "https" else {}
    pinned = target.copy_with(host=str(addresses[0]))
    deadline = time.monotonic() + TIMEOUT_SECONDS
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False) as client:
        request = client.build_request("POST", pinned, content=body, headers=request_headers, extensions=extensions)
        response = client.send(request, stream=True)
        try:
            excerpt = bytearray()
            for chunk in response.iter_raw():
                excerpt.extend(chunk)
                if len(excerpt) >= RESPONSE_EXCERPT_BYTES or time.monotonic() > deadline:
                    break
        finally:
            response.close()
    return Response(
        status_code=response.status_code,
        excerpt=bytes(excerpt[:RESPONSE_EXCERPT_BYTES]).decode("utf-8", errors="replace"),
    )
