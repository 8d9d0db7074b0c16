from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shelf.accounts.access import operator_required, provider_required
from shelf.forms import ServiceError, message_error
from shelf.images.selectors import base_image_candidates, images_for, images_owned_by
from shelf.images.services import base_image_publish, base_image_unpublish, image_copy_start, image_delete


@provider_required
@require_POST
def image_copy(request, image_id):
    image = get_object_or_404(images_owned_by(request.user), pk=image_id)
    try:
        copy = image_copy_start(actor=request.user, image=image, region_code=request.POST.get("region", ""))
    except ServiceError as exc:
        message_error(request, exc)
        return redirect("images:detail", image_id=image.pk)
    messages.success(request, _("Copying to %(region)s.") % {"region": copy.region.code})
    return redirect("images:detail", image_id=copy.pk)


@provider_required
@require_POST
def image_remove(request, image_id):
    image = get_object_or_404(images_owned_by(request.user), pk=image_id)
    try:
        image_delete(actor=request.user, image=image)
    except ServiceError as exc:
        message_error(request, exc)
        return redirect("images:detail", image_id=image.pk)
    messages.success(request, _("Image “%(name)s” deleted.") % {"name": image.name})
    return redirect("images:list")


@operator_required
def operator_base_images(request):
    """Operators: the marketplace organisation's images, to publish as base images or withdraw."""
    from django.conf import settings

    return render(
        request,
        "images/operator_base_images.html",
        {
            "images": base_image_candidates(request.user).order_by("region__code", "name"),
            "organization_slug": settings.SHELF_BASE_IMAGE_ORGANIZATION,
        },
    )


@operator_required
@require_POST
def operator_base_image_action(request, image_id, action):
    service = {"publish": base_image_publish, "unpublish": base_image_unpublish}.get(action)
    if service is None:
        raise Http404
    image = get_object_or_404(images_for(request.user), pk=image_id)
    try:
        service(actor=request.user, image=image)
    except ServiceError as exc:
        message_error(request, exc)
    else:
        done = _("“%(name)s” is published as a base image.") if action == "publish" else _("“%(name)s” is withdrawn.")
        messages.success(request, done % {"name": image.name})
    return redirect("base_images:operator")
