"""Reads of a user's notifications: each user sees only their own."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet

from shelf.notifications.models import Notification

NOTIFICATION_LIST_LENGTH = 100


def notifications_for(*, user: AbstractBaseUser, limit: int = NOTIFICATION_LIST_LENGTH) -> QuerySet[Notification]:
    """The user's own notifications, newest first."""
    return Notification.objects.filter(user=user)[:limit]


def unread_count(*, user: AbstractBaseUser) -> int:
    """How many of the user's own notifications are unread, for the console's navigation."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
