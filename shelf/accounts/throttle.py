"""Slow down password guessing without handing attackers a way to lock others out.

Failures are counted per account *and* address: guessing alice's password from one address pauses alice's
sign-in from that address only, so alice herself (elsewhere) still gets in. A second, higher limit counts
failures from one address over all accounts, against spraying many accounts from one place. The address
is the connecting one, or the client address a trusted reverse proxy reports in `SHELF_CLIENT_IP_HEADER`
(only when configured: a client can write any header). A refused attempt is not a new failure, so a
pause ends when the window has passed whatever the attacker keeps sending. Counts live where every web
process and the API share them: in Redis when REDIS_URL is set, else in the database.
"""

import ipaddress
import time
import uuid
from datetime import timedelta
from functools import lru_cache

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
    failures = _failures()
    if failures.count(ip, (username or "").lower()) >= settings.SHELF_LOGIN_MAX_FAILURES_PER_USER:
        return ACCOUNT
    if ip is not None and failures.count(ip) >= settings.SHELF_LOGIN_MAX_FAILURES_PER_IP:
        return ADDRESS
    return None


class DatabaseFailures:
    """One LoginFailure row per failure; housekeeping prunes the old ones."""

    def count(self, ip: str | None, username: str | None = None) -> int:
        since = timezone.now() - timedelta(seconds=settings.SHELF_LOGIN_WINDOW_SECONDS)
        recent = LoginFailure.objects.filter(created_at__gte=since, ip=ip)
        return (recent if username is None else recent.filter(username=username)).count()

    def add(self, username: str, ip: str | None) -> None:
        LoginFailure.objects.create(username=username, ip=ip)


class RedisFailures:
    """A sorted set of failure times per address and per account-and-address, each expiring with its window:
    the same sliding window as the rows, with nothing to prune."""

    def __init__(self, url: str, prefix: str):
        import redis

        self.redis = redis.Redis.from_url(url)
        self.prefix = f"{prefix}:login-failures"

    def _key(self, username: str | None, ip: str | None) -> str:
        address = ip or "-"  # no address (a request without one) is its own bucket, as ip=None is for the rows
        # An address never holds "|": the account part cannot make one key look like another.
        return f"{self.prefix}:address:{address}" if username is None else f"{self.prefix}:account:{address}|{username}"

    def count(self, ip: str | None, username: str | None = None) -> int:
        key = self._key(username, ip)
        since = time.time() - settings.SHELF_LOGIN_WINDOW_SECONDS
        with self.redis.pipeline() as pipe:
            pipe.zremrangebyscore(key, "-inf", f"({since}")
            pipe.zcard(key)
            return pipe.execute()[1]

    def add(self, username: str, ip: str | None) -> None:
        now = time.time()
        with self.redis.pipeline() as pipe:
            for key in (self._key(username, ip), self._key(None, ip)):
                pipe.zadd(key, {uuid.uuid4().hex: now})
                pipe.expire(key, settings.SHELF_LOGIN_WINDOW_SECONDS + 60)
            pipe.execute()


@lru_cache(maxsize=8)
def _redis_failures(url: str, prefix: str) -> RedisFailures:
    return RedisFailures(url, prefix)  # one client (and connection pool) per process


def _failures() -> DatabaseFailures | RedisFailures:
    if settings.REDIS_URL:
        return _redis_failures(settings.REDIS_URL, settings.SHELF_REDIS_PREFIX)
    return DatabaseFailures()


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
    _failures().add((credentials.get("username") or "")[:150].lower(), client_ip(request))


def prune_failures() -> int:
    cutoff = timezone.now() - timedelta(days=1)
    return LoginFailure.objects.filter(created_at__lt=cutoff).delete()[0]
