"""Reads of instances filtered by who may see them: a buyer his own, operators all, anyone else none."""

from django.db.models import QuerySet

from shelf.accounts.models import User
from shelf.compute.models import Instance


def instances_for(user: User) -> QuerySet[Instance]:
    if not user.is_authenticated:
        return Instance.objects.none()
    qs = Instance.objects.select_related("region", "image", "owner")
    if user.is_operator:
        return qs
    return qs.filter(owner=user)


def instances_controlled_by(user: User) -> QuerySet[Instance]:
    """Instances the user may start, stop and terminate: the owner's own; operators may too (abuse, support)."""
    return instances_for(user)
