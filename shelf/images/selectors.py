"""Reads of images filtered by who may see them: a provider sees its organisations' images only."""

from django.db.models import QuerySet

from shelf.accounts.models import User
from shelf.accounts.selectors import organizations_for
from shelf.images.models import Image


def images_for(user: User) -> QuerySet[Image]:
    if user.is_authenticated and user.is_provider:
        return Image.objects.filter(organization__in=organizations_for(user)).select_related("region", "organization")
    if user.is_authenticated and user.is_operator:
        return Image.objects.select_related("region", "organization")
    return Image.objects.none()


def images_owned_by(user: User) -> QuerySet[Image]:
    """Images the user may change: only a member of the owning organisation, never an operator."""
    if user.is_authenticated and user.is_provider:
        return images_for(user)
    return Image.objects.none()


def images_for_delivery(*, organization) -> QuerySet[Image]:
    """The organisation's images a product of the same organisation may be delivered with: all but failed imports.

    For that organisation's own wizard; the service still accepts only an available image in the chosen region.
    """
    return Image.objects.filter(organization=organization).exclude(status=Image.Status.FAILED).select_related("region")
