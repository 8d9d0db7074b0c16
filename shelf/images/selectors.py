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


def base_images_for(user: User) -> QuerySet[Image]:
    """Published base images (公共镜像) every provider may launch a build server from; operators see them too."""
    if user.is_authenticated and (user.is_provider or user.is_operator):
        return Image.objects.filter(is_base=True, status=Image.Status.AVAILABLE).select_related(
            "region", "organization"
        )
    return Image.objects.none()


def base_image_candidates(user: User) -> QuerySet[Image]:
    """For operators: the marketplace organisation's available images, published or not (docs/adr/0007)."""
    from django.conf import settings

    if not (user.is_authenticated and user.is_operator):
        return Image.objects.none()
    return Image.objects.filter(
        organization__slug=settings.SHELF_BASE_IMAGE_ORGANIZATION, status=Image.Status.AVAILABLE
    ).select_related("region", "organization")
