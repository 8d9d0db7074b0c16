"""Reads of instances filtered by who may see them: a buyer his own, a provider his organisations' build servers,
operators all, anyone else none."""

from django.db.models import QuerySet

from shelf.accounts.models import User
from shelf.accounts.selectors import organizations_for
from shelf.compute.models import BootCheck, Instance


def instances_for(user: User) -> QuerySet[Instance]:
    if not user.is_authenticated:
        return Instance.objects.none()
    qs = Instance.objects.select_related("region", "image", "owner", "organization")
    if user.is_operator:
        return qs
    if user.is_provider:
        return qs.filter(organization__in=organizations_for(user))
    return qs.filter(owner=user, organization__isnull=True)


def instances_controlled_by(user: User) -> QuerySet[Instance]:
    """Instances the user may start, stop and terminate: the owner's own; operators may too (abuse, support)."""
    return instances_for(user)


def latest_boot_check(image) -> BootCheck | None:
    """The image's most recent boot check (None if it never had one). Callers have checked the image is visible."""
    return BootCheck.objects.filter(image=image).order_by("-created_at").first()


def build_servers_for(user: User) -> QuerySet[Instance]:
    """Build servers the user sees: his organisations' (a provider), every one (an operator)."""
    return instances_for(user).filter(organization__isnull=False).select_related("organization")


def build_servers_owned_by(user: User) -> QuerySet[Instance]:
    """Build servers the user may make images of: only a member of the owning organisation, never an operator
    (the image would be that organisation's)."""
    if user.is_authenticated and user.is_provider:
        return build_servers_for(user)
    return Instance.objects.none()
