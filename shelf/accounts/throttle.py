"""Slow down password guessing without handing attackers a way to lock others out.

Failures are counted per account *and* address: guessing alice's password from one address pauses alice's
sign-in from that address only, so alice herself (elsewhere) still gets in. A second, higher limit counts
failures from one address over all accounts, against spraying many accounts from one place. The address
is the connecting one, or the client address a trusted reverse proxy reports in `SHELF_CLIENT_IP_HEADER`
(only when configured: a client can write any header). A refused attempt is not a new failure, so a
pause ends when the window has passed whatever the attacker keeps sending. Counts live in the database,
so every web process and the API share them.
"""

import ipaddress
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import ngettext

from shelf.accounts.models import LoginFailure

# What `request.shelf_login_throttled` holds when sign-in was refused.
ACCOUNT = "account"
ADDRESS = "address"


def client_ip(request) -> str | None:
    """The client's address: the connecting one, or the last hop a trusted proxy appended to its header."""
    if request is None:
        return None
    header = settings.SHELF_CLIENT_IP_HEADER
    if header:
        forwarded = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
        candidate = forwarded.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            pass  # no or a garbled header: fall back to the connection, never to what the client wrote
    return request.META.get("REMOTE_ADDR") or None


def throttled_by(username: str, ip: str | None) -> str | None:
    """ACCOUNT when this account failed too often from this address, ADDRESS when this address failed too
    often over all accounts, else None."""
    since = timezone.now() - timedelta(seconds=settings.SHELF_LOGIN_WINDOW_SECONDS)
    recent = LoginFailure.objects.filter(created_at__gte=since, ip=ip)
    if recent.filter(username=(username or "").lower()).count() >= settings.SHELF_LOGIN_MAX_FAILURES_PER_USER:
        return ACCOUNT
    if ip is not None and recent.count() >= settings.SHELF_LOGIN_MAX_FAILURES_PER_IP:
        return ADDRESS
    return None


def throttle_message(cause: str) -> str:
    minutes = max(1, -(-settings.SHELF_LOGIN_WINDOW_SECONDS // 60))
    if cause == ADDRESS:
        return ngettext(
            "Too many failed sign-ins from your network address. Wait %(n)d minute, then try again.",
            "Too many failed sign-ins from your network address. Wait %(n)d minutes, then try again.",
            minutes,
        ) % {"n": minutes}
    return ngettext(
        "Too many failed sign-ins for this account from your network address. Wait %(n)d minute, then try again.",
        "Too many failed sign-ins for this account from your network address. Wait %(n)d minutes, then try again.",
        minutes,
    ) % {"n": minutes}


class ThrottledModelBackend(ModelBackend):
    """Django's model backend that says no, without checking the password, while sign-in is paused."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is not None:
            cause = throttled_by(username, client_ip(request))
            if cause is not None:
                if request is not None:
                    request.shelf_login_throttled = cause
                return None
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_login_failed)
def record_failure(sender, credentials, request=None, **kwargs):
    if getattr(request, "shelf_login_throttled", None):
        return  # refused unchecked: counting it would keep the pause on forever
    LoginFailure.objects.create(username=(credentials.get("username") or "")[:150].lower(), ip=client_ip(request))


def prune_failures() -> int:
    cutoff = timezone.now() - timedelta(days=1)
    return LoginFailure.objects.filter(created_at__lt=cutoff).delete()[0]
