"""Reads of instances filtered by who may see them: a buyer his own, operators all, anyone else none."""

from django.db.models import QuerySet

from shelf.accounts.models import User
from shelf.compute.models import BootCheck, Instance


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


def latest_boot_check(image) -> BootCheck | None:
    """The image's most recent boot check (None if it never had one). Callers have checked the image is visible."""
    return BootCheck.objects.filter(image=image).order_by("-created_at").first()
