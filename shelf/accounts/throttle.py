"""Slow down password guessing: after too many failures for one username (or from one address) within a
window, sign-in is refused for that username (or address) until the window has passed. Counts live in
the database, so every web process and the API share them."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from shelf.accounts.models import LoginFailure


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


def is_throttled(username: str, ip: str | None) -> bool:
    since = timezone.now() - timedelta(seconds=settings.SHELF_LOGIN_WINDOW_SECONDS)
    recent = LoginFailure.objects.filter(created_at__gte=since)
    if recent.filter(username=(username or "").lower()).count() >= settings.SHELF_LOGIN_MAX_FAILURES_PER_USER:
        return True
    return ip is not None and recent.filter(ip=ip).count() >= settings.SHELF_LOGIN_MAX_FAILURES_PER_IP


class ThrottledModelBackend(ModelBackend):
    """Django's model backend that says no, without checking the password, while a username is throttled."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is not None and is_throttled(username, client_ip(request)):
            if request is not None:
                request.shelf_login_throttled = True
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_login_failed)
def record_failure(sender, credentials, request=None, **kwargs):
    LoginFailure.objects.create(username=(credentials.get("username") or "")[:150].lower(), ip=client_ip(request))


def prune_failures() -> int:
    cutoff = timezone.now() - timedelta(days=1)
    return LoginFailure.objects.filter(created_at__lt=cutoff).delete()[0]
