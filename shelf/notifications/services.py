"""Notify people in the console and by email. Emails go out after the surrounding transaction commits."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from shelf.accounts.models import Organization, User
from shelf.notifications.models import Notification


def notify_users(
    *, users, event: str, title: str, body: str = "", url: str = "", organization: Organization | None = None
) -> list[Notification]:
    title = " ".join(title.split())[:200]  # titles quote user text (product names); the column holds 200
    notifications = [
        Notification.objects.create(user=user, organization=organization, event=event, title=title, body=body, url=url)
        for user in users
        if user.is_active
    ]
    recipients = [n.user.email for n in notifications if n.user.email]
    if recipients:
        link = f"\n\n{settings.SHELF_PUBLIC_URL.rstrip('/')}{url}" if url else ""
        transaction.on_commit(
            lambda: send_mail(
                f"[Shelf] {title}", f"{body}{link}", settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=True
            )
        )
    return notifications


def notify_organization(
    *, organization: Organization, event: str, title: str, body: str = "", url: str = ""
) -> list[Notification]:
    """Every member of a provider organisation."""
    return notify_users(
        users=organization.members.all(), event=event, title=title, body=body, url=url, organization=organization
    )


def notify_operators(*, event: str, title: str, body: str = "", url: str = "") -> list[Notification]:
    return notify_users(
        users=User.objects.filter(kind=User.Kind.OPERATOR, is_active=True), event=event, title=title, body=body, url=url
    )


def notifications_mark_read(*, user: User, ids: list[int] | None = None) -> int:
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
